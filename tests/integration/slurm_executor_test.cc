// The Slurm executor end to end, against the real single-node Slurm with four
// fake GPUs that tests/fixtures/slurm.sh starts (CTest fixture `slurm`):
// tuning runs whose trials are Slurm jobs (GPUs as Slurm assigns them, time
// in the queue, pruning by SIGTERM through scancel, a job cancelled from
// outside, a node that fails mid-run) and `orchard infer` as one job array.
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "orchestrator/util/sha256.h"
#include "tests/integration/test_util.h"
#include "tests/integration/tune_fixture.h"

namespace orchard::testing {
namespace {

namespace fs = std::filesystem;
using store::RunStatus;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Points Slurm's commands at the fixture's cluster: CTest passes SLURM_CONF;
// run by hand, the build's fixture folder, else the fixture script's default.
::testing::AssertionResult SlurmUp() {
  std::error_code ec;
  if (getenv("SLURM_CONF") == nullptr && fs::exists(ORCHARD_TEST_SLURM_CONF, ec)) {
    setenv("SLURM_CONF", ORCHARD_TEST_SLURM_CONF, 1);
  }
  if (getenv("SLURM_CONF") == nullptr) {
    const std::string script = std::string(ORCHARD_SOURCE_DIR) + "/tests/fixtures/slurm.sh";
    ProcResult env = RunProcess({script, "env"}, "/", 30);
    std::istringstream in(env.out);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("export ", 0) != 0 || line.find('=') == std::string::npos) continue;
      std::string kv = line.substr(7);
      setenv(kv.substr(0, kv.find('=')).c_str(), kv.substr(kv.find('=') + 1).c_str(), 1);
    }
  }
  ProcResult info = RunProcess({"sinfo", "-h", "-o", "%T %G"}, "/", 30);
  if (info.exit_code != 0 || info.out.find("gpu:") == std::string::npos) {
    return ::testing::AssertionFailure()
           << "no Slurm with fake GPUs answers (SLURM_CONF="
           << (getenv("SLURM_CONF") ? getenv("SLURM_CONF") : "unset")
           << "); start it with tests/fixtures/slurm.sh start: " << info.out << info.err;
  }
  return ::testing::AssertionSuccess();
}

class SlurmTune : public TuneFixture {
 protected:
  void SetUp() override {
    if (RunProcess({"sh", "-c", "command -v srun"}, "/", 10).exit_code != 0) {
      GTEST_SKIP() << "Slurm's client commands are not installed";
    }
    ASSERT_TRUE(SlurmUp());
  }

  // What a trainer saw, as it wrote it to the state folder.
  std::string Saw(const std::string& what, const std::string& run_id) {
    return Trim(ReadFile(state() + "/" + what + "-" + run_id));
  }

  // Runs `orchard tune` in the background and returns its pid.
  pid_t SpawnTune(std::vector<std::string> extra = {}) {
    return Spawn(TuneArgv(std::move(extra)), dir_.path(), dir_ / "tune.out", dir_ / "tune.err");
  }

  static std::string Executor() { return "executor: {slurm: {partition: gpu, poll_s: 1}}\n"; }
};

