#include "orchestrator/remote/slurm_parse.h"
#include "orchestrator/remote/ssh_process.h"

#include <gtest/gtest.h>

namespace orchard::remote {
namespace {

using Kind = SlurmLine::Kind;

TEST(SlurmParse, SrunQueueLinesNameTheJob) {
  SlurmLine q = ParseSlurmLine("srun: job 8 queued and waiting for resources");
  EXPECT_EQ(q.kind, Kind::kQueued);
  EXPECT_EQ(q.job, "8");
  SlurmLine a = ParseSlurmLine("srun: job 8 has been allocated resources\n");
  EXPECT_EQ(a.kind, Kind::kAllocated);
  EXPECT_EQ(a.job, "8");
  EXPECT_EQ(ParseSlurmLine("srun: job x queued and waiting for resources").job, "");
}

TEST(SlurmParse, WrapperLinesGiveJobNodeAndGpus) {
  SlurmLine s = ParseSlurmLine("orchard-slurm: job=118 step=0 node=gpu07 gpus=2,3");
  EXPECT_EQ(s.kind, Kind::kStarted);
  EXPECT_EQ(s.job, "118");
  EXPECT_EQ(s.node, "gpu07");
  EXPECT_EQ(s.gpus, "2,3");
  SlurmLine none = ParseSlurmLine("orchard-slurm: job=118_4 jobid=121 node=n1 gpus=");
  EXPECT_EQ(none.kind, Kind::kStarted);
  EXPECT_EQ(none.job, "118_4");
  EXPECT_EQ(none.jobid, "121");
  EXPECT_EQ(none.gpus, "");
  SlurmLine uuid = ParseSlurmLine("orchard-slurm: job=9 step=0 node=n1 gpus=GPU-8f1c,MIG-2");
  EXPECT_EQ(uuid.gpus, "GPU-8f1c,MIG-2");
  SlurmLine exit = ParseSlurmLine("orchard-slurm: exit=143");
  EXPECT_EQ(exit.kind, Kind::kExit);
  EXPECT_EQ(exit.code, 143);
  EXPECT_EQ(ParseSlurmLine("orchard-slurm: exit=x").kind, Kind::kOther);
  EXPECT_EQ(ParseSlurmLine("  orchard-slurm: job=1").kind, Kind::kOther) << "only at a line start";
  EXPECT_EQ(ParseSlurmLine("@orchard {\"step\": 1}").kind, Kind::kOther);
}

TEST(SlurmParse, HowSlurmEndedAJobFromItsStderr) {
  SlurmLine nf = ParseSlurmLine("srun: error: Node failure on orchard1");
  EXPECT_EQ(nf.kind, Kind::kNodeFailure);
  EXPECT_EQ(nf.node, "orchard1");
  SlurmLine nf2 = ParseSlurmLine(
      "slurmstepd-orchard1: error: *** STEP 13.0 ON orchard1 CANCELLED AT 2026-12-02T16:39:58 DUE "
      "TO NODE FAILURE, SEE SLURMCTLD LOG FOR DETAILS ***");
  EXPECT_EQ(nf2.kind, Kind::kNodeFailure);
  EXPECT_EQ(nf2.job, "13");
  EXPECT_EQ(nf2.node, "orchard1");
  EXPECT_EQ(ParseSlurmLine("slurmstepd: error: *** JOB 77 ON n3 CANCELLED AT 2026-01-01T00:00:00 "
                           "DUE TO TIME LIMIT ***").kind,
            Kind::kTimeLimit);
  EXPECT_EQ(ParseSlurmLine("slurmstepd: error: *** JOB 77 ON n3 CANCELLED AT 2026-01-01T00:00:00 "
                           "DUE TO PREEMPTION ***").kind,
            Kind::kPreempted);
  SlurmLine c = ParseSlurmLine(
      "slurmstepd-orchard1: error: *** STEP 11.0 ON orchard1 CANCELLED AT 2026-12-02T16:39:32 ***");
  EXPECT_EQ(c.kind, Kind::kCancelled);
  EXPECT_EQ(c.job, "11");
  EXPECT_EQ(ParseSlurmLine("slurmstepd: error: Detected 1 oom_kill event in StepId=5.0. Some of "
                           "your processes may have been killed by the cgroup out-of-memory "
                           "handler.").kind,
            Kind::kOutOfMemory);
  EXPECT_EQ(ParseSlurmLine("srun: error: orchard1: task 0: Exited with exit code 3").kind,
            Kind::kOther);
  EXPECT_EQ(ParseSlurmLine("my trainer says *** CANCELLED AT noon").kind, Kind::kOther)
      << "a trainer's own text is not Slurm's";
}

TEST(SlurmParse, SqueueLinesWithWaitStatuses) {
  auto jobs = ParseSqueue(
      "11|CANCELLED|None|36608|\n"
      "3|FAILED|NonZeroExitCode|768|\n"
      "13|NODE_FAIL|NodeDown|0|\n"
      "14_2|PENDING|Resources|0|\n"
      "15|FAILED|None|9|\n"
      "slurm_load_jobs error: Invalid job id specified\n"
      "\n");
  ASSERT_EQ(jobs.size(), 5u);
  EXPECT_EQ(jobs[0].id, "11");
  EXPECT_EQ(jobs[0].state, "CANCELLED");
  EXPECT_EQ(jobs[0].exit_code, 143);
  EXPECT_EQ(jobs[1].exit_code, 3);
  EXPECT_EQ(jobs[2].reason, "NodeDown");
  EXPECT_EQ(jobs[3].id, "14_2");
  EXPECT_EQ(jobs[3].state, "PENDING");
  EXPECT_EQ(jobs[4].exit_code, 128 + 9) << "killed by SIGKILL";
}

TEST(SlurmParse, SacctLinesSkipStepsAndReadExitCodeSignal) {
  auto jobs = ParseSacct(
      "118|CANCELLED by 0|0:15\n"
      "118.batch|CANCELLED|0:15\n"
      "119_3|TIMEOUT|0:0\n"
      "120|COMPLETED|2:0\n");
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].state, "CANCELLED");
  EXPECT_EQ(jobs[0].exit_code, 143);
  EXPECT_EQ(jobs[1].id, "119_3");
  EXPECT_EQ(jobs[1].state, "TIMEOUT");
  EXPECT_EQ(jobs[2].exit_code, 2);
}

