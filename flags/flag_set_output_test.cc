// FlagSet's outputs: Help(), ToJson(), Describe(), Get() and the typed getters.
#include <cstdint>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flags/flags.h"

namespace orchard::flags {
namespace {

using ::testing::HasSubstr;

FlagSet MakeTrainerFlags() {
  FlagSet fs("orchard-train", "Fine-tunes a network.");
  fs.Float("lr", 0.01, "learning rate").Range(1e-6, 10);
  fs.Int("epochs", 5, "epochs").Range(1, 1000);
  fs.Choice("optimizer", "sgd", {"sgd", "adam", "adamw"}, "optimizer");
  fs.Bool("augment", false, "random crop and flip");
  fs.String("data", "/usr/share/datasets/fashion-mnist", "dataset folder");
  fs.String("tag", "", "free-form tag");
  return fs;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
  }
  return lines;
}

// The line of `help` that starts with `prefix` after its indentation.
std::string LineFor(const std::string& help, const std::string& prefix) {
  for (const std::string& line : Lines(help)) {
    size_t indent = line.find_first_not_of(' ');
    if (indent != std::string::npos && line.compare(indent, prefix.size(), prefix) == 0) {
      return line;
    }
  }
  return "";
}

TEST(FlagSetHelpTest, ShowsUsageDescriptionAndEveryFlag) {
  FlagSet fs = MakeTrainerFlags();
  std::string help = fs.Help();
  EXPECT_THAT(help, HasSubstr("Usage: orchard-train [flags] [args...]\n"));
  EXPECT_THAT(help, HasSubstr("Fine-tunes a network."));

  std::string lr = LineFor(help, "--lr ");
  EXPECT_THAT(lr, HasSubstr("float"));
  EXPECT_THAT(lr, HasSubstr("0.01"));
  EXPECT_THAT(lr, HasSubstr("[1e-06, 10]"));
  EXPECT_THAT(lr, HasSubstr("learning rate"));
  EXPECT_THAT(LineFor(help, "--epochs "), HasSubstr("[1, 1000]"));
  EXPECT_THAT(LineFor(help, "--optimizer "), HasSubstr("{sgd, adam, adamw}"));
  EXPECT_THAT(LineFor(help, "--augment "), HasSubstr("false"));
  EXPECT_THAT(LineFor(help, "--data "), HasSubstr("/usr/share/datasets/fashion-mnist"));
  EXPECT_THAT(LineFor(help, "--tag "), HasSubstr("\"\""));  // empty default made visible
  EXPECT_THAT(LineFor(help, "-h, --help"), HasSubstr("show this help"));
  EXPECT_THAT(help, HasSubstr("--no-name"));
}

TEST(FlagSetHelpTest, ColumnsAreAligned) {
  FlagSet fs = MakeTrainerFlags();
  std::string help = fs.Help();
  std::string header = LineFor(help, "FLAG");
  size_t type_col = header.find("TYPE");
  size_t help_col = header.find("HELP");
  ASSERT_NE(type_col, std::string::npos);
  ASSERT_NE(help_col, std::string::npos);
  for (const Flag* flag : fs.flags()) {
    std::string line = LineFor(help, "--" + flag->name() + " ");
    ASSERT_FALSE(line.empty()) << flag->name();
    EXPECT_EQ(line.find(std::string(FlagTypeName(flag->type()))), type_col) << line;
    EXPECT_EQ(line.rfind(flag->help()), help_col) << line;
  }
  for (const std::string& line : Lines(help)) {
    EXPECT_TRUE(line.empty() || line.back() != ' ') << "trailing space: " << line;
  }
}

TEST(FlagSetJsonTest, ToJsonHasCurrentValuesWithTypes) {
  FlagSet fs = MakeTrainerFlags();
  ASSERT_TRUE(fs.Parse({"--lr=0.1", "--augment"}).ok());
  nlohmann::json j = fs.ToJson();
  EXPECT_EQ(j.size(), 6u);
  EXPECT_EQ(j["lr"], 0.1);
  EXPECT_TRUE(j["lr"].is_number_float());
  EXPECT_EQ(j["epochs"], 5);
  EXPECT_TRUE(j["epochs"].is_number_integer());
  EXPECT_EQ(j["optimizer"], "sgd");
  EXPECT_EQ(j["augment"], true);
  EXPECT_EQ(j["tag"], "");
  EXPECT_THAT(j.dump(), HasSubstr("\"lr\":0.1,"));
}

TEST(FlagSetJsonTest, DescribeListsDeclarationsInOrder) {
  FlagSet fs = MakeTrainerFlags();
  nlohmann::json d = fs.Describe();
  EXPECT_EQ(d["program"], "orchard-train");
  EXPECT_EQ(d["description"], "Fine-tunes a network.");
  ASSERT_EQ(d["flags"].size(), 6u);
  EXPECT_EQ(d["flags"][0]["name"], "lr");
  EXPECT_EQ(d["flags"][0]["type"], "float");
  EXPECT_EQ(d["flags"][0]["min"], 1e-6);
  EXPECT_EQ(d["flags"][1]["name"], "epochs");
  EXPECT_EQ(d["flags"][1]["max"], 1000);
  EXPECT_EQ(d["flags"][2]["type"], "choice");
  EXPECT_EQ(d["flags"][2]["choices"], nlohmann::json::array({"sgd", "adam", "adamw"}));
  EXPECT_EQ(d["flags"][3]["default"], false);
  EXPECT_EQ(d["flags"][4]["help"], "dataset folder");
  // Parsing changes values, not declarations.
  ASSERT_TRUE(fs.Parse({"--lr=0.5"}).ok());
  EXPECT_EQ(fs.Describe()["flags"][0]["default"], 0.01);
}

TEST(FlagSetGetTest, CheckedGet) {
  FlagSet fs = MakeTrainerFlags();
  ASSERT_TRUE(fs.Parse({"--epochs=8"}).ok());
  Result<FlagValue> epochs = fs.Get("epochs");
  ASSERT_TRUE(epochs.ok());
  EXPECT_EQ(*epochs, FlagValue::Int(8));
  Result<FlagValue> missing = fs.Get("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(fs.IsSet("nope"));
  EXPECT_EQ(fs.Find("nope"), nullptr);
  ASSERT_NE(fs.Find("lr"), nullptr);
  EXPECT_EQ(fs.Find("lr")->type(), FlagType::kFloat);
  ASSERT_EQ(fs.flags().size(), 6u);
  EXPECT_EQ(fs.flags()[5]->name(), "tag");
}

TEST(FlagSetGetTest, LargeAndNegativeValues) {
  FlagSet fs("p", "");
  fs.Int("seed", 0, "");
  fs.Float("shift", 0, "");
  ASSERT_TRUE(fs.Parse({"--seed=-9223372036854775808", "--shift=-1e-300"}).ok());
  EXPECT_EQ(fs.GetInt("seed"), INT64_MIN);
  EXPECT_EQ(fs.GetFloat("shift"), -1e-300);
  EXPECT_EQ(fs.ToJson()["shift"].get<double>(), -1e-300);
}

TEST(FlagSetGetDeathTest, WrongTypeOrNameAborts) {
  FlagSet fs = MakeTrainerFlags();
  EXPECT_DEATH(fs.GetInt("lr"), "GetInt\\(\"lr\"\\): --lr is a float flag");
  EXPECT_DEATH(fs.GetFloat("epochs"), "--epochs is an int flag");
  EXPECT_DEATH(fs.GetBool("missing"), "no such flag");
  EXPECT_EQ(fs.GetString("optimizer"), "sgd");  // choices read as strings
}

}  // namespace
}  // namespace orchard::flags