// A trainer that records what Slurm gave it (job, CUDA_VISIBLE_DEVICES,
// SLURM_STEP_GPUS), claims each of its GPUs with an atomic mkdir (sharing
// fails the trial), and waits (bounded) until `barrier` trials run at once.
void WriteGpuTrainer(const std::string& path, const std::string& state, int barrier,
                     double hold_s) {
  WriteScript(path, "#!/bin/sh\nS=" + state + R"SH(
printf '%s' "$CUDA_VISIBLE_DEVICES" > "$S/cvd-$ORCHARD_RUN_ID"
printf '%s' "$SLURM_STEP_GPUS" > "$S/stepgpus-$ORCHARD_RUN_ID"
printf '%s' "$SLURM_JOB_ID" > "$S/job-$ORCHARD_RUN_ID"
got=""
for g in $(echo "$CUDA_VISIBLE_DEVICES" | tr ',' ' '); do
  mkdir "$S/claim-$g" 2>/dev/null || { echo "GPU $g is already in use" >&2; exit 1; }
  got="$got $g"
done
mkdir "$S/running-$ORCHARD_RUN_ID"
i=0
while [ $i -lt 100 ]; do
  [ "$(ls -d "$S"/running-* | wc -l)" -ge )SH" + std::to_string(barrier) + R"SH( ] && break
  sleep 0.05; i=$((i+1))
done
echo "@orchard {\"epoch\": 1, \"overlap\": $(ls -d "$S"/running-* | wc -l)}"
sleep )SH" + std::to_string(hold_s) + R"SH(
rmdir "$S/running-$ORCHARD_RUN_ID"
for g in $got; do rmdir "$S/claim-$g"; done
)SH");
}

TEST_F(SlurmTune, TrialsRunAsSlurmJobsWithTheGpusSlurmAssigns) {
  WriteGpuTrainer(dir_ / "gpu.sh", state(), /*barrier=*/3, /*hold_s=*/0.3);
  WriteSpec("command: [./gpu.sh]\nsearch:\n  x: [1, 2, 3, 4, 5, 6]\n"
            "resources: {gpus_per_trial: 1, concurrency: 3}\n" + Executor());
  auto r = Tune({}, 180);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("on slurm partition gpu"), std::string::npos) << r.out << r.err;
  auto runs = Trials(OnlyTune().id);
  ASSERT_EQ(runs.size(), 6u);
  std::set<std::string> jobs;
  double max_overlap = 0;
  for (const auto& run : runs) {
    ASSERT_EQ(run.status, RunStatus::kCompleted) << run.error << Logs(run.id);
    std::string cvd = Saw("cvd", run.id);
    // Recorded: what the task saw, which is what Slurm assigned (this
    // cluster numbers GRES node-wide: 0..3, not the device files 2..5).
    EXPECT_EQ(run.env.value("cuda_visible_devices", "?"), cvd) << run.env.dump();
    EXPECT_TRUE(cvd == "0" || cvd == "1" || cvd == "2" || cvd == "3") << cvd;
    EXPECT_EQ(Saw("stepgpus", run.id), cvd);
    std::string job = Saw("job", run.id);
    EXPECT_FALSE(job.empty());
    jobs.insert(job);
    EXPECT_NE(Logs(run.id).find("started on slurm: slurm job " + job), std::string::npos)
        << Logs(run.id);
    auto overlap = Store()->GetMetricSeries(run.id, "overlap");
    if (overlap.ok() && !overlap->empty()) {
      max_overlap = std::max(max_overlap, overlap->front().value);
    }
  }
  EXPECT_EQ(jobs.size(), 6u) << "one Slurm job per trial";
  EXPECT_EQ(max_overlap, 3) << "three trials ran at once, each on its own GPU";
}

TEST_F(SlurmTune, TrialsThatDoNotFitWaitInTheQueueAndSaySo) {
  // Four GPUs, two per trial, three at once: the third waits for a pair.
  WriteGpuTrainer(dir_ / "gpu.sh", state(), /*barrier=*/2, /*hold_s=*/3);
  WriteSpec("command: [./gpu.sh]\nsearch:\n  x: [1, 2, 3]\n"
            "resources: {gpus_per_trial: 2, concurrency: 3}\n" + Executor());
  auto r = Tune({}, 180);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string out = r.out + r.err;
  EXPECT_NE(out.find("(queued "), std::string::npos) << out;
  auto runs = Trials(OnlyTune().id);
  ASSERT_EQ(runs.size(), 3u);
  int waited = 0;
  for (const auto& run : runs) {
    ASSERT_EQ(run.status, RunStatus::kCompleted) << run.error << Logs(run.id);
    std::string cvd = Saw("cvd", run.id);
    EXPECT_EQ(std::count(cvd.begin(), cvd.end(), ','), 1) << cvd;
    EXPECT_EQ(run.env.value("cuda_visible_devices", "?"), cvd);
    ASSERT_TRUE(run.started_at.has_value());
    // The start is when the job left the queue, not when it was submitted.
    if (*run.started_at - run.created_at >= 2) ++waited;
    if (Logs(run.id).find("queued and waiting for resources") != std::string::npos) {
      EXPECT_GE(*run.started_at - run.created_at, 1) << "queued, so started late";
    }
  }
  EXPECT_EQ(waited, 1) << "exactly one trial waited for GPUs";
}

