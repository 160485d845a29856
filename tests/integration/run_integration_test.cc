// `orchard run` end to end: real trainer processes, a real SQLite store.
#include <signal.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "orchestrator/store/sqlite_run_store.h"
#include "orchestrator/util/sha256.h"
#include "tests/integration/test_util.h"

namespace orchard::testing {
namespace {

using store::RunStatus;

class RunTest : public ::testing::Test {
 protected:
  std::string home() const { return dir_ / ".orchard"; }

  std::unique_ptr<store::SqliteRunStore> Store() {
    auto s = store::SqliteRunStore::Open(home() + "/orchard.db");
    EXPECT_TRUE(s.ok()) << s.status().message();
    return std::move(s).value();
  }

  store::Run OnlyRun() {
    auto s = Store();
    auto runs = s->ListRuns({});
    EXPECT_TRUE(runs.ok());
    EXPECT_EQ(runs->size(), 1u);
    return runs->empty() ? store::Run{} : runs->front();
  }

  std::string Logs(const std::string& id) {
    std::string all;
    auto logs = Store()->GetLogs(id, 0);
    for (const auto& c : *logs) all += c.text;
    return all;
  }

  TempDir dir_;
};

TEST_F(RunTest, RecordsFlagsMetricsLogsArtifactsAndCode) {
  WriteScript(dir_ / "train.sh", R"(#!/bin/sh
echo "args: $*"
echo "env: $ORCHARD_RUN_ID $ORCHARD_SEED"
echo "@orchard {\"step\": 1, \"epoch\": 1, \"loss\": 0.5, \"val_acc\": 0.7}"
echo "@orchard {\"step\": 2, \"epoch\": 2, \"loss\": 0.25, \"val_acc\": 0.9}"
echo "@orchard {\"loss\": 0.125}"
echo "a warning" >&2
printf 'weights' > "$ORCHARD_RUN_DIR/model.bin"
)");
  // A bare name=value right after --tag is a flag, not a second tag.
  auto r = RunOrchard(home(), {"run", "--name", "first", "--seed", "42", "--tag", "smoke",
                               "optimizer=adam", "--lr=0.01", "--", "./train.sh", "pos"},
                      dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("args: pos --lr=0.01 --optimizer=adam"), std::string::npos) << r.out;

  store::Run run = OnlyRun();
  EXPECT_EQ(run.status, RunStatus::kCompleted);
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.name, "first");
  EXPECT_EQ(run.seed, 42);
  EXPECT_EQ(run.flags["lr"], 0.01);
  EXPECT_EQ(run.flags["optimizer"], "adam");
  EXPECT_EQ(run.command, (std::vector<std::string>{"./train.sh", "pos"}));
  EXPECT_EQ(run.tags, (std::vector<std::string>{"smoke"}));
  ASSERT_TRUE(run.started_at && run.finished_at);
  EXPECT_LE(*run.started_at, *run.finished_at);
  EXPECT_FALSE(run.env["host"].is_null());

  auto s = Store();
  auto loss = s->GetMetricSeries(run.id, "loss");
  ASSERT_TRUE(loss.ok());
  ASSERT_EQ(loss->size(), 3u);
  EXPECT_EQ((*loss)[0].step, 1);
  EXPECT_EQ((*loss)[0].epoch, 1);
  EXPECT_EQ((*loss)[2].step, 3);  // no step given: the one after the last
  EXPECT_DOUBLE_EQ((*loss)[2].value, 0.125);
  auto summary = s->GetMetricSummaries(run.id);
  ASSERT_EQ(summary->size(), 2u);
  EXPECT_EQ((*summary)[1].name, "val_acc");
  EXPECT_DOUBLE_EQ((*summary)[1].max, 0.9);
  EXPECT_EQ((*summary)[0].count, 3);

