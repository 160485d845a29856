#include "flags/flag.h"

#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace orchard::flags {
namespace {

using ::testing::HasSubstr;

Flag FloatFlag(double def = 0.01) { return Flag("lr", FlagType::kFloat, FlagValue::Float(def), "lr"); }

TEST(FlagNameTest, AcceptsAndRejects) {
  for (const char* name : {"lr", "_x", "batch_size", "model.depth", "resume-from", "A1"}) {
    EXPECT_TRUE(IsValidFlagName(name)) << name;
  }
  for (const char* name : {"", "1lr", "-x", ".x", "a b", "a=b", "a/b", "é"}) {
    EXPECT_FALSE(IsValidFlagName(name)) << name;
  }
}

TEST(FlagTypeTest, NamesRoundTrip) {
  for (FlagType t : {FlagType::kInt, FlagType::kFloat, FlagType::kBool, FlagType::kString,
                     FlagType::kChoice}) {
    Result<FlagType> back = FlagTypeFromName(FlagTypeName(t));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, t);
  }
  EXPECT_EQ(FlagTypeName(FlagType::kChoice), "choice");
  EXPECT_FALSE(FlagTypeFromName("double").ok());
  EXPECT_EQ(ValueTypeOf(FlagType::kChoice), ValueType::kString);
  EXPECT_EQ(ValueTypeOf(FlagType::kFloat), ValueType::kFloat);
}

TEST(FlagTest, ParseValueChecksType) {
  Flag f = FloatFlag();
  EXPECT_EQ(f.ParseValue("0.5")->AsFloat(), 0.5);
  Result<FlagValue> bad = f.ParseValue("abc");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "--lr=abc: expected a number (float), got \"abc\"");

  Flag epochs("epochs", FlagType::kInt, FlagValue::Int(5), "");
  Result<FlagValue> half = epochs.ParseValue("0.5");
  ASSERT_FALSE(half.ok());
  EXPECT_THAT(half.status().message(), HasSubstr("--epochs=0.5: expected an integer"));
}

TEST(FlagTest, RangeIsInclusive) {
  Flag f = FloatFlag();
  f.Range(1e-6, 10);
  EXPECT_TRUE(f.ParseValue("10").ok());
  EXPECT_TRUE(f.ParseValue("1e-6").ok());
  Result<FlagValue> high = f.ParseValue("20");
  ASSERT_FALSE(high.ok());
  EXPECT_EQ(high.status().message(), "--lr=20: out of range [1e-06, 10]");
  EXPECT_FALSE(f.ParseValue("9e-7").ok());
  EXPECT_FALSE(f.ParseValue("10.000000000000002").ok());
}

TEST(FlagTest, IntRange) {
  Flag f("batch", FlagType::kInt, FlagValue::Int(32), "");
  f.Range(1, 512);
  EXPECT_TRUE(f.Validate().ok());
  EXPECT_TRUE(f.ParseValue("1").ok());
  EXPECT_TRUE(f.ParseValue("512").ok());
  Result<FlagValue> zero = f.ParseValue("0");
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().message(), "--batch=0: out of range [1, 512]");
  EXPECT_FALSE(f.ParseValue("513").ok());
  EXPECT_EQ(f.Describe()["min"], nlohmann::json(1));
  EXPECT_TRUE(f.Describe()["max"].is_number_integer());
}

TEST(FlagTest, Choices) {
  Flag f("optimizer", FlagType::kChoice, FlagValue::String("sgd"), "", {"sgd", "adam", "adamw"});
  EXPECT_TRUE(f.Validate().ok());
  EXPECT_EQ(f.ParseValue("adamw")->AsString(), "adamw");
  Result<FlagValue> bad = f.ParseValue("rmsprop");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "--optimizer=rmsprop: expected one of sgd, adam, adamw");
  EXPECT_FALSE(f.ParseValue("SGD").ok());  // choices are case-sensitive
  EXPECT_EQ(f.ConstraintText(), "{sgd, adam, adamw}");
}

TEST(FlagTest, ValidateCatchesDeclarationMistakes) {
  EXPECT_TRUE(FloatFlag().Validate().ok());
  EXPECT_FALSE(Flag("9lives", FlagType::kInt, FlagValue::Int(1), "").Validate().ok());

  Status outside = FloatFlag(50).Range(0, 10).Validate();
  ASSERT_FALSE(outside.ok());
  EXPECT_THAT(outside.message(), HasSubstr("--lr"));
  EXPECT_THAT(outside.message(), HasSubstr("out of range [0, 10]"));

  EXPECT_FALSE(FloatFlag().Range(10, 1).Validate().ok());
  EXPECT_FALSE(FloatFlag().Range(0, std::numeric_limits<double>::infinity()).Validate().ok());
  EXPECT_FALSE(Flag("n", FlagType::kInt, FlagValue::Int(1), "").Range(0.5, 2).Validate().ok());

  Status range_on_string =
      Flag("s", FlagType::kString, FlagValue::String(""), "").Range(0, 1).Validate();
  ASSERT_FALSE(range_on_string.ok());
  EXPECT_THAT(range_on_string.message(), HasSubstr("Range() needs an int or float flag"));

  // Default of the wrong type, choice problems.
  EXPECT_FALSE(Flag("n", FlagType::kInt, FlagValue::Float(1), "").Validate().ok());
  EXPECT_FALSE(Flag("o", FlagType::kChoice, FlagValue::String("x"), "", {}).Validate().ok());
  EXPECT_FALSE(
      Flag("o", FlagType::kChoice, FlagValue::String("x"), "", {"a", "b"}).Validate().ok());
  EXPECT_FALSE(
      Flag("o", FlagType::kChoice, FlagValue::String("a"), "", {"a", "a"}).Validate().ok());
  EXPECT_FALSE(Flag("s", FlagType::kString, FlagValue::String("a"), "", {"a"}).Validate().ok());
}

TEST(FlagTest, Describe) {
  Flag f = FloatFlag();
  f.Range(1e-6, 10);
  nlohmann::json d = f.Describe();
  EXPECT_EQ(d["name"], "lr");
  EXPECT_EQ(d["type"], "float");
  EXPECT_EQ(d["default"], 0.01);
  EXPECT_EQ(d["help"], "lr");
  EXPECT_EQ(d["min"], 1e-6);
  EXPECT_EQ(d["max"], 10.0);
  EXPECT_FALSE(d.contains("choices"));

  Flag c("opt", FlagType::kChoice, FlagValue::String("a"), "h", {"a", "b"});
  nlohmann::json dc = c.Describe();
  EXPECT_EQ(dc["choices"], nlohmann::json::array({"a", "b"}));
  EXPECT_FALSE(dc.contains("min"));
}

}  // namespace
}  // namespace orchard::flags
