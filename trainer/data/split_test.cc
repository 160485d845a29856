#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "trainer/data/image_set.h"

namespace orchard::trainer {
namespace {

// `per_class[c]` images of class c, interleaved across classes.
std::vector<int> Labels(const std::vector<int>& per_class) {
  std::vector<int> labels;
  std::vector<int> left = per_class;
  for (bool any = true; any;) {
    any = false;
    for (size_t c = 0; c < left.size(); ++c) {
      if (left[c] > 0) {
        labels.push_back(static_cast<int>(c));
        --left[c];
        any = true;
      }
    }
  }
  return labels;
}

std::vector<int> CountPerClass(const std::vector<int64_t>& indices, const std::vector<int>& labels,
                               int num_classes) {
  std::vector<int> counts(num_classes);
  for (int64_t i : indices) ++counts[labels[i]];
  return counts;
}

Split MustSplit(const std::vector<int>& labels, int num_classes, const SplitOptions& options) {
  Result<Split> split = SplitDataset(labels, num_classes, options);
  EXPECT_TRUE(split.ok()) << split.status().message();
  return split.ok() ? *split : Split{};
}

SplitOptions Options(int64_t val_per_class, int64_t labels_per_class, uint64_t seed) {
  SplitOptions options;
  options.val_per_class = val_per_class;
  options.labels_per_class = labels_per_class;
  options.seed = seed;
  return options;
}

TEST(SplitTest, SameSeedSameSplitOtherSeedOtherSplit) {
  const std::vector<int> labels = Labels({50, 50, 50});
  const Split a = MustSplit(labels, 3, Options(10, 0, 7));
  const Split b = MustSplit(labels, 3, Options(10, 0, 7));
  const Split c = MustSplit(labels, 3, Options(10, 0, 8));
  EXPECT_EQ(a.val, b.val);
  EXPECT_EQ(a.train, b.train);
  EXPECT_NE(a.val, c.val);
}

TEST(SplitTest, KnownSplitIsTheSameEverywhere) {
  // Pins the PRNG and the shuffle (the expected lists come from an
  // independent Python transcription): changing either changes every
  // experiment's validation set, so it must be deliberate.
  const Split split = MustSplit(Labels({5, 5}), 2, Options(2, 0, 42));
  EXPECT_EQ(split.val, (std::vector<int64_t>{2, 4, 7, 9}));
  EXPECT_EQ(split.train, (std::vector<int64_t>{0, 1, 3, 5, 6, 8}));
}

TEST(SplitTest, ListsAreDisjointSortedAndCoverEverything) {
  const std::vector<int> labels = Labels({40, 30, 20});
  const Split split = MustSplit(labels, 3, Options(5, 0, 1));
  EXPECT_TRUE(std::is_sorted(split.train.begin(), split.train.end()));
  EXPECT_TRUE(std::is_sorted(split.val.begin(), split.val.end()));
  std::set<int64_t> all(split.train.begin(), split.train.end());
  all.insert(split.val.begin(), split.val.end());
  EXPECT_EQ(all.size(), labels.size());
  EXPECT_EQ(split.train.size() + split.val.size(), labels.size());
  EXPECT_EQ(CountPerClass(split.val, labels, 3), (std::vector<int>{5, 5, 5}));
  EXPECT_EQ(CountPerClass(split.train, labels, 3), (std::vector<int>{35, 25, 15}));
}

TEST(SplitTest, LabelBudgetLimitsTrainingOnly) {
  const std::vector<int> labels = Labels({40, 30, 8});
  const Split all = MustSplit(labels, 3, Options(5, 0, 3));
  const Split budget = MustSplit(labels, 3, Options(5, 10, 3));
  const Split tiny = MustSplit(labels, 3, Options(5, 1, 3));
  EXPECT_EQ(budget.val, all.val);
  EXPECT_EQ(tiny.val, all.val);
  EXPECT_EQ(CountPerClass(budget.train, labels, 3), (std::vector<int>{10, 10, 3}));
  EXPECT_EQ(CountPerClass(tiny.train, labels, 3), (std::vector<int>{1, 1, 1}));
  // A smaller budget is a subset of a larger one.
  EXPECT_TRUE(std::includes(budget.train.begin(), budget.train.end(), tiny.train.begin(), tiny.train.end()));
  EXPECT_TRUE(std::includes(all.train.begin(), all.train.end(), budget.train.begin(), budget.train.end()));
}

TEST(SplitTest, FractionIsRoundedPerClass) {
  const std::vector<int> labels = Labels({100, 25, 4});
  SplitOptions options = Options(0, 0, 5);
  options.val_fraction = 0.1;
  const Split split = MustSplit(labels, 3, options);
  EXPECT_EQ(CountPerClass(split.val, labels, 3), (std::vector<int>{10, 3, 0}));  // 2.5 rounds up
  options.val_fraction = 0.0;
  EXPECT_TRUE(MustSplit(labels, 3, options).val.empty());
}

TEST(SplitTest, TinyClassesKeepATrainingImage) {
  const std::vector<int> labels = Labels({1, 2, 0, 10});
  const Split split = MustSplit(labels, 4, Options(100, 0, 9));
  EXPECT_EQ(CountPerClass(split.val, labels, 4), (std::vector<int>{0, 1, 0, 9}));
  EXPECT_EQ(CountPerClass(split.train, labels, 4), (std::vector<int>{1, 1, 0, 1}));
}

TEST(SplitTest, OtherClassesDoNotMoveAClassSplit) {
  // Class 0's images sit at the same indices in both sets; adding images of
  // class 1 after them must not change which of them are validation.
  std::vector<int> labels(20, 0);
  const Split alone = MustSplit(labels, 2, Options(4, 0, 11));
  labels.resize(60, 1);
  const Split with_more = MustSplit(labels, 2, Options(4, 0, 11));
  std::vector<int64_t> class0_val;
  for (int64_t i : with_more.val) {
    if (i < 20) class0_val.push_back(i);
  }
  EXPECT_EQ(class0_val, alone.val);
}

TEST(SplitTest, BadArgumentsAreErrors) {
  const std::vector<int> labels = {0, 1, 1};
  auto error = [&](const std::vector<int>& l, int num_classes, const SplitOptions& o) {
    Result<Split> split = SplitDataset(l, num_classes, o);
    EXPECT_FALSE(split.ok());
    return split.ok() ? "" : split.status().message();
  };
  EXPECT_NE(error(labels, 0, {}).find("num_classes"), std::string::npos);
  EXPECT_NE(error(labels, 2, Options(-1, 0, 0)).find("val_per_class"), std::string::npos);
  EXPECT_NE(error(labels, 2, Options(1, -1, 0)).find("labels_per_class"), std::string::npos);
  for (double fraction : {-0.1, 1.0, std::nan("")}) {
    SplitOptions o;
    o.val_fraction = fraction;
    EXPECT_NE(error(labels, 2, o).find("val_fraction"), std::string::npos) << fraction;
  }
  EXPECT_NE(error({0, 2}, 2, {}).find("label 2 of image 1"), std::string::npos);
  EXPECT_NE(error({-1}, 2, {}).find("label -1 of image 0"), std::string::npos);
}

TEST(SplitTest, EmptyLabelsGiveEmptyLists) {
  const Split split = MustSplit({}, 3, SplitOptions{});
  EXPECT_TRUE(split.train.empty());
  EXPECT_TRUE(split.val.empty());
}

}  // namespace
}  // namespace orchard::trainer
