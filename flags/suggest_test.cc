#include "flags/suggest.h"

#include <gtest/gtest.h>

namespace orchard::flags {
namespace {

TEST(EditDistanceTest, Basics) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("epoch", "epochs"), 1u);
  EXPECT_EQ(EditDistance("lr", "rl"), 1u);  // a swap of neighbours is one edit
  EXPECT_EQ(EditDistance("rnu", "run"), 1u);
  EXPECT_EQ(EditDistance("ca", "abc"), 3u);
}

TEST(SuggestClosestTest, Typos) {
  std::vector<std::string> names = {"lr", "epochs", "optimizer", "batch_size", "augment"};
  EXPECT_EQ(SuggestClosest("epoch", names), "epochs");
  EXPECT_EQ(SuggestClosest("optimiser", names), "optimizer");
  EXPECT_EQ(SuggestClosest("augmnet", names), "augment");
  EXPECT_EQ(SuggestClosest("batch-size", names), "batch_size");
  EXPECT_EQ(SuggestClosest("Batch_Size", names), "batch_size");
  EXPECT_EQ(SuggestClosest("lrr", names), "lr");
}

TEST(SuggestClosestTest, Initials) {
  std::vector<std::string> names = {"epochs", "lr", "weight_decay"};
  EXPECT_EQ(SuggestClosest("learning_rate", names), "lr");
  EXPECT_EQ(SuggestClosest("learning-rate", names), "lr");
  EXPECT_EQ(SuggestClosest("wd", names), "weight_decay");
}

TEST(SuggestClosestTest, NothingCloseGivesEmpty) {
  std::vector<std::string> names = {"lr", "epochs"};
  EXPECT_EQ(SuggestClosest("dataset", names), "");
  EXPECT_EQ(SuggestClosest("x", names), "");
  EXPECT_EQ(SuggestClosest("l", {"learning"}), "");  // one word has no initials
  EXPECT_EQ(SuggestClosest("lr", {}), "");
}

TEST(SuggestClosestTest, PrefersSmallerDistanceThenOrder) {
  EXPECT_EQ(SuggestClosest("seed", {"speed", "seeds"}), "speed");
  EXPECT_EQ(SuggestClosest("seed", {"seeds", "speed"}), "seeds");
  EXPECT_EQ(SuggestClosest("dropot", {"drop", "dropout"}), "dropout");
}

}  // namespace
}  // namespace orchard::flags
