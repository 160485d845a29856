// Command-line parsing by FlagSet. Help, JSON and getters are in
// flag_set_output_test.cc.
#include "flags/flag_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace orchard::flags {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The trainer from the FlagSet contract comment.
class FlagSetTest : public ::testing::Test {
 protected:
  FlagSetTest() : fs_("orchard-train", "Fine-tunes a network.") {
    fs_.Float("lr", 0.01, "learning rate").Range(1e-6, 10);
    fs_.Int("epochs", 5, "epochs");
    fs_.Choice("optimizer", "sgd", {"sgd", "adam", "adamw"}, "optimizer");
    fs_.Bool("augment", false, "random crop and flip");
    fs_.String("data", "/usr/share/datasets/fashion-mnist", "dataset folder");
  }

  // The error message of parsing `args`, which must fail.
  std::string Error(const std::vector<std::string>& args) {
    Status s = fs_.Parse(args);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
    return s.message();
  }

  FlagSet fs_;
};

TEST_F(FlagSetTest, DefaultsWithoutArguments) {
  ASSERT_TRUE(fs_.Parse({}).ok());
  EXPECT_EQ(fs_.GetFloat("lr"), 0.01);
  EXPECT_EQ(fs_.GetInt("epochs"), 5);
  EXPECT_EQ(fs_.GetString("optimizer"), "sgd");
  EXPECT_FALSE(fs_.GetBool("augment"));
  EXPECT_EQ(fs_.GetString("data"), "/usr/share/datasets/fashion-mnist");
  EXPECT_FALSE(fs_.IsSet("lr"));
  EXPECT_TRUE(fs_.positional().empty());
  EXPECT_FALSE(fs_.help_requested());
}

TEST_F(FlagSetTest, EqualsForm) {
  ASSERT_TRUE(fs_.Parse({"--lr=0.5", "--epochs=12", "--optimizer=adamw", "--augment=true",
                         "--data=/tmp/d=x"})
                  .ok());
  EXPECT_EQ(fs_.GetFloat("lr"), 0.5);
  EXPECT_EQ(fs_.GetInt("epochs"), 12);
  EXPECT_EQ(fs_.GetString("optimizer"), "adamw");
  EXPECT_TRUE(fs_.GetBool("augment"));
  EXPECT_EQ(fs_.GetString("data"), "/tmp/d=x");  // split at the first '='
  EXPECT_TRUE(fs_.IsSet("lr"));
  EXPECT_TRUE(fs_.IsSet("data"));
}

TEST_F(FlagSetTest, SeparateValueForm) {
  ASSERT_TRUE(fs_.Parse({"--lr", "1e-3", "--epochs", "-0", "--data", "-"}).ok());
  EXPECT_EQ(fs_.GetFloat("lr"), 1e-3);
  EXPECT_EQ(fs_.GetInt("epochs"), 0);
  EXPECT_EQ(fs_.GetString("data"), "-");
}

TEST_F(FlagSetTest, ArgcArgvForm) {
  const char* argv[] = {"orchard-train", "--epochs=3", "input.txt"};
  ASSERT_TRUE(fs_.Parse(3, argv).ok());
  EXPECT_EQ(fs_.GetInt("epochs"), 3);
  EXPECT_THAT(fs_.positional(), ElementsAre("input.txt"));
}

TEST_F(FlagSetTest, BoolForms) {
  ASSERT_TRUE(fs_.Parse({"--augment"}).ok());
  EXPECT_TRUE(fs_.GetBool("augment"));
  EXPECT_TRUE(fs_.IsSet("augment"));

  ASSERT_TRUE(fs_.Parse({"--no-augment"}).ok());
  EXPECT_FALSE(fs_.GetBool("augment"));
  EXPECT_TRUE(fs_.IsSet("augment"));

  ASSERT_TRUE(fs_.Parse({"--augment=false"}).ok());
  EXPECT_FALSE(fs_.GetBool("augment"));
  ASSERT_TRUE(fs_.Parse({"--augment=1"}).ok());
  EXPECT_TRUE(fs_.GetBool("augment"));

  // A bare bool never takes the next argument: "false" is positional.
  ASSERT_TRUE(fs_.Parse({"--augment", "false"}).ok());
  EXPECT_TRUE(fs_.GetBool("augment"));
  EXPECT_THAT(fs_.positional(), ElementsAre("false"));
}

