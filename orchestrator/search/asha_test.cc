#include "orchestrator/search/asha.h"

#include <cmath>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "orchestrator/search/pruner.h"

namespace orchard::search {
namespace {

TrialRecord Reporting(int64_t number, std::map<int64_t, double> intermediate,
                      TrialRecord::State state = TrialRecord::State::kRunning) {
  TrialRecord t;
  t.number = number;
  t.state = state;
  t.intermediate = std::move(intermediate);
  return t;
}

// Trials arrive one after another at rung 1 with these values; each is
// judged against those before it (and itself), as they would be live.
std::vector<bool> ArriveAtRungOne(AshaPruner& asha, const std::vector<double>& values) {
  std::vector<TrialRecord> all;
  std::vector<bool> pruned;
  for (size_t i = 0; i < values.size(); ++i) {
    TrialRecord t = Reporting(static_cast<int64_t>(i), {{0, 0.0}, {1, values[i]}});
    all.push_back(t);
    bool p = asha.ShouldPrune(t, 1, all);
    if (p) all.back().state = TrialRecord::State::kPruned;
    pruned.push_back(p);
  }
  return pruned;
}

TEST(AshaTest, RungsAreGraceTimesEtaPowers) {
  EXPECT_EQ(AshaPruner(1, 3, 0, true).Rungs(100), (std::vector<int64_t>{1, 3, 9, 27, 81}));
  EXPECT_EQ(AshaPruner(2, 2, 0, true).Rungs(20), (std::vector<int64_t>{2, 4, 8, 16}));
  EXPECT_EQ(AshaPruner(1, 2.5, 0, true).Rungs(40), (std::vector<int64_t>{1, 2, 6, 15, 39}));
  EXPECT_EQ(AshaPruner(1, 1.1, 0, true).Rungs(4), (std::vector<int64_t>{1, 2, 3, 4}));  // increasing
  // max_t is the last rung.
  EXPECT_EQ(AshaPruner(1, 3, 5, true).Rungs(1000), (std::vector<int64_t>{1, 3, 5}));
  EXPECT_EQ(AshaPruner(1, 3, 9, true).Rungs(1000), (std::vector<int64_t>{1, 3, 9}));
  EXPECT_EQ(AshaPruner(4, 3, 4, true).Rungs(1000), (std::vector<int64_t>{4}));
}

TEST(AshaTest, PromotesTheTopThirdAtARungWhenMaximising) {
  AshaPruner asha(1, 3, 0, /*maximize=*/true);
  // 1 value: the best, continues. 2..5 values: only the best continues
  // (floor(n / 3) < 2). 6 values: the top 2 continue, ties included.
  EXPECT_EQ(ArriveAtRungOne(asha, {0.5, 0.4, 0.6, 0.55, 0.3, 0.58}),
            (std::vector<bool>{false, true, false, true, true, false}));
}

TEST(AshaTest, PromotesTheLowestWhenMinimising) {
  AshaPruner asha(1, 3, 0, /*maximize=*/false);
  EXPECT_EQ(ArriveAtRungOne(asha, {0.5, 0.4, 0.6, 0.55, 0.3, 0.58}),
            (std::vector<bool>{false, false, true, true, false, true}));
}

TEST(AshaTest, JudgesOnlyWhenARungIsReached) {
  AshaPruner asha(1, 3, 0, true);
  std::vector<TrialRecord> all = {Reporting(0, {{1, 0.5}, {2, 0.6}, {3, 0.7}}),
                                  Reporting(1, {{1, 0.9}, {2, 0.1}})};
  // Trial 1 is at step 2: no rung, no decision, however poor its value.
  EXPECT_FALSE(asha.ShouldPrune(all[1], 2, all));
  // At step 3 its value (0.65) is below the only other value at rung 3 (0.7).
  all[1].intermediate[3] = 0.65;
  EXPECT_TRUE(asha.ShouldPrune(all[1], 3, all));
  // Trial 0 was first at rung 3: it continues; with a later, better
  // competitor in the records it would not.
  EXPECT_FALSE(asha.ShouldPrune(all[0], 3, {all[0]}));
  all[1].intermediate[3] = 0.8;
  EXPECT_TRUE(asha.ShouldPrune(all[0], 3, all));
  // A step the trial has not reported: nothing to judge.
  EXPECT_FALSE(asha.ShouldPrune(all[0], 9, all));
}

TEST(AshaTest, GraceDelaysTheFirstRung) {
  AshaPruner asha(4, 2, 0, true);
  std::vector<TrialRecord> all = {Reporting(0, {{1, 0.9}, {4, 0.9}}), Reporting(1, {{1, 0.1}})};
  EXPECT_FALSE(asha.ShouldPrune(all[1], 1, all));  // before grace
  all[1].intermediate[2] = 0.1;
  all[1].intermediate[3] = 0.1;
  EXPECT_FALSE(asha.ShouldPrune(all[1], 3, all));
  all[1].intermediate[4] = 0.2;
  EXPECT_TRUE(asha.ShouldPrune(all[1], 4, all));  // rung 4: 0.2 < 0.9 (2 values, keep 1)
}

TEST(AshaTest, NoDecisionAtOrAfterMaxT) {
  AshaPruner asha(1, 3, 5, true);
  std::vector<TrialRecord> all = {Reporting(0, {{1, 0.9}, {3, 0.9}, {5, 0.9}, {6, 0.9}}),
                                  Reporting(1, {{1, 0.9}, {3, 0.1}, {5, 0.1}, {6, 0.0}})};
  // Rung 3 is below max_t: the worse trial is stopped there.
  std::vector<TrialRecord> at3 = {all[0], Reporting(1, {{1, 0.9}, {3, 0.1}})};
  EXPECT_TRUE(asha.ShouldPrune(at3[1], 3, at3));
  // Reaching max_t (5) completes the budget: no decision, however bad.
  EXPECT_FALSE(asha.ShouldPrune(all[1], 5, all));
  EXPECT_FALSE(asha.ShouldPrune(all[1], 6, all));
}

TEST(AshaTest, ReportsThatSkipRungsAreJudgedAtEach) {
  // Reporting every 10 steps crosses rungs 1, 3 and 9 at once: the value at
  // step 10 stands for each, and counts as the trial's value at those rungs.
  AshaPruner asha(1, 3, 0, true);
  std::vector<TrialRecord> all = {Reporting(0, {{0, 0.0}, {10, 0.5}}),
                                  Reporting(1, {{1, 0.2}, {3, 0.3}, {9, 0.6}})};
  EXPECT_TRUE(asha.ShouldPrune(all[0], 10, all));  // rungs 1, 3 fine; rung 9: 0.5 < 0.6
  all[1].intermediate[9] = 0.4;
  EXPECT_FALSE(asha.ShouldPrune(all[0], 10, all));
  // Trial 1 now sees trial 0's step-10 value at rung 9 (its first step >= 9).
  EXPECT_TRUE(asha.ShouldPrune(all[1], 9, all));
}

TEST(AshaTest, EdgeCases) {
  AshaPruner asha(1, 3, 0, true);
  TrialRecord alone = Reporting(0, {{1, 0.1}});
  EXPECT_FALSE(asha.ShouldPrune(alone, 1, {}));       // no history: the best so far
  EXPECT_FALSE(asha.ShouldPrune(alone, 1, {alone}));  // itself only
  TrialRecord empty = Reporting(1, {});
  EXPECT_FALSE(asha.ShouldPrune(empty, 1, {alone}));
  TrialRecord nan = Reporting(2, {{1, std::nan("")}});
  EXPECT_TRUE(asha.ShouldPrune(nan, 1, {}));  // NaN at a rung is pruned
  // A NaN recorded by another trial counts as the worst value.
  EXPECT_FALSE(asha.ShouldPrune(Reporting(3, {{1, -5.0}}), 1, {nan}));
  // Pruned and completed trials' values at the rung still compete.
  TrialRecord done = Reporting(4, {{1, 0.5}}, TrialRecord::State::kCompleted);
  TrialRecord gone = Reporting(5, {{1, 0.7}}, TrialRecord::State::kPruned);
  EXPECT_TRUE(asha.ShouldPrune(Reporting(6, {{1, 0.6}}), 1, {done, gone}));
}

TEST(MakePrunerTest, BuildsFromEarlyStoppingAndRejectsBadSettings) {
  flags::EarlyStopping es;
  Result<std::unique_ptr<Pruner>> p = MakePruner(es);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, nullptr);

  es.method = "asha";
  p = MakePruner(es);
  ASSERT_TRUE(p.ok());
  EXPECT_NE(dynamic_cast<AshaPruner*>(p->get()), nullptr);

  es.reduction = 1;
  p = MakePruner(es);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "early_stopping: asha needs reduction > 1, got 1.000000");
  es.reduction = 3;
  es.max_t = 1;
  es.grace = 2;
  EXPECT_FALSE(MakePruner(es).ok());
  es.grace = 0;
  es.max_t = 0;
  EXPECT_FALSE(MakePruner(es).ok());

  es = flags::EarlyStopping();
  es.method = "median";
  p = MakePruner(es);
  ASSERT_TRUE(p.ok());
  EXPECT_NE(*p, nullptr);
  es.min_trials = 0;
  EXPECT_FALSE(MakePruner(es).ok());

  es.method = "hyperband";
  p = MakePruner(es);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("unknown method 'hyperband'"), std::string::npos);
}

}  // namespace
}  // namespace orchard::search
