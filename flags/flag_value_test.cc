#include "flags/flag_value.h"

#include <cmath>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace orchard::flags {
namespace {

using ::testing::HasSubstr;

TEST(FlagValueTest, ParsesIntegers) {
  EXPECT_EQ(FlagValue::Parse(ValueType::kInt, "5")->AsInt(), 5);
  EXPECT_EQ(FlagValue::Parse(ValueType::kInt, "-12")->AsInt(), -12);
  EXPECT_EQ(FlagValue::Parse(ValueType::kInt, "+7")->AsInt(), 7);
  EXPECT_EQ(FlagValue::Parse(ValueType::kInt, "9223372036854775807")->AsInt(),
            std::numeric_limits<int64_t>::max());
}

TEST(FlagValueTest, RejectsNonIntegers) {
  for (const char* text : {"0.5", "5.0", "1e3", "abc", "", "5 ", " 5", "0x10", "+-5", "--5"}) {
    Result<FlagValue> v = FlagValue::Parse(ValueType::kInt, text);
    ASSERT_FALSE(v.ok()) << text;
    EXPECT_THAT(v.status().message(), HasSubstr("expected an integer")) << text;
    EXPECT_EQ(v.status().code(), Status::Code::kInvalidArgument);
  }
  Result<FlagValue> big = FlagValue::Parse(ValueType::kInt, "9223372036854775808");
  ASSERT_FALSE(big.ok());
  EXPECT_THAT(big.status().message(), HasSubstr("out of range"));
}

TEST(FlagValueTest, ParsesFloats) {
  EXPECT_EQ(FlagValue::Parse(ValueType::kFloat, "0.1")->AsFloat(), 0.1);
  EXPECT_EQ(FlagValue::Parse(ValueType::kFloat, "1e-3")->AsFloat(), 1e-3);
  EXPECT_EQ(FlagValue::Parse(ValueType::kFloat, "-2")->AsFloat(), -2.0);
  EXPECT_EQ(FlagValue::Parse(ValueType::kFloat, "+4E2")->AsFloat(), 400.0);
  EXPECT_EQ(FlagValue::Parse(ValueType::kFloat, ".5")->AsFloat(), 0.5);
  EXPECT_EQ(FlagValue::Parse(ValueType::kFloat, "1e-300")->AsFloat(), 1e-300);
}

TEST(FlagValueTest, RejectsBadFloats) {
  for (const char* text : {"abc", "", "1e", "1.5x", "0x1p3", " 1", "1,5"}) {
    Result<FlagValue> v = FlagValue::Parse(ValueType::kFloat, text);
    ASSERT_FALSE(v.ok()) << text;
    EXPECT_THAT(v.status().message(), HasSubstr("expected a number (float)")) << text;
  }
  Result<FlagValue> abc = FlagValue::Parse(ValueType::kFloat, "abc");
  EXPECT_EQ(abc.status().message(), "expected a number (float), got \"abc\"");
}

TEST(FlagValueTest, RejectsNonFiniteFloats) {
  for (const char* text : {"inf", "-inf", "nan", "Infinity"}) {
    EXPECT_FALSE(FlagValue::Parse(ValueType::kFloat, text).ok()) << text;
  }
  Result<FlagValue> huge = FlagValue::Parse(ValueType::kFloat, "1e400");
  ASSERT_FALSE(huge.ok());
  EXPECT_THAT(huge.status().message(), HasSubstr("out of range"));
}

TEST(FlagValueTest, ParsesBools) {
  for (const char* text : {"true", "TRUE", "1", "yes", "On"}) {
    EXPECT_TRUE(FlagValue::Parse(ValueType::kBool, text)->AsBool()) << text;
  }
  for (const char* text : {"false", "False", "0", "no", "off"}) {
    EXPECT_FALSE(FlagValue::Parse(ValueType::kBool, text)->AsBool()) << text;
  }
  Result<FlagValue> bad = FlagValue::Parse(ValueType::kBool, "maybe");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("expected a boolean"));
}

TEST(FlagValueTest, StringsAreTakenVerbatim) {
  EXPECT_EQ(FlagValue::Parse(ValueType::kString, " a=b ")->AsString(), " a=b ");
  EXPECT_EQ(FlagValue::Parse(ValueType::kString, "")->AsString(), "");
}