TEST_F(FlagSetTest, BoolErrors) {
  EXPECT_THAT(Error({"--augment=maybe"}), HasSubstr("--augment=maybe: expected a boolean"));
  EXPECT_THAT(Error({"--no-augment=true"}), HasSubstr("--no-augment takes no value"));
  EXPECT_THAT(Error({"--no-lr"}), HasSubstr("--lr is not a bool flag"));
  EXPECT_THAT(Error({"--augment", "--no-augment"}), HasSubstr("--augment given more than once"));
}

TEST_F(FlagSetTest, FlagNamedWithNoPrefixWinsOverNegation) {
  FlagSet fs("p", "");
  fs.Bool("cache", true, "");
  fs.Int("no-cache", 0, "");
  ASSERT_TRUE(fs.Parse({"--no-cache=3"}).ok());
  EXPECT_EQ(fs.GetInt("no-cache"), 3);
  EXPECT_TRUE(fs.GetBool("cache"));
}

TEST_F(FlagSetTest, TypeErrorsNameFlagValueAndExpectation) {
  EXPECT_EQ(Error({"--lr=abc"}), "--lr=abc: expected a number (float), got \"abc\"");
  EXPECT_THAT(Error({"--epochs=0.5"}), HasSubstr("--epochs=0.5: expected an integer"));
  EXPECT_THAT(Error({"--epochs", "ten"}), HasSubstr("--epochs=ten: expected an integer"));
  EXPECT_THAT(Error({"--lr=inf"}), HasSubstr("--lr=inf: expected a finite number"));
}

TEST_F(FlagSetTest, RangeAndChoiceErrors) {
  EXPECT_EQ(Error({"--lr=20"}), "--lr=20: out of range [1e-06, 10]");
  EXPECT_EQ(Error({"--lr=0"}), "--lr=0: out of range [1e-06, 10]");
  EXPECT_EQ(Error({"--optimizer=rmsprop"}), "--optimizer=rmsprop: expected one of sgd, adam, adamw");
  EXPECT_TRUE(fs_.Parse({"--lr=10"}).ok());
}

TEST_F(FlagSetTest, UnknownFlagSuggests) {
  EXPECT_EQ(Error({"--learning_rate=0.1"}), "unknown flag --learning_rate (did you mean --lr?)");
  EXPECT_EQ(Error({"--epoch=3"}), "unknown flag --epoch (did you mean --epochs?)");
  EXPECT_EQ(Error({"--no-augmnet"}), "unknown flag --no-augmnet (did you mean --no-augment?)");
  EXPECT_EQ(Error({"--colour=red"}), "unknown flag --colour");
  EXPECT_THAT(Error({"positional", "--zzz"}), HasSubstr("unknown flag --zzz"));
}

TEST_F(FlagSetTest, SingleDashFlagsAreErrors) {
  EXPECT_EQ(Error({"-lr=0.1"}), "unknown flag -lr=0.1 (flags take two dashes: did you mean --lr?)");
  EXPECT_EQ(Error({"-x"}), "unknown flag -x (flags take two dashes)");
}

TEST_F(FlagSetTest, DuplicatesAreErrors) {
  EXPECT_EQ(Error({"--lr=0.1", "--lr=0.2"}), "--lr given more than once");
  EXPECT_THAT(Error({"--epochs", "3", "--epochs=4"}), HasSubstr("--epochs given more than once"));
}

TEST_F(FlagSetTest, MissingValues) {
  EXPECT_EQ(Error({"--lr="}), "missing value for --lr (expected a number (float))");
  EXPECT_EQ(Error({"--lr"}), "missing value for --lr (expected a number (float))");
  EXPECT_THAT(Error({"--epochs", "--lr=0.1"}), HasSubstr("missing value for --epochs"));
  EXPECT_THAT(Error({"--optimizer="}), HasSubstr("expected one of {sgd, adam, adamw}"));
  EXPECT_THAT(Error({"--augment="}), HasSubstr("missing value for --augment"));
  // An explicitly empty string is a value.
  ASSERT_TRUE(fs_.Parse({"--data="}).ok());
  EXPECT_EQ(fs_.GetString("data"), "");
  EXPECT_TRUE(fs_.IsSet("data"));
}

