#include "orchestrator/util/utf8.h"

#include <gtest/gtest.h>

namespace orchard {
namespace {

TEST(SanitizeUtf8, KeepsValidText) {
  EXPECT_EQ(SanitizeUtf8("plain"), "plain");
  EXPECT_EQ(SanitizeUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8D\x8E"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8D\x8E");
}

TEST(SanitizeUtf8, ReplacesInvalidBytesAndNul) {
  EXPECT_EQ(SanitizeUtf8(std::string("a\0b", 3)), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(SanitizeUtf8("\xFF\xFE"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(SanitizeUtf8("x\xC3"), "x\xEF\xBF\xBD");           // truncated
  EXPECT_EQ(SanitizeUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

}  // namespace
}  // namespace orchard