TEST_F(SlurmTune, APrunedTrialGetsSigtermThroughSlurmAndKeepsItsMetrics) {
  WriteScript(dir_ / "train.sh", R"SH(#!/bin/sh
for a in "$@"; do case "$a" in --x=*) X=${a#--x=};; esac; done
E=0
on_term() {
  echo "@orchard {\"epoch\": $E, \"checkpointed\": 1}"
  echo "SIGTERM at epoch $E" >&2
  exit 143
}
trap on_term TERM
N=3; [ "$X" = 0.1 ] && N=60
while [ $E -lt $N ]; do
  E=$((E+1))
  echo "@orchard {\"epoch\": $E, \"val_acc\": $X}"
  sleep 0.3
done
)SH");
  WriteSpec("command: [./train.sh]\nsearch:\n  x: [0.9, 0.8, 0.1]\n"
            "objective: {metric: val_acc, goal: max}\n"
            "early_stopping: {method: median, grace: 1, min_trials: 2}\n"
            "resources: {concurrency: 1}\n" + Executor());
  auto r = Tune({}, 180);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto runs = Trials(OnlyTune().id);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].status, RunStatus::kCompleted) << runs[0].error;
  EXPECT_EQ(runs[1].status, RunStatus::kCompleted) << runs[1].error;
  const store::Run& pruned = runs[2];
  EXPECT_EQ(pruned.status, RunStatus::kPruned) << pruned.error << Logs(pruned.id);
  EXPECT_GE(MetricCount(pruned.id, "val_acc"), 1u);
  // Printed by the trainer's SIGTERM handler on the node, after scancel
  // delivered the signal: it checkpointed, and its output still arrived.
  EXPECT_EQ(MetricCount(pruned.id, "checkpointed"), 1u) << Logs(pruned.id);
  EXPECT_NE(Logs(pruned.id).find("SIGTERM at epoch"), std::string::npos) << Logs(pruned.id);
  EXPECT_LT(MetricCount(pruned.id, "val_acc"), 30u) << "stopped long before its 60 epochs";
}

// A trainer that reports once, writes its job id and runs until stopped
// (bounded), unless its flag `quick` is 1; a second attempt ends by itself.
void WriteLongTrainer(const std::string& path, const std::string& state) {
  WriteScript(path, "#!/bin/sh\nS=" + state + R"SH(
for a in "$@"; do case "$a" in --quick=*) Q=${a#--quick=};; esac; done
if [ "$Q" = 1 ]; then echo "@orchard {\"epoch\": 1, \"val\": 1}"; exit 0; fi
A=$(ls "$S" | grep -c '^long-job-')
# A first report, given time to reach the store, before the test may strike.
echo "@orchard {\"epoch\": 0, \"val\": 0}"
sleep 0.5
printf '%s' "$SLURM_JOB_ID" > "$S/long-job-$A"
i=0
while [ $i -lt 300 ]; do
  i=$((i+1))
  [ $A -ge 1 ] && [ $i -ge 5 ] && { echo "@orchard {\"epoch\": $i, \"val\": 2}"; exit 0; }
  echo "@orchard {\"epoch\": $i, \"val\": 0}"
  sleep 0.2
done
exit 3
)SH");
}

// Waits (bounded) for the trainer's first job id.
std::string FirstLongJob(const std::string& state) {
  std::string job;
  WaitUntil(60, [&] {
    std::error_code ec;
    if (!fs::exists(state + "/long-job-0", ec)) return false;
    job = Trim(ReadFile(state + "/long-job-0"));
    return !job.empty();
  });
  return job;
}

