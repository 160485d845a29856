// `orchard tune` trial outcomes end to end: retries of crashing trials,
// failures that do not stop the session, timeouts, and spec errors.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "orchestrator/store/sqlite_run_store.h"
#include "tests/integration/test_util.h"
#include "tests/integration/tune_fixture.h"

namespace orchard::testing {
namespace {

using store::RunStatus;

class TuneTrialsFixture : public TuneFixture {
 protected:
  // trial -> its runs, oldest first
  std::map<int64_t, std::vector<store::Run>> ByTrial(const std::string& tune_id) {
    std::map<int64_t, std::vector<store::Run>> out;
    for (const auto& r : Trials(tune_id)) {
      EXPECT_TRUE(r.trial.has_value());
      out[r.trial.value_or(-1)].push_back(r);
    }
    return out;
  }

  // A trainer that reads --x; with x=2 it crashes (exit 3, a message on
  // stderr): always, or only the first time when `once`.
  void WriteCrashingTrainer(bool once) {
    WriteScript(dir_ / "train.sh", R"(#!/bin/sh
for a in "$@"; do
  case "$a" in --x=*) x="${a#--x=}" ;; esac
done
if [ "$x" = 2 ]; then
  if [ )" + std::string(once ? "1" : "0") + R"( = 0 ] || mkdir )" + state() + R"(/crashed-$x 2>/dev/null; then
    echo "@orchard {\"epoch\": 1, \"acc\": 0.1}"
    echo "boom: trial with x=$x crashed" >&2
    exit 3
  fi
fi
echo "@orchard {\"epoch\": 1, \"acc\": 0.$x}"
)");
  }

};

class TuneRetry : public TuneTrialsFixture {};
class TuneTimeout : public TuneTrialsFixture {};
class TuneErrors : public TuneTrialsFixture {};

TEST_F(TuneRetry, ACrashingTrialIsRetried) {
  WriteCrashingTrainer(/*once=*/true);
  WriteSpec(R"(command: [./train.sh]
search:
  x: [1, 2, 3]
objective: {metric: acc, goal: max}
resources: {retries: 1}
)");
  auto r = Tune();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("retrying"), std::string::npos) << r.err;
  store::Tune tune = OnlyTune();
  EXPECT_EQ(tune.status, "completed");
  auto trials = ByTrial(tune.id);
  ASSERT_EQ(trials.size(), 3u);
  for (int64_t n : {0, 2}) {
    ASSERT_EQ(trials[n].size(), 1u) << "trial " << n;
    EXPECT_EQ(trials[n][0].status, RunStatus::kCompleted);
    EXPECT_EQ(trials[n][0].attempt, 1);
  }
  const auto& crashed = trials[1];
  ASSERT_EQ(crashed.size(), 2u);
  EXPECT_EQ(crashed[0].attempt, 1);
  EXPECT_EQ(crashed[0].status, RunStatus::kFailed);
  EXPECT_EQ(crashed[0].exit_code, 3);
  EXPECT_NE(crashed[0].error.find("boom: trial with x=2 crashed"), std::string::npos)
      << crashed[0].error;
  EXPECT_EQ(crashed[1].attempt, 2);
  EXPECT_EQ(crashed[1].status, RunStatus::kCompleted);
  EXPECT_EQ(crashed[1].exit_code, 0);
  EXPECT_EQ(crashed[1].flags, crashed[0].flags) << "a retry runs the same flags";
  EXPECT_EQ(crashed[1].seed, crashed[0].seed) << "and the same seed";
}

