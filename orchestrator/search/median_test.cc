#include "orchestrator/search/median.h"

#include <cmath>
#include <map>
#include <vector>

#include <gtest/gtest.h>

namespace orchard::search {
namespace {

using State = TrialRecord::State;

TrialRecord Trial(int64_t number, State state, std::map<int64_t, double> intermediate) {
  TrialRecord t;
  t.number = number;
  t.state = state;
  t.intermediate = std::move(intermediate);
  return t;
}

// Completed A and B, running C; pruned D and failed E do not count.
std::vector<TrialRecord> Others() {
  return {Trial(0, State::kCompleted, {{1, 0.5}, {2, 0.6}, {3, 0.7}}),
          Trial(1, State::kCompleted, {{1, 0.4}, {2, 0.5}, {3, 0.55}}),
          Trial(2, State::kRunning, {{1, 0.3}, {2, 0.45}}),
          Trial(3, State::kPruned, {{1, 0.9}, {2, 0.95}}),
          Trial(4, State::kFailed, {{1, 0.9}, {2, 0.95}, {3, 0.99}})};
}

TEST(MedianTest, PrunesBelowTheMedianWhenMaximising) {
  MedianPruner median(/*grace=*/2, /*min_trials=*/3, /*maximize=*/true);
  std::vector<TrialRecord> all = Others();
  EXPECT_EQ(median.MedianAt(2, 9, all), 0.5);  // of 0.6, 0.5, 0.45
  TrialRecord x = Trial(9, State::kRunning, {{1, 0.4}, {2, 0.48}});
  EXPECT_TRUE(median.ShouldPrune(x, 2, all));
  x.intermediate[1] = 0.52;  // the best so far counts, not the latest
  EXPECT_FALSE(median.ShouldPrune(x, 2, all));
  x.intermediate[1] = 0.5;  // equal to the median is not worse
  EXPECT_FALSE(median.ShouldPrune(x, 2, all));
}

TEST(MedianTest, PrunesAboveTheMedianWhenMinimising) {
  MedianPruner median(2, 3, /*maximize=*/false);
  std::vector<TrialRecord> all = Others();
  TrialRecord x = Trial(9, State::kRunning, {{1, 0.52}, {2, 0.48}});
  EXPECT_FALSE(median.ShouldPrune(x, 2, all));
  x.intermediate[2] = 0.51;
  EXPECT_TRUE(median.ShouldPrune(x, 2, all));
}

TEST(MedianTest, GraceAndMinTrials) {
  std::vector<TrialRecord> all = Others();
  TrialRecord x = Trial(9, State::kRunning, {{1, 0.0}, {2, 0.0}, {3, 0.0}});
  EXPECT_FALSE(MedianPruner(2, 3, true).ShouldPrune(x, 1, all));  // in the warm-up
  EXPECT_TRUE(MedianPruner(1, 3, true).ShouldPrune(x, 1, all));
  // At step 3 only A and B have reported.
  EXPECT_FALSE(MedianPruner(2, 3, true).ShouldPrune(x, 3, all));
  EXPECT_EQ(MedianPruner(2, 3, true).MedianAt(3, 9, all), std::nullopt);
  EXPECT_EQ(MedianPruner(2, 2, true).MedianAt(3, 9, all), 0.625);  // even: the middle two's mean
  EXPECT_TRUE(MedianPruner(2, 2, true).ShouldPrune(x, 3, all));
}

TEST(MedianTest, ComparesTrialsReportingAtDifferentSteps) {
  // F reports every 4 steps: at t = 3 it has reached 3 and its value is the
  // one from step 0; G has not reached 3.
  std::vector<TrialRecord> all = {Trial(0, State::kCompleted, {{0, 0.2}, {4, 0.8}}),
                                  Trial(1, State::kRunning, {{0, 0.9}, {2, 0.9}})};
  MedianPruner median(0, 1, true);
  EXPECT_EQ(median.MedianAt(3, 9, all), 0.2);
  EXPECT_FALSE(median.ShouldPrune(Trial(9, State::kRunning, {{3, 0.3}}), 3, all));
  EXPECT_TRUE(median.ShouldPrune(Trial(9, State::kRunning, {{3, 0.1}}), 3, all));
}

TEST(MedianTest, EdgeCases) {
  MedianPruner median(0, 1, true);
  TrialRecord x = Trial(0, State::kRunning, {{1, 0.1}});
  EXPECT_FALSE(median.ShouldPrune(x, 1, {}));   // no history
  EXPECT_FALSE(median.ShouldPrune(x, 1, {x}));  // itself only
  std::vector<TrialRecord> one = {Trial(1, State::kCompleted, {{1, 0.5}})};
  EXPECT_TRUE(median.ShouldPrune(x, 1, one));
  EXPECT_FALSE(median.ShouldPrune(Trial(0, State::kRunning, {}), 1, one));  // nothing reported
  EXPECT_TRUE(median.ShouldPrune(Trial(0, State::kRunning, {{1, std::nan("")}}), 1, one));
  // Others' NaN values are skipped.
  one.push_back(Trial(2, State::kCompleted, {{1, std::nan("")}}));
  EXPECT_EQ(median.MedianAt(1, 0, one), 0.5);
}

}  // namespace
}  // namespace orchard::search