TEST_F(SlurmTune, AJobCancelledFromOutsideFailsWithTheReason) {
  WriteLongTrainer(dir_ / "long.sh", state());
  WriteSpec("command: [./long.sh]\nsearch:\n  quick: [0, 1]\n"
            "resources: {concurrency: 2, retries: 0}\n" + Executor());
  pid_t tune = SpawnTune();
  std::string job = FirstLongJob(state());
  ASSERT_FALSE(job.empty()) << ReadFile(dir_ / "tune.err");
  ProcResult cancel = RunProcess({"scancel", job}, "/", 30);
  ASSERT_EQ(cancel.exit_code, 0) << cancel.err;
  ASSERT_EQ(WaitFor(tune, 120), 0) << ReadFile(dir_ / "tune.out") << ReadFile(dir_ / "tune.err");
  auto runs = Trials(OnlyTune().id);
  ASSERT_EQ(runs.size(), 2u);
  const store::Run& cancelled = runs[0].flags.value("quick", 0) == 0 ? runs[0] : runs[1];
  const store::Run& other = runs[0].flags.value("quick", 0) == 0 ? runs[1] : runs[0];
  EXPECT_EQ(other.status, RunStatus::kCompleted) << other.error;
  EXPECT_EQ(cancelled.status, RunStatus::kFailed);
  EXPECT_NE(cancelled.error.find("slurm job " + job + " was cancelled in Slurm, not by Orchard"),
            std::string::npos) << cancelled.error;
  EXPECT_GE(MetricCount(cancelled.id, "val"), 1u) << "what it reported before is kept";
}

TEST_F(SlurmTune, ANodeThatFailsMidRunIsLostAndItsTrialRequeued) {
  WriteLongTrainer(dir_ / "long.sh", state());
  WriteSpec("command: [./long.sh]\nsearch:\n  quick: [0]\n"
            "resources: {concurrency: 1, retries: 0}\n" + Executor());
  pid_t tune = SpawnTune();
  std::string job = FirstLongJob(state());
  ASSERT_FALSE(job.empty()) << ReadFile(dir_ / "tune.err");
  // The controller marks the node DOWN: Slurm kills its jobs as NODE_FAIL.
  // (ReturnToService=2 lets it come back by itself; resume it anyway.)
  ProcResult down = RunProcess({"scontrol", "update", "nodename=orchard1", "state=down",
                                "reason=orchard-test-node-failure"}, "/", 30);
  int code = WaitFor(tune, 120);
  RunProcess({"scontrol", "update", "nodename=orchard1", "state=resume"}, "/", 30);
  ASSERT_EQ(down.exit_code, 0) << down.err;
  ASSERT_EQ(code, 0) << ReadFile(dir_ / "tune.out") << ReadFile(dir_ / "tune.err");
  const std::string out = ReadFile(dir_ / "tune.out") + ReadFile(dir_ / "tune.err");
  EXPECT_NE(out.find("lost on"), std::string::npos) << out;
  auto runs = Trials(OnlyTune().id);
  ASSERT_EQ(runs.size(), 2u) << "the lost attempt and its re-run";
  EXPECT_EQ(runs[0].attempt, 1);
  EXPECT_EQ(runs[0].status, RunStatus::kFailed);
  EXPECT_NE(runs[0].error.find("lost: slurm job " + job + ": its node failed (NODE_FAIL"),
            std::string::npos) << runs[0].error;
  EXPECT_GE(MetricCount(runs[0].id, "val"), 1u) << "what the lost attempt reported is kept";
  EXPECT_EQ(runs[1].attempt, 2);
  EXPECT_EQ(runs[1].status, RunStatus::kCompleted) << runs[1].error << Logs(runs[1].id);
}

