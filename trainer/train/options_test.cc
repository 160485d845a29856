#include "trainer/train/options.h"

#include <cstdlib>

#include <gtest/gtest.h>

namespace orchard::trainer {
namespace {

Result<FinetuneOptions> Parse(const std::vector<std::string>& args) {
  flags::FlagSet flags("orchard-train finetune", "");
  DeclareFinetuneFlags(&flags);
  Status parsed = flags.Parse(args);
  if (!parsed.ok()) return parsed;
  return FinetuneOptionsFromFlags(flags);
}

TEST(FinetuneOptionsTest, DefaultsAreValidAndDocumented) {
  flags::FlagSet flags("orchard-train finetune", "");
  DeclareFinetuneFlags(&flags);
  ASSERT_TRUE(flags.Validate().ok()) << flags.Validate().message();
  for (const flags::Flag* flag : flags.flags()) {
    EXPECT_FALSE(flag->help().empty()) << flag->name();
  }
  ::unsetenv("ORCHARD_SEED");
  Result<FinetuneOptions> o = Parse({});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o.value().backbone, "mobilenet_v2");
  EXPECT_EQ(o.value().cut, "block_10");
  EXPECT_TRUE(o.value().mean.empty());
}

TEST(FinetuneOptionsTest, ReadsTheTuningFlags) {
  Result<FinetuneOptions> o =
      Parse({"--lr=0.003", "--batch=32", "--optimizer=adamw", "--unfreeze=-1",
             "--labels_per_class=100", "--resume-from", "ckpt.pt", "--mean=0.5", "--std=0.25,0.5,1"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_DOUBLE_EQ(o.value().lr, 0.003);
  EXPECT_EQ(o.value().batch, 32);
  EXPECT_EQ(o.value().optimizer, "adamw");
  EXPECT_EQ(o.value().unfreeze, -1);
  EXPECT_EQ(o.value().labels_per_class, 100);
  EXPECT_EQ(o.value().resume_from, "ckpt.pt");
  EXPECT_EQ(o.value().mean, (std::vector<double>{0.5, 0.5, 0.5}));
  EXPECT_EQ(o.value().std, (std::vector<double>{0.25, 0.5, 1.0}));
}

TEST(FinetuneOptionsTest, BadValuesNameTheFlag) {
  auto message = [](const std::vector<std::string>& args) {
    Result<FinetuneOptions> o = Parse(args);
    EXPECT_FALSE(o.ok());
    return o.ok() ? std::string() : o.status().message();
  };
  EXPECT_NE(message({"--learning_rate=0.1"}).find("did you mean"), std::string::npos);
  EXPECT_NE(message({"--optimizer=rmsprop"}).find("optimizer"), std::string::npos);
  EXPECT_NE(message({"--mean=0.1,0.2"}).find("--mean"), std::string::npos);
  EXPECT_NE(message({"--mean=a"}).find("--mean"), std::string::npos);
  EXPECT_NE(message({"--mean=0.5"}).find("--std"), std::string::npos);
  EXPECT_NE(message({"--mean=0.5", "--std=0"}).find("--std"), std::string::npos);
  EXPECT_NE(message({"--backbone=resnet"}).find("--backbone"), std::string::npos);
  EXPECT_NE(message({"--backbone=torchscript:"}).find("path"), std::string::npos);
  EXPECT_NE(message({"--pretrained=false", "--weights=/x"}).find("--weights"), std::string::npos);
}

TEST(FinetuneOptionsTest, SeedComesFromTheEnvironmentUnlessGiven) {
  ::setenv("ORCHARD_SEED", "42", 1);
  EXPECT_EQ(Parse({}).value().seed, 42);
  EXPECT_EQ(Parse({"--seed=7"}).value().seed, 7);
  ::setenv("ORCHARD_SEED", "minus one", 1);
  Result<FinetuneOptions> bad = Parse({});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("ORCHARD_SEED"), std::string::npos);
  ::unsetenv("ORCHARD_SEED");
}

}  // namespace
}  // namespace orchard::trainer