TEST(FlagValueTest, ToTextRoundTripsEachType) {
  for (const FlagValue& v : {FlagValue::Int(-42), FlagValue::Float(0.25), FlagValue::Bool(true),
                             FlagValue::Bool(false), FlagValue::String("x y")}) {
    Result<FlagValue> back = FlagValue::Parse(v.type(), v.ToText());
    ASSERT_TRUE(back.ok()) << v.ToText();
    EXPECT_EQ(*back, v);
  }
}

TEST(FlagValueTest, EqualityComparesTypeAndValue) {
  EXPECT_EQ(FlagValue::Int(1), FlagValue::Int(1));
  EXPECT_NE(FlagValue::Int(1), FlagValue::Float(1.0));
  EXPECT_NE(FlagValue::String("1"), FlagValue::Int(1));
}

TEST(FlagValueTest, JsonConversions) {
  EXPECT_EQ(FlagValue::Int(3).ToJson(), nlohmann::json(3));
  EXPECT_TRUE(FlagValue::Int(3).ToJson().is_number_integer());
  EXPECT_TRUE(FlagValue::Float(3).ToJson().is_number_float());
  EXPECT_EQ(FlagValue::Bool(true).ToJson(), nlohmann::json(true));
  EXPECT_EQ(FlagValue::String("a").ToJson(), nlohmann::json("a"));

  EXPECT_EQ(*FlagValue::FromJson(ValueType::kInt, 7), FlagValue::Int(7));
  EXPECT_EQ(*FlagValue::FromJson(ValueType::kFloat, 7), FlagValue::Float(7.0));
  EXPECT_EQ(*FlagValue::FromJson(ValueType::kFloat, 0.5), FlagValue::Float(0.5));
  EXPECT_EQ(*FlagValue::FromJson(ValueType::kBool, false), FlagValue::Bool(false));
  EXPECT_EQ(*FlagValue::FromJson(ValueType::kString, "s"), FlagValue::String("s"));

  EXPECT_FALSE(FlagValue::FromJson(ValueType::kInt, 0.5).ok());
  EXPECT_FALSE(FlagValue::FromJson(ValueType::kInt, "5").ok());
  EXPECT_FALSE(FlagValue::FromJson(ValueType::kInt, nlohmann::json(18446744073709551615ULL)).ok());
  EXPECT_FALSE(FlagValue::FromJson(ValueType::kBool, 1).ok());
  EXPECT_FALSE(FlagValue::FromJson(ValueType::kString, 1).ok());
  EXPECT_FALSE(FlagValue::FromJson(ValueType::kFloat, nullptr).ok());
  Result<FlagValue> bad = FlagValue::FromJson(ValueType::kInt, "5");
  EXPECT_EQ(bad.status().message(), "expected a JSON int, got \"5\"");
}

TEST(FlagValueDeathTest, WrongAccessorAborts) {
  EXPECT_DEATH(FlagValue::Int(1).AsFloat(), "asked for float, holds int");
  EXPECT_DEATH(FlagValue::Bool(true).AsString(), "asked for string, holds bool");
}