// `orchard infer --shards 4 --executor slurm`: one sbatch --array of four
// tasks, each with one GPU from Slurm, whose records merge exactly once. The
// worker is a stand-in that follows the worker protocol (docs/inference.md),
// so that the test needs no libtorch; it logs the array task it ran as.
TEST_F(SlurmTune, InferShardsRunAsOneJobArray) {
  const std::string bundle = dir_ / "bundle";
  fs::create_directories(bundle);
  std::ofstream(bundle + "/model.pt") << "not a model";
  nlohmann::json card = {{"format", "orchard-bundle"}, {"version", 1}, {"classes", {"a", "b"}},
                         {"files", {{"model.pt", {{"sha256", Sha256Hex("not a model")},
                                                  {"bytes", 11}}}}}};
  std::ofstream(bundle + "/bundle.json") << card.dump(2);
  const std::string images = dir_ / "images";
  fs::create_directories(images);
  for (int i = 0; i < 37; ++i) {
    char name[32];
    snprintf(name, sizeof name, "/img-%03d.png", i);
    std::ofstream(images + name) << "png";
  }
  const std::string worker = dir_ / "worker.py";
  WriteScript(worker, "#!/usr/bin/python3\nLOG = '" + state() + "/tasks'\n" + R"SH(
import json, os, sys
args = dict(a[2:].split('=', 1) for a in sys.argv[2:] if a.startswith('--') and '=' in a)
with open(LOG, 'a') as f:
    env = os.environ.get
    f.write('%s %s %s %s\n' % (env('SLURM_ARRAY_JOB_ID'), env('SLURM_ARRAY_TASK_ID'),
                               env('CUDA_VISIBLE_DEVICES', 'unset'), args['device']))
done = 0
for line in open(args['shards']):
    lst, out = line.rstrip('\n').split('\t')
    if os.path.exists(out):
        continue
    with open(out + '.tmp', 'w') as o:
        for inp in open(lst):
            top = [{'label': 'a', 'index': 0, 'prob': 1.0}]
            o.write(json.dumps({'input': inp.rstrip('\n'), 'top': top}) + '\n')
            done += 1
    os.rename(out + '.tmp', out)
    print('@orchard ' + json.dumps({'step': done, 'images': done, 'errors': 0}), flush=True)
)SH");
  ProcResult r = RunOrchard(home(), {"infer", bundle, "--input", images, "--output",
                                     dir_ / "out.jsonl", "--shards", "4", "--executor", "slurm:gpu",
                                     "--worker", worker, "--keep-work"},
                            dir_.path(), 180);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("4 shards, 4 to do on 4 workers (cuda, 1 GPU each, slurm partition gpu"),
            std::string::npos) << r.err;
  // Exactly once, in input order.
  std::istringstream out(ReadFile(dir_ / "out.jsonl"));
  std::vector<std::string> inputs;
  for (std::string line; std::getline(out, line);) {
    inputs.push_back(nlohmann::json::parse(line)["input"]);
  }
  ASSERT_EQ(inputs.size(), 37u);
  for (int i = 0; i < 37; ++i) {
    char name[32];
    snprintf(name, sizeof name, "img-%03d.png", i);
    EXPECT_EQ(inputs[i], name);
  }
  // One array job, tasks 0..3, each with a GPU Slurm assigned.
  std::istringstream tasks(ReadFile(state() + "/tasks"));
  std::set<std::string> arrays, ids;
  for (std::string array, task, cvd, device; tasks >> array >> task >> cvd >> device;) {
    arrays.insert(array);
    ids.insert(task);
    EXPECT_TRUE(cvd == "0" || cvd == "1" || cvd == "2" || cvd == "3") << cvd;
    EXPECT_EQ(device, "cuda");
  }
  EXPECT_EQ(arrays.size(), 1u) << ReadFile(state() + "/tasks");
  EXPECT_EQ(ids, (std::set<std::string>{"0", "1", "2", "3"}));
  const std::string array = *arrays.begin();
  for (int w = 0; w < 4; ++w) {
    std::string err =
        ReadFile(dir_ / ("out.jsonl.parts/worker-" + std::to_string(w) + "-1.stderr"));
    EXPECT_NE(err.find("orchard-slurm: job=" + array + "_" + std::to_string(w)), std::string::npos)
        << err;
    EXPECT_NE(err.find("orchard-slurm: exit=0"), std::string::npos) << err;
  }
}

