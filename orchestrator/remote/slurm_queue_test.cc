#include "orchestrator/remote/slurm_queue.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace orchard::remote {
namespace {

// A fake squeue: answers from `table`, counts its runs, and records the ids
// asked for.
struct FakeSlurm {
  std::string table;
  int exit_code = 0;
  int runs = 0;
  std::string last_ids;
  SlurmCli Cli() {
    return [this](const std::vector<std::string>& argv, double) -> Result<SlurmCliResult> {
      ++runs;
      for (size_t i = 0; i + 1 < argv.size(); ++i) {
        if (argv[i] == "-j") last_ids = argv[i + 1];
      }
      return SlurmCliResult{exit_code, table};
    };
  }
};

TEST(SlurmQueue, ManyJobsPollingShareOneSqueuePerInterval) {
  FakeSlurm fake;
  fake.table = "";
  for (int j = 0; j < 50; ++j) fake.table += std::to_string(100 + j) + "|RUNNING|None|0|\n";
  double now = 1000;
  SlurmQueue q(fake.Cli(), "squeue", "sacct", /*poll_s=*/5, [&] { return now; });
  for (int j = 0; j < 50; ++j) q.Watch(std::to_string(100 + j));
  // 50 jobs, each polled every 100 ms for 60 s: 30,000 questions.
  for (int tick = 0; tick < 600; ++tick, now += 0.1) {
    for (int j = 0; j < 50; ++j) q.State(std::to_string(100 + j), 990, /*urgent=*/false);
  }
  EXPECT_LE(fake.runs, 13) << "at most one squeue per 5 s for the whole executor";
  EXPECT_GE(fake.runs, 11);
  EXPECT_EQ(q.squeue_runs(), fake.runs);
  EXPECT_NE(fake.last_ids.find("100,101,102"), std::string::npos) << "one query for all jobs";
}

TEST(SlurmQueue, AnEndedJobWaitingForItsStateMayAskOncePerSecond) {
  FakeSlurm fake;
  fake.table = "7|COMPLETING|None|0|\n";
  double now = 1000;
  SlurmQueue q(fake.Cli(), "squeue", "sacct", 5, [&] { return now; });
  q.Watch("7");
  for (int tick = 0; tick < 100; ++tick, now += 0.1) q.State("7", 1000, /*urgent=*/true);
  EXPECT_GE(fake.runs, 9);
  EXPECT_LE(fake.runs, 11);
}

TEST(SlurmQueue, AnswersOnlyFromASqueueRunAfterSince) {
  FakeSlurm fake;
  fake.table = "7|RUNNING|None|0|\n";
  double now = 1000;
  SlurmQueue q(fake.Cli(), "squeue", "sacct", 5, [&] { return now; });
  q.Watch("7");
  auto first = q.State("7", 999, false);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->state, "RUNNING");
  now += 1;
  fake.table = "7|NODE_FAIL|NodeDown|0|\n";
  // The job ended at 1000.5: the answer of 1000 says nothing about it yet.
  EXPECT_FALSE(q.State("7", 1000.5, false).has_value());
  now += 5;
  auto later = q.State("7", 1000.5, false);
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->state, "NODE_FAIL");
}

TEST(SlurmQueue, NothingIsAskedWhenNothingIsWatched) {
  FakeSlurm fake;
  double now = 1000;
  SlurmQueue q(fake.Cli(), "squeue", "sacct", 5, [&] { return now; });
  q.Watch("7");
  q.Unwatch("7");
  for (int i = 0; i < 10; ++i, now += 10) q.State("7", 0, true);
  EXPECT_EQ(fake.runs, 0);
}

TEST(SlurmQueue, AForgottenJobHasAnEmptyStateAndAFailedSqueueKeepsTheLastAnswer) {
  FakeSlurm fake;
  fake.exit_code = 1;
  fake.table = "slurm_load_jobs error: Invalid job id specified\n";
  double now = 1000;
  SlurmQueue q(fake.Cli(), "squeue", "sacct", 5, [&] { return now; });
  q.Watch("7");
  auto gone = q.State("7", 999, false);
  ASSERT_TRUE(gone.has_value());
  EXPECT_EQ(gone->state, "");

  fake.table = "squeue: error: Unable to contact slurm controller (connect failure)\n";
  now += 6;
  EXPECT_FALSE(q.State("7", 1005, false).has_value()) << "no answer is not 'forgotten'";
}

TEST(SlurmQueue, OneLineErrors) {
  EXPECT_EQ(OneLine("sbatch: error: Batch job submission failed:\nInvalid partition\n"),
            "sbatch: error: Batch job submission failed:; Invalid partition");
  EXPECT_EQ(OneLine(std::string(1000, 'x'), 10), "xxxxxxxxxx...");
}

// The array's batch script, run by bash as Slurm would run task 1: it runs
// that task's command in its folder with its environment, appends to its
// journals, and reports the start and the code.
TEST(SlurmQueue, ArrayScriptRunsItsTaskUnderBash) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/orchard-array-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::vector<exec::JobSpec> specs(2);
  for (int i = 0; i < 2; ++i) {
    specs[i].argv = {"/bin/sh", "-c", "echo \"task $T in $(pwd) x=$X\"; echo oops >&2; exit " +
                                          std::to_string(3 + i)};
    specs[i].env = {{"T", std::to_string(i)}, {"X", "a,b 'c'"}};
    specs[i].cwd = dir;
    specs[i].stdout_path = dir + "/out" + std::to_string(i);
    specs[i].stderr_path = dir + "/err" + std::to_string(i);
  }
  std::ofstream(dir + "/job.sh") << ArrayScript(specs, true);
  std::string cmd = "cd / && SLURM_ARRAY_JOB_ID=40 SLURM_ARRAY_TASK_ID=1 SLURM_JOB_ID=44 "
                    "SLURMD_NODENAME=n1 "
                    "CUDA_VISIBLE_DEVICES=7 bash " + dir + "/job.sh";
  int status = system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 4) << status;
  auto read = [](const std::string& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  EXPECT_EQ(read(dir + "/out1"), "task 1 in " + dir + " x=a,b 'c'\n");
  EXPECT_EQ(read(dir + "/err1"),
            "orchard-slurm: job=40_1 jobid=44 node=n1 gpus=\noops\norchard-slurm: exit=4\n");
  EXPECT_FALSE(fs::exists(dir + "/out0"));
  status = system(("SLURM_ARRAY_TASK_ID=9 bash " + dir + "/job.sh 2>/dev/null").c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << "no such task";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace orchard::remote