TEST(FormatDoubleTest, ShortestForms) {
  EXPECT_EQ(FormatDouble(0.1), "0.1");
  EXPECT_EQ(FormatDouble(1e-05), "1e-05");
  EXPECT_EQ(FormatDouble(0.0001), "0.0001");
  EXPECT_EQ(FormatDouble(0.01), "0.01");
  EXPECT_EQ(FormatDouble(10.0), "10.0");
  EXPECT_EQ(FormatDouble(0.0), "0.0");
  EXPECT_EQ(FormatDouble(-0.0), "-0.0");
  EXPECT_EQ(FormatDouble(-2.5), "-2.5");
  EXPECT_EQ(FormatDouble(1234.5), "1234.5");
  EXPECT_EQ(FormatDouble(1e15), "1000000000000000.0");
  EXPECT_EQ(FormatDouble(1e16), "1e+16");
  EXPECT_EQ(FormatDouble(1.5e300), "1.5e+300");
  EXPECT_EQ(FormatDouble(1e-300), "1e-300");
  EXPECT_EQ(FormatDouble(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatDouble(-3e-7), "-3e-07");
  EXPECT_EQ(FormatDouble(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(FormatDouble(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(FormatDouble(std::nan("")), "nan");
}

TEST(FormatDoubleTest, RoundTripsExactly) {
  const double values[] = {0.1,     0.1 + 0.2, 1e-300,  -1e-300, 1.0 / 3.0, 2.0 / 3.0 * 1e20,
                           -123.456, 5e-324,   1.7976931348623157e308, 6.02214076e23,
                           0.000123, 1e-4,     99999999999999.99};
  for (double v : values) {
    std::string text = FormatDouble(v);
    Result<FlagValue> back = FlagValue::Parse(ValueType::kFloat, text);
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(back->AsFloat(), v) << text;
    EXPECT_EQ(ParseScalar(text), nlohmann::json(v)) << text;
  }
}

TEST(ParseScalarTest, Integers) {
  EXPECT_EQ(ParseScalar("3"), nlohmann::json(3));
  EXPECT_TRUE(ParseScalar("3").is_number_integer());
  EXPECT_EQ(ParseScalar("-12"), nlohmann::json(-12));
  EXPECT_EQ(ParseScalar("0"), nlohmann::json(0));
  EXPECT_EQ(ParseScalar("+4"), nlohmann::json(4));
}

TEST(ParseScalarTest, Floats) {
  EXPECT_TRUE(ParseScalar("0.5").is_number_float());
  EXPECT_EQ(ParseScalar("0.5").get<double>(), 0.5);
  EXPECT_EQ(ParseScalar("1e-3").get<double>(), 1e-3);
  EXPECT_TRUE(ParseScalar("1e-3").is_number_float());
  EXPECT_EQ(ParseScalar("-.5").get<double>(), -0.5);
  EXPECT_EQ(ParseScalar("2.").get<double>(), 2.0);
  EXPECT_TRUE(ParseScalar("10.0").is_number_float());
  EXPECT_EQ(ParseScalar("1E5").get<double>(), 1e5);
}

TEST(ParseScalarTest, Booleans) {
  EXPECT_EQ(ParseScalar("true"), nlohmann::json(true));
  EXPECT_EQ(ParseScalar("True"), nlohmann::json(true));
  EXPECT_EQ(ParseScalar("false"), nlohmann::json(false));
  EXPECT_EQ(ParseScalar("FALSE"), nlohmann::json(false));
  // Only true/false words: "yes" and "1" are not booleans here.
  EXPECT_EQ(ParseScalar("yes"), nlohmann::json("yes"));
  EXPECT_EQ(ParseScalar("1"), nlohmann::json(1));
  EXPECT_EQ(ParseScalar("tRue"), nlohmann::json("tRue"));
}

TEST(ParseScalarTest, EverythingElseStaysAString) {
  for (const char* text : {"007", "00.5", "01e3", "-007", "abc", "", "inf", "nan", "-inf", "0x1F",
                           "1.2.3", "1e", "e5", ".", "-", "+", "1 ", " 1", "1_000", "3px",
                           "99999999999999999999", "1e400", "mobilenet_v2", "/data/x"}) {
    nlohmann::json v = ParseScalar(text);
    ASSERT_TRUE(v.is_string()) << text << " -> " << v.dump();
    EXPECT_EQ(v.get<std::string>(), text);
  }
}

TEST(FormatScalarTest, InvertsParseScalar) {
  const nlohmann::json values[] = {3,    -12,   0,     0.5,  1e-05, 10.0, 1e300,
                                   true, false, "abc", "x y", 0.1 + 0.2};
  for (const nlohmann::json& v : values) {
    std::string text = FormatScalar(v);
    nlohmann::json back = ParseScalar(text);
    EXPECT_EQ(back, v) << text;
    EXPECT_EQ(back.type(), v.type()) << text;
  }
  EXPECT_EQ(FormatScalar(10.0), "10.0");
  EXPECT_EQ(FormatScalar(1e-05), "1e-05");
  EXPECT_EQ(FormatScalar(nlohmann::json(18446744073709551615ULL)), "18446744073709551615");
  EXPECT_EQ(FormatScalar(nullptr), "null");
  EXPECT_EQ(FormatScalar(nlohmann::json::array({1, 2})), "[1,2]");
}

}  // namespace
}  // namespace orchard::flags

namespace orchard::flags {
namespace {

TEST(FormatFlagsCompactTest, OneLineSortedExactOrShortened) {
  nlohmann::json flags = {{"optimizer", "adam"}, {"lr", 0.0010921227094041505}, {"batch", 64},
                          {"augment", true}};
  EXPECT_EQ(FormatFlagsCompact(flags), "augment=true batch=64 lr=0.0010921227094041505 optimizer=adam");
  EXPECT_EQ(FormatFlagsCompact(flags, 6), "augment=true batch=64 lr=0.00109212 optimizer=adam");
  EXPECT_EQ(FormatFlagsCompact(nlohmann::json::object()), "");
  EXPECT_EQ(FormatFlagsCompact(nlohmann::json::array()), "");
}

}  // namespace
}  // namespace orchard::flags
