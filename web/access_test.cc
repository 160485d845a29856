#include "web/access.h"

#include <gtest/gtest.h>

#include "web/json_text.h"

namespace orchard::web {
namespace {

TEST(AccessTest, LoopbackHosts) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.3.2.1"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.5"));
  EXPECT_FALSE(IsLoopbackHost("127.0.0.1.evil.com"));
  EXPECT_FALSE(IsLoopbackHost("localhost.evil.com"));
}

TEST(AccessTest, WithoutTokenOnlyLoopbackHostHeaders) {
  EXPECT_EQ(CheckAccess("", {.host_header = "127.0.0.1:8765"}), Access::kAllowed);
  EXPECT_EQ(CheckAccess("", {.host_header = "localhost:80"}), Access::kAllowed);
  EXPECT_EQ(CheckAccess("", {.host_header = "[::1]:80"}), Access::kAllowed);
  EXPECT_EQ(CheckAccess("", {.host_header = "attacker.example:8765"}), Access::kBadHost);
}

TEST(AccessTest, WithTokenEveryRequestNeedsIt) {
  const std::string t = "0123456789abcdef0123456789abcdef";
  EXPECT_EQ(CheckAccess(t, {.host_header = "127.0.0.1"}), Access::kNoToken);
  EXPECT_EQ(CheckAccess(t, {.authorization = "Bearer " + t}), Access::kAllowed);
  EXPECT_EQ(CheckAccess(t, {.authorization = "Bearer " + t + "x"}), Access::kNoToken);
  EXPECT_EQ(CheckAccess(t, {.authorization = "Basic " + t}), Access::kNoToken);
  EXPECT_EQ(CheckAccess(t, {.cookie = "a=b; orchard_token=" + t}), Access::kAllowed);
  EXPECT_EQ(CheckAccess(t, {.token_param = t}), Access::kAllowedSetCookie);
  EXPECT_EQ(CheckAccess(t, {.token_param = "wrong"}), Access::kNoToken);
}

TEST(AccessTest, GeneratedTokensAreLongAndDiffer) {
  auto a = GenerateToken(), b = GenerateToken();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
}

TEST(AccessTest, CookieValue) {
  EXPECT_EQ(CookieValue("x=1; orchard_token=abc; y=2", "orchard_token"), "abc");
  EXPECT_EQ(CookieValue("not_orchard_token=abc", "orchard_token"), "");
  EXPECT_EQ(CookieValue("", "orchard_token"), "");
}

TEST(JsonTextTest, NoMarkupSurvivesInJson) {
  nlohmann::json j = {{"name", "<script>alert(1)</script> & co"}};
  std::string text = DumpJson(j);
  EXPECT_EQ(text.find('<'), std::string::npos);
  EXPECT_EQ(text.find('>'), std::string::npos);
  EXPECT_EQ(text.find('&'), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(text), j);
}

TEST(JsonTextTest, InvalidUtf8IsReplacedNotThrown) {
  nlohmann::json j = {{"log", std::string("ok \xff\xfe end")}};
  std::string text;
  ASSERT_NO_THROW(text = DumpJson(j));
  EXPECT_NE(text.find("ok "), std::string::npos);
}

TEST(JsonTextTest, HtmlEscape) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

}  // namespace
}  // namespace orchard::web