TEST_F(TuneRetry, RetriesFromTheCommandLineAreBoundedAndTheLastFailureIsKept) {
  WriteCrashingTrainer(/*once=*/false);
  WriteSpec("command: [./train.sh]\nsearch:\n  x: [1, 2, 3]\n");
  auto r = Tune({"--retries", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  store::Tune tune = OnlyTune();
  auto trials = ByTrial(tune.id);
  const auto& crashed = trials[1];
  ASSERT_EQ(crashed.size(), 3u) << "one attempt and two retries";
  for (size_t i = 0; i < crashed.size(); ++i) {
    EXPECT_EQ(crashed[i].attempt, static_cast<int64_t>(i + 1));
    EXPECT_EQ(crashed[i].status, RunStatus::kFailed);
    EXPECT_EQ(crashed[i].exit_code, 3);
  }
  EXPECT_EQ(trials[0].size(), 1u);
  EXPECT_EQ(trials[2].size(), 1u);
  EXPECT_NE(r.err.find("1 failed"), std::string::npos) << r.err;
}

TEST_F(TuneRetry, AFailingTrialWithoutRetriesNeverStopsTheTuning) {
  WriteCrashingTrainer(/*once=*/false);
  WriteSpec(R"(command: [./train.sh]
search:
  x: [1, 2, 3, 4]
resources: {retries: 0, concurrency: 1}
)");
  auto r = Tune();
  ASSERT_EQ(r.exit_code, 0) << "some trials completed:\n" << r.err;
  store::Tune tune = OnlyTune();
  EXPECT_EQ(tune.status, "completed");
  auto trials = ByTrial(tune.id);
  ASSERT_EQ(trials.size(), 4u);
  for (const auto& [n, runs] : trials) {
    ASSERT_EQ(runs.size(), 1u) << "trial " << n;
    if (n == 1) {
      EXPECT_EQ(runs[0].status, RunStatus::kFailed);
      EXPECT_EQ(runs[0].exit_code, 3);
      EXPECT_NE(runs[0].error.find("boom"), std::string::npos) << runs[0].error;
    } else {
      EXPECT_EQ(runs[0].status, RunStatus::kCompleted) << "trial " << n;
    }
  }
  EXPECT_NE(r.err.find("3 completed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 failed"), std::string::npos) << r.err;

  // A completed session is not resumed: running the spec again starts a new one.
  auto again = Tune();
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(TuneCount(), 2u);
}

TEST_F(TuneRetry, NoTrialCompletedExitsOne) {
  WriteScript(dir_ / "train.sh", "#!/bin/sh\necho nope >&2\nexit 4\n");
  WriteSpec("command: [./train.sh]\nsearch:\n  x: [1, 2]\n");
  auto r = Tune();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  store::Tune tune = OnlyTune();
  for (const auto& [n, runs] : ByTrial(tune.id)) {
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].status, RunStatus::kFailed);
    EXPECT_EQ(runs[0].exit_code, 4);
  }
}

TEST_F(TuneTimeout, ATrialThatRunsTooLongIsFailedAsTimedOut) {
  WriteScript(dir_ / "slow.sh", R"(#!/bin/sh
echo "@orchard {\"epoch\": 1, \"acc\": 0.5}"
sleep 30
echo "@orchard {\"epoch\": 2, \"acc\": 0.9}"
)");
  WriteSpec(R"(command: [./slow.sh]
flags: {x: 1}
resources: {timeout: 1}
)");
  auto t0 = std::chrono::steady_clock::now();
  auto r = Tune();
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.exit_code, 1) << "no trial completed:\n" << r.err;
  EXPECT_LT(took, 15) << "the trainer was stopped at its timeout";
  store::Tune tune = OnlyTune();
  auto trials = ByTrial(tune.id);
  ASSERT_EQ(trials.size(), 1u);
  ASSERT_EQ(trials[0].size(), 1u);
  const auto& run = trials[0][0];
  EXPECT_EQ(run.status, RunStatus::kFailed);
  EXPECT_NE(run.error.find("timed out"), std::string::npos) << run.error;
  auto acc = Store()->GetMetricSeries(run.id, "acc");
  ASSERT_TRUE(acc.ok());
  EXPECT_EQ(acc->size(), 1u) << "what it reported before the timeout is kept";
}