#ifdef ORCHARD_TRAIN_BINARY
// The same with the real worker (trainer-ON builds): a tiny model trained by
// orchard-train through Slurm (a CPU trial), exported, and run over real PNG
// files as a job array of CPU tasks.
TEST_F(SlurmTune, InferWithTheRealWorkerAsAJobArray) {
  const std::string images = dir_ / "images";
  ProcResult made = RunProcess(
      {"/usr/bin/python3", "-c",
       "import gzip, os, sys\n"
       "import numpy as np\n"
       "from PIL import Image\n"
       "src, out = '/usr/share/datasets/fashion-mnist', sys.argv[1]\n"
       "px = gzip.open(os.path.join(src, 't10k-images-idx3-ubyte.gz')).read()\n"
       "lab = gzip.open(os.path.join(src, 't10k-labels-idx1-ubyte.gz')).read()[8:]\n"
       "ims = np.frombuffer(px, np.uint8, offset=16).reshape(-1, 28, 28)\n"
       "for i in range(120):\n"
       "    d = os.path.join(out, f'class-{lab[i]}')\n"
       "    os.makedirs(d, exist_ok=True)\n"
       "    Image.fromarray(ims[i]).save(os.path.join(d, f'{i:04d}.png'))\n",
       images},
      dir_.path());
  ASSERT_EQ(made.exit_code, 0) << made.err;
  WriteSpec(std::string("command: [") + ORCHARD_TRAIN_BINARY + ", finetune]\n" +
            "flags: {data: " + images + ", pretrained: false, labels_per_class: 4, "
            "val_per_class: 2, image_size: 64, epochs: 1, threads: 1, seed: 3}\n" + Executor());
  auto trained = Tune({}, 300);
  ASSERT_EQ(trained.exit_code, 0) << trained.out << trained.err;
  auto runs = Trials(OnlyTune().id);
  ASSERT_EQ(runs.size(), 1u);
  ProcResult exported = RunOrchard(home(), {"export", runs[0].id, "--output", dir_ / "bundle"},
                                   dir_.path());
  ASSERT_EQ(exported.exit_code, 0) << exported.out << exported.err;
  ProcResult r = RunOrchard(home(), {"infer", dir_ / "bundle", "--input", images, "--output",
                                     dir_ / "out.jsonl", "--shards", "4", "--executor", "slurm:gpu",
                                     "--cpu", "--worker", ORCHARD_TRAIN_BINARY, "--keep-work"},
                            dir_.path(), 300);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::istringstream out(ReadFile(dir_ / "out.jsonl"));
  std::set<std::string> inputs;
  size_t records = 0;
  for (std::string line; std::getline(out, line); ++records) {
    auto rec = nlohmann::json::parse(line);
    EXPECT_FALSE(rec.contains("error")) << line;
    inputs.insert(rec["input"].get<std::string>());
  }
  EXPECT_EQ(records, 120u);
  EXPECT_EQ(inputs.size(), 120u) << "each input exactly once";
  std::set<std::string> arrays;
  for (int w = 0; w < 4; ++w) {
    std::string err =
        ReadFile(dir_ / ("out.jsonl.parts/worker-" + std::to_string(w) + "-1.stderr"));
    auto at = err.find("orchard-slurm: job=");
    ASSERT_NE(at, std::string::npos) << err;
    arrays.insert(err.substr(at + 19, err.find('_', at) - at - 19));
    EXPECT_NE(err.find("orchard-slurm: exit=0"), std::string::npos) << err;
  }
  EXPECT_EQ(arrays.size(), 1u) << "one job array";
}
#endif

}  // namespace
}  // namespace orchard::testing
