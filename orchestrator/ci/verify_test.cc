#include "orchestrator/ci/verify.h"

#include <cmath>

#include <gtest/gtest.h>

namespace orchard::ci {
namespace {

RunRecord Record(std::vector<double> acc) {
  RunRecord r;
  r.run.id = "aa";
  r.run.status = store::RunStatus::kCompleted;
  r.run.exit_code = 0;
  r.run.seed = 7;
  r.run.flags = {{"lr", 0.1}};
  r.run.command = {"python3", "train.py"};
  r.run.env = {{"host", "ci-1"}, {"gpus", nlohmann::json::array()}};
  for (size_t i = 0; i < acc.size(); ++i) {
    r.series.push_back({"val_acc", static_cast<int64_t>(i + 1), std::nullopt, acc[i], 100.0 + i});
  }
  return r;
}

bool Mentions(const std::vector<std::string>& lines, const std::string& what) {
  for (const auto& l : lines) {
    if (l.find(what) != std::string::npos) return true;
  }
  return false;
}

TEST(VerifyTest, IdenticalRunsVerifyEvenWhenTimesDiffer) {
  RunRecord a = Record({0.5, 0.75, 0.8125});
  RunRecord b = Record({0.5, 0.75, 0.8125});
  for (auto& p : b.series) p.time += 1000;  // wall-clock times are not part of a result
  b.run.id = "bb";
  Verification v = CompareRuns(a, b, {});
  EXPECT_TRUE(v.passed);
  EXPECT_TRUE(v.failures.empty());
  EXPECT_EQ(v.points_compared, 3);
  EXPECT_EQ(v.metrics_compared, 1);
}

TEST(VerifyTest, OneUlpIsADifferenceUnlessATolerancePermitsIt) {
  double x = 0.8125;
  double next = std::nextafter(x, 1.0);
  RunRecord a = Record({0.5, x});
  RunRecord b = Record({0.5, next});
  Verification exact = CompareRuns(a, b, {});
  EXPECT_FALSE(exact.passed);
  ASSERT_EQ(exact.failures.size(), 1u);
  EXPECT_NE(exact.failures[0].find("metric val_acc step 2: recorded 0.8125, rerun 0.81250000000000011"),
            std::string::npos) << exact.failures[0];
  VerifyOptions tol;
  tol.tolerance = 1e-12;
  EXPECT_TRUE(CompareRuns(a, b, tol).passed);
  tol.tolerance = 0;
  EXPECT_FALSE(CompareRuns(a, b, tol).passed);
}

TEST(VerifyTest, ReportsEveryKindOfDifference) {
  RunRecord a = Record({0.5, 0.75});
  RunRecord b = Record({0.5, 0.7, 0.9});
  b.run.flags["lr"] = 0.2;
  b.run.seed = 8;
  b.run.env["host"] = "laptop";
  b.run.command = {"python3", "/tmp/x/train.py"};
  a.series.push_back({"loss", 1, std::nullopt, 1.0, 0});
  b.series.push_back({"speed", 1, std::nullopt, 1.0, 0});
  Verification v = CompareRuns(a, b, {});
  EXPECT_FALSE(v.passed);
  EXPECT_TRUE(Mentions(v.failures, "metric val_acc step 2: recorded 0.75, rerun 0.69999999999999996"));
  EXPECT_TRUE(Mentions(v.failures, "metric val_acc: 2 point(s) recorded, 3 in the rerun"));
  EXPECT_TRUE(Mentions(v.failures, "metric loss: 1 point(s) recorded, none in the rerun"));
  EXPECT_TRUE(Mentions(v.failures, "metric speed: not in the record"));
  EXPECT_TRUE(Mentions(v.failures, "flag lr: 0.1 recorded, 0.2 in the rerun"));
  EXPECT_TRUE(Mentions(v.failures, "seed: 7 recorded, 8 in the rerun"));
  EXPECT_TRUE(Mentions(v.information, "environment host: ci-1 recorded, laptop in the rerun"));
  EXPECT_TRUE(Mentions(v.information, "command: python3 train.py recorded"));
}

TEST(VerifyTest, IgnoredMetricsAreNotComparedButSaidSo) {
  RunRecord a = Record({0.5});
  RunRecord b = Record({0.5});
  a.series.push_back({"images_per_s", 1, std::nullopt, 1000, 0});
  b.series.push_back({"images_per_s", 1, std::nullopt, 1234, 0});
  EXPECT_FALSE(CompareRuns(a, b, {}).passed);
  VerifyOptions o;
  o.ignore_metrics = {"images_*"};
  Verification v = CompareRuns(a, b, o);
  EXPECT_TRUE(v.passed);
  EXPECT_TRUE(Mentions(v.information, "images_per_s: not compared"));
}

TEST(VerifyTest, LongDivergenceIsCountedNotFlooded) {
  std::vector<double> x(100, 1.0), y(100, 2.0);
  VerifyOptions o;
  o.max_points_listed = 5;
  Verification v = CompareRuns(Record(x), Record(y), o);
  ASSERT_EQ(v.failures.size(), 6u);
  EXPECT_NE(v.failures.back().find("95 more differing point(s) not listed (100 of 100 differ"),
            std::string::npos) << v.failures.back();
}

TEST(VerifyTest, CodeDifferencesCarryLineCountsAndADiff) {
  RunRecord a = Record({0.5});
  RunRecord b = Record({0.5});
  a.snapshot = store::Snapshot{"s1", "/src", {{"train.py", "h1", 0644, "a\nb\nc\n"},
                                              {"old.py", "h2", 0644, "x\n"}}, {}};
  b.snapshot = store::Snapshot{"s2", "/src2", {{"train.py", "h3", 0644, "a\nB\nc\nd\n"},
                                               {"new.py", "h4", 0644, "y\n"}}, {}};
  Verification v = CompareRuns(a, b, {});
  EXPECT_TRUE(v.passed);  // code alone does not fail a verification: its metrics do
  EXPECT_TRUE(Mentions(v.information, "code: train.py changed (+2 -1)"));
  EXPECT_TRUE(Mentions(v.information, "code: old.py removed (+0 -1)"));
  EXPECT_TRUE(Mentions(v.information, "code: new.py added (+1 -0)"));
  EXPECT_NE(v.code_diff.find("diff --git a/train.py b/train.py"), std::string::npos);
  EXPECT_NE(v.code_diff.find("+B"), std::string::npos);
}

TEST(VerifyTest, ValuesAgree) {
  EXPECT_TRUE(ValuesAgree(NAN, NAN, std::nullopt));
  EXPECT_FALSE(ValuesAgree(NAN, 1, 0.5));
  EXPECT_TRUE(ValuesAgree(0.0, -0.0, std::nullopt));
  EXPECT_TRUE(ValuesAgree(100, 101, 0.01));
  EXPECT_FALSE(ValuesAgree(100, 102, 0.01));
  EXPECT_EQ(ToleranceText(std::nullopt), "exact");
  EXPECT_EQ(ToleranceText(1e-6), "relative 1e-06");
}

}  // namespace
}  // namespace orchard::ci