TEST_F(TuneTimeout, TimeoutFromTheCommandLineAndTimedOutTrialsAreRetried) {
  WriteScript(dir_ / "slow.sh", R"(#!/bin/sh
for a in "$@"; do
  case "$a" in --x=*) x="${a#--x=}" ;; esac
done
[ "$x" = 2 ] && sleep 30
echo "@orchard {\"acc\": 0.5}"
)");
  WriteSpec("command: [./slow.sh]\nsearch:\n  x: [1, 2]\nresources: {retries: 1}\n");
  auto r = Tune({"--timeout", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  store::Tune tune = OnlyTune();
  auto trials = ByTrial(tune.id);
  ASSERT_EQ(trials[0].size(), 1u);
  EXPECT_EQ(trials[0][0].status, RunStatus::kCompleted);
  ASSERT_EQ(trials[1].size(), 2u);
  for (const auto& run : trials[1]) {
    EXPECT_EQ(run.status, RunStatus::kFailed);
    EXPECT_NE(run.error.find("timed out"), std::string::npos) << run.error;
  }
}

TEST_F(TuneErrors, ATypoInTheSpecNamesTheLineAndExitsTwo) {
  WriteScript(dir_ / "train.sh", "#!/bin/sh\nexit 0\n");
  WriteSpec(R"(command: [./train.sh]
flags: {epochs: 1}
serach:
  lr: [0.1, 0.01]
)");
  auto r = Tune();
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("tune.yaml:3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("serach"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'search'"), std::string::npos) << r.err;
  EXPECT_EQ(TuneCount(), 0u) << "nothing runs";
}

TEST_F(TuneErrors, ABadValueNamesTheLineAndKey) {
  WriteScript(dir_ / "train.sh", "#!/bin/sh\nexit 0\n");
  WriteSpec(R"(command: [./train.sh]
search:
  lr: [0.1, 0.01]
resources:
  concurrency: 0
)");
  auto r = Tune();
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("tune.yaml:5"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("concurrency"), std::string::npos) << r.err;
  EXPECT_EQ(TuneCount(), 0u);
}

TEST_F(TuneErrors, AnUnknownMethodExitsTwo) {
  WriteScript(dir_ / "train.sh", "#!/bin/sh\nexit 0\n");
  WriteSpec("command: [./train.sh]\nsearch:\n  lr: [0.1, 0.01]\n");
  auto cli = Tune({"--method", "bayes"});
  EXPECT_EQ(cli.exit_code, 2) << cli.err;
  EXPECT_NE(cli.err.find("bayes"), std::string::npos) << cli.err;

  WriteSpec("command: [./train.sh]\nsearch:\n  lr: [0.1, 0.01]\nmethod: bayes\n");
  auto spec = Tune();
  EXPECT_EQ(spec.exit_code, 2) << spec.err;
  EXPECT_NE(spec.err.find("tune.yaml:4"), std::string::npos) << spec.err;
  EXPECT_NE(spec.err.find("bayes"), std::string::npos) << spec.err;
  EXPECT_EQ(TuneCount(), 0u);
}

// docs/tuning-spec.md: trials_per_gpu "needs gpus_per_trial: 1". The spec
// parser enforces it; the command-line overrides must too.
TEST_F(TuneErrors, SharingGpusNeedsOneGpuPerTrialOnTheCommandLineToo) {
  WriteScript(dir_ / "train.sh", "#!/bin/sh\nexit 0\n");
  WriteSpec("command: [./train.sh]\nsearch:\n  x: [1, 2]\n");
  auto r = Tune({"--gpus", "0,1", "--gpus-per-trial", "2", "--trials-per-gpu", "2",
                 "--concurrency", "2"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("trials-per-gpu"), std::string::npos) << r.err;

  WriteSpec(R"(command: [./train.sh]
search:
  x: [1, 2]
resources: {gpus: [0, 1], gpus_per_trial: 1, trials_per_gpu: 2, concurrency: 2}
)");
  auto over = Tune({"--gpus-per-trial", "2"});
  EXPECT_EQ(over.exit_code, 2) << over.err;
  EXPECT_EQ(TuneCount(), 0u) << "nothing runs";
}

TEST_F(TuneErrors, AMissingSpecFileExitsTwo) {
  auto r = RunOrchard(home(), {"tune", "no-such-spec.yaml"}, dir_.path());
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

}  // namespace
}  // namespace orchard::testing