TEST(SlurmParse, SbatchParsableId) {
  EXPECT_EQ(ParseSbatchId("118\n"), "118");
  EXPECT_EQ(ParseSbatchId("118;orchard\n"), "118");
  EXPECT_EQ(ParseSbatchId("sbatch: warning: something\n119\n"), "119");
  EXPECT_EQ(ParseSbatchId("sbatch: error: Batch job submission failed: Invalid partition"),
            std::nullopt);
  EXPECT_EQ(ParseSbatchId(""), std::nullopt);
}

TEST(SlurmParse, SinfoDescribesThePartition) {
  const char* out = "gpu*|up|3|gpu:4\ngpu*|up|2|gpu:a100:8\ncpu|up|40|(null)\n";
  EXPECT_EQ(DescribePartition(out, ""),
            "slurm partition gpu (the default), 5 nodes, gres gpu:4,gpu:a100:8");
  EXPECT_EQ(DescribePartition(out, "cpu"), "slurm partition cpu, 40 nodes");
  EXPECT_EQ(DescribePartition(out, "gp"), std::nullopt);
  EXPECT_EQ(DescribePartition("cpu|up|40|(null)\n", ""), std::nullopt) << "no default partition";
}

TEST(SlurmParse, FinalStates) {
  for (const char* s : {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED",
                        "BOOT_FAIL", "OUT_OF_MEMORY", "DEADLINE"}) {
    EXPECT_TRUE(IsFinalState(s)) << s;
  }
  for (const char* s : {"PENDING", "RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED", ""}) {
    EXPECT_FALSE(IsFinalState(s)) << s;
  }
}

