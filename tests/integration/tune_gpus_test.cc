// `orchard tune` GPU placement end to end: real trainer processes that claim
// the GPUs they are given (an atomic mkdir per GPU slot), so that any sharing
// the scheduler lets through makes a trial fail.
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "orchestrator/store/sqlite_run_store.h"
#include "tests/integration/test_util.h"
#include "tests/integration/tune_fixture.h"

namespace orchard::testing {
namespace {

using store::RunStatus;

class TuneGpuFixture : public TuneFixture {
 protected:
  // A trainer that claims each GPU in CUDA_VISIBLE_DEVICES with an atomic
  // mkdir (slots a and b when `per_gpu` is 2) and fails if it cannot: a GPU
  // handed to more trials than allowed. It waits (bounded) until `barrier`
  // trials run at once, reports how many it saw as the metric "overlap",
  // holds its GPUs a moment, then releases them.
  void WriteClaimingTrainer(int per_gpu, int barrier) {
    std::string s = state();
    WriteScript(dir_ / "gpu.sh", R"(#!/bin/sh
S=)" + s + R"(
echo "cvd=[$CUDA_VISIBLE_DEVICES]"
printf '%s' "$CUDA_VISIBLE_DEVICES" > "$S/cvd-$ORCHARD_RUN_ID"
got=""
for g in $(echo "$CUDA_VISIBLE_DEVICES" | tr ',' ' '); do
  if mkdir "$S/claim-$g-a" 2>/dev/null; then
    got="$got $g-a"
  elif [ )" + std::to_string(per_gpu) + R"( -ge 2 ] && mkdir "$S/claim-$g-b" 2>/dev/null; then
    got="$got $g-b"
  else
    echo "GPU $g is already in use by another trial" >&2
    exit 1
  fi
done
mkdir "$S/running-$ORCHARD_RUN_ID"
i=0
while [ $i -lt 40 ]; do
  n=$(ls -d "$S"/running-* | wc -l)
  [ "$n" -ge )" + std::to_string(barrier) + R"( ] && break
  sleep 0.05
  i=$((i+1))
done
n=$(ls -d "$S"/running-* | wc -l)
echo "@orchard {\"epoch\": 1, \"overlap\": $n}"
sleep 0.3
rmdir "$S/running-$ORCHARD_RUN_ID"
for c in $got; do rmdir "$S/claim-$c"; done
)");
  }

  struct Seen {
    std::vector<std::vector<std::string>> ids;  // per trial, CUDA_VISIBLE_DEVICES split
    int max_overlap = 0;
  };