TEST_F(FlagSetTest, PositionalArguments) {
  ASSERT_TRUE(fs_.Parse({"a.txt", "--epochs=2", "-", "-5", "-.5", "b"}).ok());
  EXPECT_THAT(fs_.positional(), ElementsAre("a.txt", "-", "-5", "-.5", "b"));
  EXPECT_EQ(fs_.GetInt("epochs"), 2);
}

TEST_F(FlagSetTest, DoubleDashEndsFlags) {
  ASSERT_TRUE(fs_.Parse({"--epochs=2", "--", "--lr=5", "--help", "--", "x"}).ok());
  EXPECT_THAT(fs_.positional(), ElementsAre("--lr=5", "--help", "--", "x"));
  EXPECT_EQ(fs_.GetFloat("lr"), 0.01);
  EXPECT_FALSE(fs_.IsSet("lr"));
  EXPECT_FALSE(fs_.help_requested());
}

TEST_F(FlagSetTest, MalformedFlag) { EXPECT_EQ(Error({"--=3"}), "malformed flag --=3"); }

TEST_F(FlagSetTest, HelpWinsOverErrors) {
  ASSERT_TRUE(fs_.Parse({"--lr=abc", "--help", "--bogus"}).ok());
  EXPECT_TRUE(fs_.help_requested());
  ASSERT_TRUE(fs_.Parse({"-h"}).ok());
  EXPECT_TRUE(fs_.help_requested());
  ASSERT_TRUE(fs_.Parse({"--epochs=1"}).ok());
  EXPECT_FALSE(fs_.help_requested());
}

TEST_F(FlagSetTest, FailedParseLeavesPreviousValues) {
  ASSERT_TRUE(fs_.Parse({"--epochs=9", "keep"}).ok());
  EXPECT_FALSE(fs_.Parse({"--epochs=1", "--lr=abc", "other"}).ok());
  EXPECT_EQ(fs_.GetInt("epochs"), 9);
  EXPECT_THAT(fs_.positional(), ElementsAre("keep"));
}

TEST_F(FlagSetTest, EachParseStartsFromDefaults) {
  ASSERT_TRUE(fs_.Parse({"--epochs=9"}).ok());
  ASSERT_TRUE(fs_.Parse({"--lr=0.2"}).ok());
  EXPECT_EQ(fs_.GetInt("epochs"), 5);
  EXPECT_FALSE(fs_.IsSet("epochs"));
}

TEST_F(FlagSetTest, SetChecksAndMarksExplicit) {
  ASSERT_TRUE(fs_.Set("epochs", "7").ok());
  EXPECT_EQ(fs_.GetInt("epochs"), 7);
  EXPECT_TRUE(fs_.IsSet("epochs"));
  EXPECT_EQ(fs_.Set("lr", "20").message(), "--lr=20: out of range [1e-06, 10]");
  EXPECT_EQ(fs_.Set("epoch", "1").message(), "unknown flag --epoch (did you mean --epochs?)");
  EXPECT_EQ(fs_.GetFloat("lr"), 0.01);
}

TEST(FlagSetDeclarationTest, BadDeclarationsFailParse) {
  FlagSet dup("p", "");
  dup.Int("n", 1, "");
  dup.Float("n", 1, "");
  EXPECT_EQ(dup.Parse({}).message(), "flag declaration --n: declared twice");
  EXPECT_EQ(dup.Validate().message(), "flag declaration --n: declared twice");

  FlagSet help("p", "");
  help.Bool("help", false, "");
  EXPECT_THAT(help.Parse({}).message(), HasSubstr("reserved"));

  FlagSet range("p", "");
  range.Float("lr", 50, "").Range(0, 10);
  Status s = range.Parse({"--lr=1"});
  EXPECT_THAT(s.message(), HasSubstr("flag declaration --lr: default 50.0: out of range [0, 10]"));

  FlagSet choice("p", "");
  choice.Choice("opt", "rmsprop", {"sgd"}, "");
  EXPECT_FALSE(choice.Validate().ok());

  FlagSet bad_name("p", "");
  bad_name.Int("2x", 1, "");
  EXPECT_THAT(bad_name.Parse({}).message(), HasSubstr("invalid name \"2x\""));

  FlagSet good("p", "");
  good.Int("n", 1, "").Range(0, 3);
  EXPECT_TRUE(good.Validate().ok());
}

}  // namespace
}  // namespace orchard::flags