TEST(SlurmParse, LostJobsAndClearReasons) {
  // srun exits 0 when the node fails: the state decides.
  exec::ExitInfo nf = ExitFromState({"13", "NODE_FAIL", "NodeDown", 0}, 0);
  EXPECT_NE(nf.lost.find("slurm job 13: its node failed (NODE_FAIL, NodeDown)"), std::string::npos)
      << nf.lost;
  EXPECT_FALSE(ExitFromState({"5", "PREEMPTED", "", {}}, 0).lost.empty());
  EXPECT_FALSE(ExitFromState({"5", "BOOT_FAIL", "", {}}, std::nullopt).lost.empty());

  exec::ExitInfo to = ExitFromState({"7", "TIMEOUT", "", 0}, 0);
  EXPECT_TRUE(to.lost.empty());
  EXPECT_NE(to.exit_code, 0) << "a job Slurm ended is no success";
  EXPECT_NE(to.Describe().find("slurm job 7 reached its time limit (TIMEOUT"), std::string::npos)
      << to.Describe();
  exec::ExitInfo oom = ExitFromState({"8", "OUT_OF_MEMORY", "", 137}, std::nullopt);
  EXPECT_EQ(oom.exit_code, 137);
  EXPECT_NE(oom.detail.find("ran out of memory"), std::string::npos);
  exec::ExitInfo c = ExitFromState({"9", "CANCELLED", "", 143}, 143);
  EXPECT_NE(c.detail.find("cancelled in Slurm, not by Orchard"), std::string::npos);
  exec::ExitInfo f = ExitFromState({"10", "FAILED", "NonZeroExitCode", 3}, 3);
  EXPECT_EQ(f.exit_code, 3);
  EXPECT_TRUE(f.detail.empty() && f.lost.empty());
  EXPECT_EQ(ExitFromState({"10", "COMPLETED", "", 0}, 0).exit_code, 0);

  EXPECT_FALSE(ExitFromHint(Kind::kNodeFailure, "13", 0).lost.empty());
  EXPECT_NE(ExitFromHint(Kind::kTimeLimit, "7", 143).detail.find("TIMEOUT"), std::string::npos);
}

TEST(SlurmParse, ShellQuoteSurvivesAnyText) {
  EXPECT_EQ(ShQuote("plain"), "'plain'");
  EXPECT_EQ(ShQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShQuote(""), "''");
}

TEST(SlurmParse, ArrayScriptHasOneCasePerTask) {
  exec::JobSpec a, b;
  a.argv = {"/opt/orchard-train", "infer", "--shards=/w/worker-0-1.shards"};
  a.env = {{"ORCHARD_X", "a,b c"}};
  a.cwd = "/proj";
  a.stdout_path = "/w/worker-0-1.stdout";
  a.stderr_path = "/w/worker-0-1.stderr";
  b = a;
  b.argv[2] = "--shards=/w/it's.shards";
  b.stdout_path = "/w/worker-1-1.stdout";
  std::string s = ArrayScript({a, b}, /*cpu_only=*/true);
  EXPECT_EQ(s.rfind("#!/bin/bash\n", 0), 0u);
  EXPECT_NE(s.find("0)\n  cd '/proj' || exit 1\n  out='/w/worker-0-1.stdout'"), std::string::npos)
      << s;
  EXPECT_NE(s.find("1)\n"), std::string::npos);
  EXPECT_NE(s.find("export ORCHARD_X='a,b c'"), std::string::npos);
  EXPECT_NE(s.find("'--shards=/w/it'\\''s.shards'"), std::string::npos);
  EXPECT_NE(s.find("export CUDA_VISIBLE_DEVICES=\n"), std::string::npos);
  EXPECT_NE(s.find("printf 'orchard-slurm: exit=%s\\n'"), std::string::npos);
  EXPECT_EQ(ArrayScript({a}, false).find("CUDA_VISIBLE_DEVICES=\n"), std::string::npos)
      << "with GPUs, Slurm's value stays";
}

}  // namespace
}  // namespace orchard::remote
