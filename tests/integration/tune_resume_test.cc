// `orchard tune` crash safety end to end: kill -9 of the orchestrator, Ctrl-C,
// and resuming the session afterwards, with real trainer processes.
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include <gtest/gtest.h>

#include "orchestrator/store/sqlite_run_store.h"
#include "tests/integration/test_util.h"
#include "tests/integration/tune_fixture.h"

namespace orchard::testing {
namespace {

using store::RunStatus;

// Whether pid is a live process (a zombie counts as dead: it runs nothing).
bool Alive(pid_t pid) {
  if (kill(pid, 0) != 0) return false;
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return false;
  return stat[close + 2] != 'Z';
}

class TuneResumeFixture : public TuneFixture {
 protected:
  // The pids every trainer recorded (pid-<run id> files in the state folder).
  std::map<std::string, pid_t> TrainerPids() {
    std::map<std::string, pid_t> pids;
    for (const auto& e : std::filesystem::directory_iterator(state())) {
      std::string name = e.path().filename().string();
      if (name.rfind("pid-", 0) != 0) continue;
      std::string text = ReadFile(e.path().string());
      if (!text.empty()) pids[name.substr(4)] = static_cast<pid_t>(std::stol(text));
    }
    return pids;
  }

};

class TuneResume : public TuneResumeFixture {};
class TuneCancel : public TuneResumeFixture {};

TEST_F(TuneResume, KillDashNineThenResumeRunsEachTrialOnce) {
  WriteScript(dir_ / "train.sh", R"(#!/bin/sh
echo $$ > )" + state() + R"(/pid-$ORCHARD_RUN_ID
i=1
while [ $i -le 5 ]; do
  echo "@orchard {\"epoch\": $i, \"acc\": 0.$i}"
  sleep 0.2
  i=$((i+1))
done
)");
  WriteSpec(R"(command: [./train.sh]
search:
  x: [1, 2, 3, 4, 5, 6, 7, 8]
objective: {metric: acc, goal: max}
resources: {concurrency: 2}
)");
  pid_t pid = Spawn(TuneArgv(), dir_.path(), dir_ / "out1.txt", dir_ / "err1.txt");
  ASSERT_TRUE(WaitUntil(30, [&] {
    int completed = 0, running = 0;
    for (const auto& r : AllRuns()) {
      completed += r.status == RunStatus::kCompleted;
      running += r.status == RunStatus::kRunning && r.pid.has_value();
    }
    return completed >= 2 && running >= 1;
  })) << ReadFile(dir_ / "err1.txt");
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  EXPECT_EQ(WaitFor(pid, 10), 128 + SIGKILL);

  // What the dead orchestrator left behind.
  std::map<int64_t, std::string> completed_before;  // trial -> run id
  std::set<std::string> running_before;
  for (const auto& r : AllRuns()) {
    ASSERT_TRUE(r.trial.has_value());
    if (r.status == RunStatus::kCompleted) completed_before[*r.trial] = r.id;
    // Queued: recorded by the scheduler, its trainer not started yet.
    if (r.status == RunStatus::kRunning || r.status == RunStatus::kQueued) {
      running_before.insert(r.id);
    }
  }
  ASSERT_GE(completed_before.size(), 2u);
  ASSERT_GE(running_before.size(), 1u);

  // PR_SET_PDEATHSIG: no trainer outlives its orchestrator.
  auto pids = TrainerPids();
  ASSERT_FALSE(pids.empty());
  for (const auto& [run_id, trainer] : pids) {
    EXPECT_TRUE(WaitUntil(5, [&] { return !Alive(trainer); }))
        << "trainer " << trainer << " of run " << run_id << " survived the orchestrator";
  }

  // The same command again resumes the session.
  auto r = Tune();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Resuming"), std::string::npos) << r.err;

  store::Tune tune = OnlyTune();
  EXPECT_EQ(tune.status, "completed");
  EXPECT_TRUE(tune.finished_at.has_value());
  EXPECT_FALSE(tune.best_run_id.empty());
  auto runs = Trials(tune.id);
  std::map<int64_t, std::vector<store::Run>> by_trial;
  for (const auto& run : runs) {
    ASSERT_TRUE(run.trial.has_value());
    by_trial[*run.trial].push_back(run);
  }
  ASSERT_EQ(by_trial.size(), 8u);
  for (int64_t n = 0; n < 8; ++n) {
    ASSERT_TRUE(by_trial.count(n)) << "trial " << n << " never ran";
    int completed = 0;
    for (const auto& run : by_trial[n]) {
      if (run.status == RunStatus::kCompleted) {
        ++completed;
        EXPECT_EQ(MetricCount(run.id, "acc"), 5u) << "run " << run.id << " trial " << n;
        auto series = Store()->GetMetricSeries(run.id, "acc");
        std::set<int64_t> epochs;
        for (const auto& p : *series) epochs.insert(p.epoch.value_or(-1));
        EXPECT_EQ(epochs, (std::set<int64_t>{1, 2, 3, 4, 5})) << "run " << run.id;
      } else {
        EXPECT_TRUE(running_before.count(run.id))
            << "trial " << n << " run " << run.id << " is " << store::ToString(run.status);
      }
    }
    EXPECT_EQ(completed, 1) << "trial " << n;
    EXPECT_EQ(by_trial[n].back().status, RunStatus::kCompleted) << "trial " << n;
    EXPECT_EQ(by_trial[n].back().flags.value("x", 0), n + 1) << "trial " << n;
  }
  // Trials that had completed were not run again.
  for (const auto& [n, id] : completed_before) {
    ASSERT_EQ(by_trial[n].size(), 1u) << "trial " << n << " was re-run";
    EXPECT_EQ(by_trial[n].front().id, id);
  }
  // Interrupted runs are closed as cancelled, and their trials ran again as attempt 2.
  for (const auto& run : runs) {
    if (!running_before.count(run.id)) continue;
    EXPECT_EQ(run.status, RunStatus::kCancelled) << run.id;
    EXPECT_NE(run.error.find("interrupted"), std::string::npos) << run.error;
    EXPECT_TRUE(run.finished_at.has_value());
    EXPECT_EQ(by_trial[*run.trial].back().attempt, run.attempt + 1);
  }

  auto list = RunOrchard(home(), {"tunes"}, dir_.path());
  ASSERT_EQ(list.exit_code, 0) << list.err;
  size_t at = list.out.find(tune.id), count = 0;
  while (at != std::string::npos) {
    ++count;
    at = list.out.find(tune.id, at + 1);
  }
  EXPECT_EQ(count, 1u) << list.out;
}

// Nothing a trainer prints is lost when its orchestrator dies: its output
// goes to journal files it writes itself, and resuming ingests whatever the
// store had not committed, including lines printed after the orchestrator
// was killed (this trainer ignores the SIGTERM its death sends).
TEST_F(TuneResume, OutputPrintedAfterTheOrchestratorDiedIsRecovered) {
  WriteScript(dir_ / "train.sh", R"(#!/bin/sh
trap '' TERM
i=1
while [ $i -le 30 ]; do
  echo "@orchard {\"step\": $i, \"acc\": 0.$i}"
  i=$((i+1))
  sleep 0.05
done
)");
  WriteSpec("command: [./train.sh]\nsearch:\n  x: [1]\n");
  pid_t pid = Spawn(TuneArgv(), dir_.path(), dir_ / "out1.txt", dir_ / "err1.txt");
  ASSERT_TRUE(WaitUntil(20, [&] {
    auto runs = AllRuns();
    return !runs.empty() && MetricCount(runs.front().id, "acc") >= 3;
  })) << ReadFile(dir_ / "err1.txt");
  kill(pid, SIGKILL);
  WaitFor(pid, 10);
  const store::Run interrupted = AllRuns().front();
  ASSERT_TRUE(interrupted.pid.has_value());
  EXPECT_LT(MetricCount(interrupted.id, "acc"), 30u);
  // The trainer outlives its orchestrator and finishes printing.
  ASSERT_TRUE(WaitUntil(20, [&] { return !Alive(static_cast<pid_t>(*interrupted.pid)); }));

  auto r = Tune();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto s = Store();
  auto series = s->GetMetricSeries(interrupted.id, "acc");
  ASSERT_EQ(series->size(), 30u) << "every line the trainer printed is in the store";
  for (int i = 0; i < 30; ++i) EXPECT_EQ((*series)[i].step, i + 1);
  auto run = s->GetRun(interrupted.id);
  EXPECT_EQ(run->status, RunStatus::kCancelled);
  EXPECT_NE(run->error.find("interrupted"), std::string::npos);
}

// Kill -9 while a trial is still being set up: every trial the scheduler
// started must run after resuming. Runs are recorded (queued) before their
// thread starts; a fake nvidia-smi (called while a trial starts, before it is
// marked running) holds one trial in its set-up while the orchestrator is
// killed. Regression: trial numbers were handed out before the run was
// recorded, so a trial could be skipped by the resumed session.
TEST_F(TuneResume, KillDuringStartupDoesNotLoseATrial) {
  std::filesystem::create_directories(dir_ / "bin");
  WriteScript(dir_ / "bin/nvidia-smi", R"(#!/bin/sh
S=)" + state() + R"(/smi
if mkdir "$S-first" 2>/dev/null; then
  i=0
  while [ $i -lt 100 ] && [ ! -e "$S-release" ]; do sleep 0.05; i=$((i+1)); done
fi
exit 9
)");
  WriteScript(dir_ / "train.sh", R"(#!/bin/sh
echo "@orchard {\"epoch\": 1, \"acc\": 0.5}"
sleep 0.2
)");
  WriteSpec(R"(command: [./train.sh]
search:
  x: [1, 2, 3, 4]
resources: {concurrency: 2}
)");
  const std::string old_path = getenv("PATH");
  const std::string path = (dir_ / "bin") + ":" + old_path;
  setenv("PATH", path.c_str(), 1);
  pid_t pid = Spawn(TuneArgv(), dir_.path(), dir_ / "out1.txt", dir_ / "err1.txt");
  setenv("PATH", old_path.c_str(), 1);
  // Both trials are on record and one of them is held in its set-up.
  bool held = WaitUntil(20, [&] {
    return AllRuns().size() >= 2 && std::filesystem::exists(state() + "/smi-first");
  });
  kill(pid, SIGKILL);
  WaitFor(pid, 10);
  std::ofstream(state() + "/smi-release") << "";
  ASSERT_TRUE(held) << ReadFile(dir_ / "err1.txt");
  int unstarted = 0;
  for (const auto& run : AllRuns()) unstarted += run.status == RunStatus::kQueued;
  EXPECT_GE(unstarted, 1) << "the kill should land while a trial is still queued";

  auto r = Tune();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  store::Tune tune = OnlyTune();
  EXPECT_EQ(tune.status, "completed");
  std::map<int64_t, int> completed;
  for (const auto& run : Trials(tune.id)) {
    if (run.status == RunStatus::kCompleted) ++completed[*run.trial];
  }
  for (int64_t n = 0; n < 4; ++n) {
    EXPECT_EQ(completed[n], 1) << "trial " << n << " (x=" << n + 1 << ") after resuming:\n"
                               << r.err;
  }
}

// `--resume` when there is nothing to resume must not start a new session
// and run every trial again.
TEST_F(TuneResume, ResumeWithNothingUnfinishedRunsNothing) {
  WriteScript(dir_ / "train.sh", "#!/bin/sh\necho \"@orchard {\\\"acc\\\": 1}\"\n");
  WriteSpec("command: [./train.sh]\nsearch:\n  x: [1, 2]\n");
  auto r = Tune();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(AllRuns().size(), 2u);
  auto again = Tune({"--resume"});
  EXPECT_EQ(Tunes().size(), 1u) << "--resume started a new session:\n" << again.err;
  EXPECT_EQ(AllRuns().size(), 2u) << "--resume ran the trials again";
}

TEST_F(TuneResume, ASecondOrchestratorCannotDriveARunningSession) {
  WriteScript(dir_ / "train.sh", R"(#!/bin/sh
i=0
while [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
)");
  WriteSpec("command: [./train.sh]\nsearch:\n  x: [1, 2]\n");
  // A session that is still running, then a second `orchard tune` of the same spec.
  pid_t pid = Spawn(TuneArgv(), dir_.path(), dir_ / "out1.txt", dir_ / "err1.txt");
  ASSERT_TRUE(WaitUntil(20, [&] {
    auto runs = AllRuns();
    return !runs.empty() && runs.front().pid.has_value();
  }));
  auto second = Tune({}, 30);
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.err.find("another orchard"), std::string::npos) << second.err;
  EXPECT_EQ(AllRuns().size(), 1u) << "the second orchestrator ran nothing";
  kill(pid, SIGINT);
  EXPECT_EQ(WaitFor(pid, 20), 130) << ReadFile(dir_ / "err1.txt");
}

TEST_F(TuneCancel, CtrlCStopsEveryTrialGracefully) {
  WriteScript(dir_ / "long.sh", R"(#!/bin/sh
trap 'echo "@orchard {\"checkpointed\": 1}"; exit 0' TERM
n=300
[ -e )" + state() + R"(/fast ] && n=3
i=1
while [ $i -le $n ]; do
  echo "@orchard {\"epoch\": $i, \"acc\": 0.5}"
  i=$((i+1))
  sleep 0.1 &
  wait $!
done
)");
  WriteSpec(R"(command: [./long.sh]
search:
  x: [1, 2, 3]
resources: {concurrency: 2}
)");
  pid_t pid = Spawn(TuneArgv(), dir_.path(), dir_ / "out1.txt", dir_ / "err1.txt");
  // Two trials running, each past its trap (it has reported a metric).
  ASSERT_TRUE(WaitUntil(30, [&] {
    auto runs = AllRuns();
    int ready = 0;
    for (const auto& r : runs) {
      ready += r.status == RunStatus::kRunning && MetricCount(r.id, "acc") >= 2;
    }
    return ready >= 2;
  })) << ReadFile(dir_ / "err1.txt");
  ASSERT_EQ(kill(pid, SIGINT), 0);
  int code = WaitFor(pid, 30);
  std::string err = ReadFile(dir_ / "err1.txt");
  EXPECT_EQ(code, 130) << err;
  EXPECT_NE(err.find("--resume"), std::string::npos) << err;

  store::Tune tune = OnlyTune();
  EXPECT_EQ(tune.status, "cancelled");
  auto runs = Trials(tune.id);
  ASSERT_EQ(runs.size(), 2u) << "the third trial never started";
  std::set<std::string> cancelled;
  for (const auto& run : runs) {
    EXPECT_EQ(run.status, RunStatus::kCancelled) << run.id;
    EXPECT_EQ(run.exit_code, 0) << "the trainer caught SIGTERM and exited cleanly";
    EXPECT_EQ(MetricCount(run.id, "checkpointed"), 1u)
        << "the report the trap sent after SIGTERM is kept";
    cancelled.insert(run.id);
  }

  // --resume finishes it: the cancelled trials run again, the third for the first time.
  std::ofstream(state() + "/fast") << "";
  auto r = Tune({"--resume"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  tune = OnlyTune();
  EXPECT_EQ(tune.status, "completed");
  std::map<int64_t, int> completed;
  for (const auto& run : Trials(tune.id)) {
    if (cancelled.count(run.id)) {
      EXPECT_EQ(run.status, RunStatus::kCancelled);
      continue;
    }
    EXPECT_EQ(run.status, RunStatus::kCompleted) << run.error;
    EXPECT_EQ(MetricCount(run.id, "acc"), 3u);
    ++completed[*run.trial];
  }
  EXPECT_EQ(completed, (std::map<int64_t, int>{{0, 1}, {1, 1}, {2, 1}}));
}

TEST_F(TuneCancel, SigtermStopsTheSessionLikeCtrlC) {
  WriteScript(dir_ / "long.sh", R"(#!/bin/sh
trap 'exit 0' TERM
i=0
while [ $i -lt 300 ]; do
  echo "@orchard {\"epoch\": $i, \"acc\": 0.5}"
  i=$((i+1))
  sleep 0.1 &
  wait $!
done
)");
  WriteSpec("command: [./long.sh]\nsearch:\n  x: [1, 2]\n");
  pid_t pid = Spawn(TuneArgv(), dir_.path(), dir_ / "out1.txt", dir_ / "err1.txt");
  ASSERT_TRUE(WaitUntil(30, [&] {
    auto runs = AllRuns();
    return !runs.empty() && MetricCount(runs.front().id, "acc") >= 1;
  }));
  kill(pid, SIGTERM);
  EXPECT_EQ(WaitFor(pid, 30), 130) << ReadFile(dir_ / "err1.txt");
  store::Tune tune = OnlyTune();
  EXPECT_EQ(tune.status, "cancelled");
  auto runs = Trials(tune.id);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, RunStatus::kCancelled);
}

}  // namespace
}  // namespace orchard::testing