  std::string logs = Logs(run.id);
  EXPECT_NE(logs.find("env: " + run.id + " 42"), std::string::npos) << logs;
  EXPECT_NE(logs.find("a warning"), std::string::npos);
  EXPECT_EQ(logs.find("@orchard {\"step\": 1"), std::string::npos) << "metric lines are not log";

  auto artifacts = s->GetArtifacts(run.id);
  ASSERT_EQ(artifacts->size(), 1u);
  EXPECT_EQ((*artifacts)[0].path, "model.bin");
  EXPECT_EQ((*artifacts)[0].size, 7);
  EXPECT_EQ((*artifacts)[0].sha256, Sha256Hex("weights"));

  ASSERT_FALSE(run.snapshot_id.empty());
  auto snap = s->GetSnapshot(run.snapshot_id, true);
  ASSERT_TRUE(snap.ok());
  bool has_script = false;
  for (const auto& f : snap->files) has_script |= f.path == "train.sh";
  EXPECT_TRUE(has_script);
}

TEST_F(RunTest, CrashIsRecordedAsFailedWithExitCodeAndStderrTail) {
  WriteScript(dir_ / "crash.sh", R"(#!/bin/sh
echo "@orchard {\"step\": 1, \"loss\": 2.0}"
echo "Traceback: CUDA out of memory" >&2
exit 3
)");
  auto r = RunOrchard(home(), {"run", "--", "./crash.sh"}, dir_.path());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  store::Run run = OnlyRun();
  EXPECT_EQ(run.status, RunStatus::kFailed);
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_NE(run.error.find("CUDA out of memory"), std::string::npos) << run.error;
  auto loss = Store()->GetMetricSeries(run.id, "loss");
  EXPECT_EQ(loss->size(), 1u) << "metrics reported before the crash are kept";
}

TEST_F(RunTest, KilledBySignalIsFailedWithTheSignal) {
  WriteScript(dir_ / "segv.sh", "#!/bin/sh\necho started\nkill -SEGV $$\n");
  auto r = RunOrchard(home(), {"run", "--", "./segv.sh"}, dir_.path());
  EXPECT_EQ(r.exit_code, 1);
  store::Run run = OnlyRun();
  EXPECT_EQ(run.status, RunStatus::kFailed);
  EXPECT_EQ(run.exit_code, 128 + SIGSEGV);
  EXPECT_NE(run.error.find("SIGSEGV"), std::string::npos) << run.error;
}

TEST_F(RunTest, MissingCommandIsAFailedRunWithAClearMessage) {
  auto r = RunOrchard(home(), {"run", "--", "no-such-trainer-xyz"}, dir_.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("command not found: no-such-trainer-xyz"), std::string::npos) << r.err;
  store::Run run = OnlyRun();
  EXPECT_EQ(run.status, RunStatus::kFailed);
  EXPECT_EQ(run.exit_code, 127);
}

TEST_F(RunTest, CtrlCStopsTheTrainerGracefullyAndRecordsCancelled) {
  WriteScript(dir_ / "long.sh", R"(#!/bin/sh
trap 'echo "@orchard {\"checkpointed\": 1}"; exit 0' TERM
i=0
while [ $i -lt 600 ]; do
  echo "@orchard {\"step\": $i, \"loss\": 1}"
  i=$((i+1))
  sleep 0.1 &
  wait $!
done
)");
  pid_t pid = Spawn({ORCHARD_BINARY, "--home", home(), "run", "--", "./long.sh"}, dir_.path(),
                    dir_ / "out.txt", dir_ / "err.txt");
  // Wait until the trainer has reported something, then press Ctrl-C.
  ASSERT_TRUE(WaitUntil(30, [&] {
    std::error_code ec;
    if (!std::filesystem::exists(home() + "/orchard.db", ec)) return false;
    auto s = store::SqliteRunStore::Open(home() + "/orchard.db");
    if (!s.ok()) return false;
    auto runs = (*s)->ListRuns({});
    if (!runs.ok() || runs->empty()) return false;
    auto m = (*s)->GetMetricSummaries(runs->front().id);
    return m.ok() && !m->empty() && m->front().count >= 3;
  }));
  kill(pid, SIGINT);
  int code = WaitFor(pid, 30);
  EXPECT_EQ(code, 130) << ReadFile(dir_ / "err.txt");
  store::Run run = OnlyRun();
  EXPECT_EQ(run.status, RunStatus::kCancelled);
  EXPECT_EQ(run.exit_code, 0) << "the trainer caught SIGTERM and exited cleanly";
  auto summary = Store()->GetMetricSummaries(run.id);
  bool checkpointed = false;
  for (const auto& m : *summary) checkpointed |= m.name == "checkpointed";
  EXPECT_TRUE(checkpointed) << "the trainer's last report, sent after SIGTERM, is kept";
}

TEST_F(RunTest, BinaryGarbageAndMalformedLinesAreKeptAsLogText) {
  WriteScript(dir_ / "garbage.sh", R"(#!/bin/sh
echo "@orchard {\"step\": 1, \"loss\": 1.5}"
head -c 200000 /dev/urandom
echo
echo "@orchard {\"step\": 2, \"loss\": "
echo "@orchard [1, 2]"
printf '@orchard {"step": 3, "loss": 0.5}\n'
printf 'tail without newline'
)");
  auto r = RunOrchard(home(), {"run", "--quiet", "--", "./garbage.sh"}, dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  store::Run run = OnlyRun();
  EXPECT_EQ(run.status, RunStatus::kCompleted);
  auto loss = Store()->GetMetricSeries(run.id, "loss");
  ASSERT_GE(loss->size(), 2u);
  EXPECT_DOUBLE_EQ(loss->front().value, 1.5);
  EXPECT_DOUBLE_EQ(loss->back().value, 0.5);
  std::string logs = Logs(run.id);
  EXPECT_NE(logs.find("@orchard {\"step\": 2, \"loss\": "), std::string::npos);
  EXPECT_NE(logs.find("@orchard [1, 2]"), std::string::npos);
  EXPECT_NE(logs.find("tail without newline"), std::string::npos);
  EXPECT_NE(logs.find("malformed metric line"), std::string::npos);
  // Everything stored is valid UTF-8 (JSON output would throw otherwise).
  EXPECT_NO_THROW((void)nlohmann::json(logs).dump());
}

TEST_F(RunTest, UnknownOrBadArgumentsAreUsageErrors) {
  auto r = RunOrchard(home(), {"run", "--lr=0.1"}, dir_.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no trainer command"), std::string::npos) << r.err;
  r = RunOrchard(home(), {"run", "--lr=1", "--lr=2", "--", "true"}, dir_.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--lr is given twice"), std::string::npos) << r.err;
  r = RunOrchard(home(), {"rnu"}, dir_.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("did you mean 'run'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace orchard::testing

namespace orchard::testing {
namespace {

// Regression: the second run of unchanged code found its snapshot already
// stored, left that SELECT open, and its final write failed with "database
// is locked" (SQLITE_BUSY_SNAPSHOT) after the writer connection committed.
TEST(RunRegression, SecondRunOfTheSameCodeRecordsItsEnd) {
  TempDir dir;
  WriteScript(dir / "t.sh", "#!/bin/sh\necho '@orchard {\"loss\": 1}'\n");
  for (int i = 0; i < 3; ++i) {
    auto r = RunOrchard(dir / ".orchard", {"run", "--", "./t.sh"}, dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  auto s = store::SqliteRunStore::Open(dir / ".orchard/orchard.db");
  auto runs = (*s)->ListRuns({});
  ASSERT_EQ(runs->size(), 3u);
  for (const auto& run : *runs) {
    EXPECT_EQ(run.status, store::RunStatus::kCompleted);
    EXPECT_EQ(run.snapshot_id, runs->front().snapshot_id);
  }
}

}  // namespace
}  // namespace orchard::testing
