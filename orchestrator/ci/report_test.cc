#include "orchestrator/ci/report.h"

#include <gtest/gtest.h>

namespace orchard::ci {
namespace {

Report Sample() {
  Report r;
  r.suite = "orchard run";
  ReportRun a;
  a.run.id = "3fa9c2d1";
  a.run.name = "<script>alert('x')</script> & \"q\" | pipe\x01";
  a.run.status = store::RunStatus::kCompleted;
  a.run.flags = {{"lr", 0.1}};
  a.metrics = {{"val_acc", 0.812, 0.5, 0.812, 3, 3}};
  r.runs.push_back(a);
  ReportRun b = a;
  b.run.id = "77ab0000";
  b.run.name = "crashed";
  b.run.status = store::RunStatus::kFailed;
  b.run.exit_code = 3;
  b.run.error = "trainer failed: exit code 3 <oops>";
  r.runs.push_back(b);
  r.gates.push_back({"val_acc >= 0.8", "3fa9c2d1", true, "val_acc = 0.812", ""});
  r.gates.push_back({"val_acc >= 0.9 | x", "3fa9c2d1", false, "val_acc = 0.812",
                     "expectation failed: val_acc >= 0.9"});
  r.verifications.push_back({"3fa9c2d1", "77ab0000", false, "exact",
                             {"metric val_acc step 3: recorded 0.812, rerun 0.9"},
                             {"environment host: a recorded, b in the rerun"}});
  return r;
}

TEST(ReportTest, XmlEscapeHandlesMarkupQuotesAndControlCharacters) {
  EXPECT_EQ(XmlEscape("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
  EXPECT_EQ(XmlEscape(std::string("a\x01" "b\tc", 5)), "a\xEF\xBF\xBD" "b\tc");
  EXPECT_EQ(XmlEscape(std::string("x\0y", 3)), "x\xEF\xBF\xBDy");
  EXPECT_EQ(XmlEscape("\xff"), "\xEF\xBF\xBD");        // invalid UTF-8
  EXPECT_EQ(XmlEscape("\xEF\xBF\xBF"), "\xEF\xBF\xBD");  // U+FFFF is not an XML character
  EXPECT_EQ(XmlEscape("grüße"), "grüße");
}

TEST(ReportTest, JUnitCountsRunsGatesAndVerifications) {
  std::string xml = JUnitXml(Sample());
  EXPECT_NE(xml.find("<testsuite name=\"orchard run\" tests=\"5\" failures=\"3\""),
            std::string::npos) << xml;
  EXPECT_EQ(xml.find("<script>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;q&quot;"),
            std::string::npos) << xml;
  EXPECT_EQ(xml.find('\x01'), std::string::npos);
  EXPECT_NE(xml.find("type=\"run-failed\""), std::string::npos);
  EXPECT_NE(xml.find("type=\"gate\""), std::string::npos);
  EXPECT_NE(xml.find("type=\"verification\""), std::string::npos);
  EXPECT_NE(xml.find("recorded 0.812, rerun 0.9"), std::string::npos);
}

TEST(ReportTest, MarkdownEscapesPipesAndMarkup) {
  std::string md = MarkdownSummary(Sample());
  EXPECT_EQ(md.find("<script>"), std::string::npos) << md;
  EXPECT_NE(md.find("val\\_acc &gt;= 0.9 \\| x"), std::string::npos) << md;
  EXPECT_NE(md.find("❌"), std::string::npos);
  // Every table row has the same number of unescaped pipes as its header.
  size_t pos = md.find("| Run |");
  ASSERT_NE(pos, std::string::npos);
  auto pipes = [](const std::string& line) {
    int n = 0;
    for (size_t i = 0; i < line.size(); ++i) n += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    return n;
  };
  std::string header = md.substr(pos, md.find('\n', pos) - pos);
  size_t row = md.find("| `3fa9c2d1`");
  ASSERT_NE(row, std::string::npos);
  EXPECT_EQ(pipes(md.substr(row, md.find('\n', row) - row)), pipes(header));
}

TEST(ReportTest, PassingReportSaysSo) {
  Report r;
  r.suite = "orchard run";
  ReportRun a;
  a.run.id = "aa";
  a.run.status = store::RunStatus::kCompleted;
  r.runs.push_back(a);
  r.gates.push_back({"x > 1", "aa", true, "x = 2", ""});
  EXPECT_FALSE(ReportFailed(r));
  EXPECT_NE(MarkdownSummary(r).find("✅ orchard run: passed"), std::string::npos);
  EXPECT_NE(JUnitXml(r).find("failures=\"0\""), std::string::npos);
  r.gates[0].passed = false;
  EXPECT_TRUE(ReportFailed(r));
}

}  // namespace
}  // namespace orchard::ci