  // Checks every trial of the only tune completed, saw the same GPU list in
  // its log and its file, and returns what each saw.
  Seen CheckAllCompleted(size_t trials) {
    Seen seen;
    store::Tune tune = OnlyTune();
    EXPECT_EQ(tune.status, "completed");
    auto runs = Trials(tune.id);
    EXPECT_EQ(runs.size(), trials);
    std::set<int64_t> numbers;
    for (const auto& r : runs) {
      EXPECT_TRUE(r.trial.has_value());
      if (!r.trial) continue;
      numbers.insert(*r.trial);
      std::string logs = Logs(r.id);
      EXPECT_EQ(r.status, RunStatus::kCompleted)
          << "trial " << *r.trial << ": " << r.error << "\n" << logs;
      EXPECT_EQ(r.exit_code, 0);
      EXPECT_EQ(r.attempt, 1);
      std::string cvd = ReadFile(state() + "/cvd-" + r.id);
      EXPECT_NE(logs.find("cvd=[" + cvd + "]"), std::string::npos) << logs;
      std::vector<std::string> ids;
      std::stringstream ss(cvd);
      for (std::string id; std::getline(ss, id, ',');) ids.push_back(id);
      seen.ids.push_back(ids);
      auto overlap = Store()->GetMetricSeries(r.id, "overlap");
      EXPECT_TRUE(overlap.ok() && overlap->size() == 1u);
      if (overlap.ok() && !overlap->empty()) {
        seen.max_overlap = std::max(seen.max_overlap, static_cast<int>(overlap->front().value));
      }
    }
    EXPECT_EQ(numbers.size(), trials) << "each trial number once";
    // Every claim was released: nothing is left holding a GPU.
    for (const auto& e : std::filesystem::directory_iterator(state())) {
      EXPECT_NE(e.path().filename().string().rfind("claim-", 0), 0u) << e.path();
    }
    return seen;
  }

};

class TuneGpus : public TuneGpuFixture {};
class TuneCpu : public TuneGpuFixture {};

TEST_F(TuneGpus, NoGpuIsEverSharedAndEachTrialSeesItsOwn) {
  WriteClaimingTrainer(/*per_gpu=*/1, /*barrier=*/3);
  WriteSpec(R"(command: [./gpu.sh]
search:
  x: [1, 2, 3, 4, 5, 6, 7, 8, 9]
resources: {gpus: ["0", "1", "2"], gpus_per_trial: 1, concurrency: 3}
)");
  auto r = Tune();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Seen seen = CheckAllCompleted(9);
  const std::set<std::string> declared = {"0", "1", "2"};
  for (const auto& ids : seen.ids) {
    ASSERT_EQ(ids.size(), 1u);
    EXPECT_TRUE(declared.count(ids[0])) << ids[0];
  }
  EXPECT_EQ(seen.max_overlap, 3) << "three GPUs, one trial each: three at once";
}

TEST_F(TuneGpus, CliGpusOverrideTheSpecAndConcurrencyIsCappedByGpus) {
  WriteClaimingTrainer(/*per_gpu=*/1, /*barrier=*/2);
  WriteSpec(R"(command: [./gpu.sh]
search:
  x: [1, 2, 3, 4, 5, 6]
resources: {concurrency: 5}
)");
  // --gpus alone implies one GPU per trial; two GPUs allow two trials at once.
  auto r = Tune({"--gpus", "5,7"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Seen seen = CheckAllCompleted(6);
  for (const auto& ids : seen.ids) {
    ASSERT_EQ(ids.size(), 1u);
    EXPECT_TRUE(ids[0] == "5" || ids[0] == "7") << ids[0];
  }
  EXPECT_EQ(seen.max_overlap, 2);
}

TEST_F(TuneGpus, TwoGpusPerTrialNeverOverlap) {
  WriteClaimingTrainer(/*per_gpu=*/1, /*barrier=*/2);
  WriteSpec(R"(command: [./gpu.sh]
search:
  x: [1, 2, 3, 4, 5, 6]
resources: {gpus: [0, 1, 2, 3], gpus_per_trial: 2, concurrency: 4}
)");
  auto r = Tune();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Seen seen = CheckAllCompleted(6);
  const std::set<std::string> declared = {"0", "1", "2", "3"};
  for (const auto& ids : seen.ids) {
    ASSERT_EQ(ids.size(), 2u);
    EXPECT_NE(ids[0], ids[1]) << "two distinct GPUs";
    EXPECT_TRUE(declared.count(ids[0]) && declared.count(ids[1])) << ids[0] << "," << ids[1];
  }
  EXPECT_EQ(seen.max_overlap, 2) << "four GPUs, two per trial: two trials at once";
}

TEST_F(TuneGpus, TrialsPerGpuTwoPutsAtMostTwoTrialsOnAGpu) {
  WriteClaimingTrainer(/*per_gpu=*/2, /*barrier=*/6);
  WriteSpec(R"(command: [./gpu.sh]
search:
  x: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
resources: {gpus: [0, 1, 2], gpus_per_trial: 1, trials_per_gpu: 2, concurrency: 8}
)");
  auto r = Tune();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Seen seen = CheckAllCompleted(12);
  std::map<std::string, int> per_gpu;
  for (const auto& ids : seen.ids) {
    ASSERT_EQ(ids.size(), 1u);
    ++per_gpu[ids[0]];
  }
  EXPECT_EQ(per_gpu.size(), 3u) << "every GPU used";
  // Six slots (3 GPUs x 2) bound the concurrency of 8.
  EXPECT_EQ(seen.max_overlap, 6);
}

TEST_F(TuneGpus, TrialsPerGpuFromTheCommandLine) {
  WriteClaimingTrainer(/*per_gpu=*/2, /*barrier=*/4);
  WriteSpec(R"(command: [./gpu.sh]
search:
  x: [1, 2, 3, 4, 5, 6, 7, 8]
)");
  auto r = Tune({"--gpus", "0,1", "--trials-per-gpu", "2", "--concurrency", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Seen seen = CheckAllCompleted(8);
  for (const auto& ids : seen.ids) {
    ASSERT_EQ(ids.size(), 1u);
    EXPECT_TRUE(ids[0] == "0" || ids[0] == "1") << ids[0];
  }
  EXPECT_EQ(seen.max_overlap, 4);
}

TEST_F(TuneGpus, MoreGpusPerTrialThanDeclaredIsAUsageError) {
  WriteScript(dir_ / "gpu.sh", "#!/bin/sh\nexit 0\n");
  WriteSpec("command: [./gpu.sh]\nsearch:\n  x: [1, 2]\n");
  auto r = Tune({"--gpus", "0,1", "--gpus-per-trial", "3"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("gpus-per-trial"), std::string::npos) << r.err;
  auto dup = Tune({"--gpus", "0,0"});
  EXPECT_EQ(dup.exit_code, 2) << dup.err;
}

// A trainer that says whether CUDA_VISIBLE_DEVICES is set, and to what.
const char kCvdTrainer[] = R"(#!/bin/sh
if [ "${CUDA_VISIBLE_DEVICES+set}" = set ]; then
  echo "cvd=set:[$CUDA_VISIBLE_DEVICES]"
else
  echo "cvd=unset"
fi
)";

// Sets an environment variable for the scope (the orchard child inherits it).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

TEST_F(TuneCpu, CpuTrialsSeeAnEmptyCudaVisibleDevices) {
  // The orchestrator's own CUDA_VISIBLE_DEVICES must not leak into CPU trials.
  ScopedEnv env("CUDA_VISIBLE_DEVICES", "7");
  WriteScript(dir_ / "cpu.sh", kCvdTrainer);
  WriteSpec(R"(command: [./cpu.sh]
search:
  x: [1, 2, 3]
resources: {gpus_per_trial: 0, concurrency: 2}
)");
  auto r = Tune();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  store::Tune tune = OnlyTune();
  auto runs = Trials(tune.id);
  ASSERT_EQ(runs.size(), 3u);
  for (const auto& run : runs) {
    EXPECT_EQ(run.status, RunStatus::kCompleted);
    std::string logs = Logs(run.id);
    EXPECT_NE(logs.find("cvd=set:[]"), std::string::npos) << logs;
  }
}

TEST_F(TuneCpu, GpusPerTrialZeroOnTheCommandLineWinsOverGpus) {
  WriteScript(dir_ / "cpu.sh", kCvdTrainer);
  WriteSpec(R"(command: [./cpu.sh]
search:
  x: [1, 2]
resources: {gpus: [0, 1], gpus_per_trial: 1}
)");
  auto r = Tune({"--gpus-per-trial", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  store::Tune tune = OnlyTune();
  auto runs = Trials(tune.id);
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& run : runs) {
    EXPECT_EQ(run.status, RunStatus::kCompleted);
    std::string logs = Logs(run.id);
    EXPECT_NE(logs.find("cvd=set:[]"), std::string::npos) << logs;
  }
}

}  // namespace
}  // namespace orchard::testing
