// The driver with real child processes: a POSIX-shell worker written by the
// test that obeys the worker contract of docs/inference.md (reads the
// --shards file, skips shards whose OUT exists, writes OUT.tmp and renames
// it, prints @orchard progress), with switches (environment variables) to
// fail, crash or dawdle. The end-to-end test with the real orchard-train
// lives in tests/.
#include "orchestrator/infer/driver.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <sstream>
#include <thread>

#include "orchestrator/infer/test_util.h"

namespace orchard::infer {
namespace {

using testing::Lines;
using testing::MakeBundle;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;
namespace fs = std::filesystem;

// FAKE_LOG: each finished shard's OUT name is appended (exactly-once checks).
// FAKE_FAIL_ONCE=DIR: the first worker to make DIR (mkdir is atomic) crashes (exit 1)
// after its first shard.
// FAKE_ALWAYS_FAIL: fail before any work, with a message on stderr.
// FAKE_EXIT: exit with this code before any work.
// FAKE_SLEEP: seconds to sleep after each shard.
constexpr const char* kWorker = R"SH(#!/bin/sh
shards=; root=.; format=jsonl
for a in "$@"; do
  case "$a" in
    --shards=*) shards="${a#--shards=}" ;;
    --root=*) root="${a#--root=}" ;;
    --format=*) format="${a#--format=}" ;;
  esac
done
echo "$*" >> "$FAKE_LOG.args"
echo "CVD=[$CUDA_VISIBLE_DEVICES]" >> "$FAKE_LOG.args"
if [ -n "$FAKE_EXIT" ]; then echo "bad flag --nope" >&2; exit "$FAKE_EXIT"; fi
if [ -n "$FAKE_ALWAYS_FAIL" ]; then echo "loading the model: boom" >&2; exit 1; fi
tab=$(printf '\t')
n=0
while IFS="$tab" read -r list out; do
  [ -e "$out" ] && continue
  : > "$out.tmp"
  [ "$format" = csv ] && echo "input,label_1,prob_1,error" >> "$out.tmp"
  while IFS= read -r line; do
    case "$line" in /*) p="$line" ;; *) p="$root/$line" ;; esac
    err=""
    [ -f "$p" ] || err="cannot open $p"
    if [ "$format" = csv ]; then
      if [ -n "$err" ]; then echo "$line,,,$err" >> "$out.tmp"; else echo "$line,cat,0.5," >> "$out.tmp"; fi
    else
      if [ -n "$err" ]; then
        printf '{"input": "%s", "error": "%s"}\n' "$line" "$err" >> "$out.tmp"
      else
        printf '{"input": "%s", "top": [{"label": "cat", "index": 0, "prob": 0.5}]}\n' "$line" >> "$out.tmp"
      fi
    fi
    n=$((n + 1))
  done < "$list"
  mv "$out.tmp" "$out"
  echo "${out##*/}" >> "$FAKE_LOG"
  echo "@orchard {\"step\": $n, \"images\": $n, \"errors\": 0, \"images_per_sec\": 100.0}"
  if [ -n "$FAKE_FAIL_ONCE" ] && mkdir "$FAKE_FAIL_ONCE" 2>/dev/null; then
    echo "crashed after a shard" >&2; exit 1
  fi
  [ -n "$FAKE_SLEEP" ] && sleep "$FAKE_SLEEP"
done < "$shards"
exit 0
)SH";

class DriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_ / "worker.sh", kWorker);
    chmod((dir_ / "worker.sh").c_str(), 0755);
    MakeBundle(dir_ / "bundle", {{"model.pt", "not really a model"}});
    for (int i = 0; i < 10; ++i) WriteFile(dir_ / ("imgs/img" + std::to_string(i) + ".png"), "x");
    for (const char* v : {"FAKE_FAIL_ONCE", "FAKE_ALWAYS_FAIL", "FAKE_EXIT", "FAKE_SLEEP"}) unsetenv(v);
    setenv("FAKE_LOG", (dir_ / "log").c_str(), 1);
  }
  void TearDown() override {
    for (const char* v : {"FAKE_LOG", "FAKE_FAIL_ONCE", "FAKE_ALWAYS_FAIL", "FAKE_EXIT", "FAKE_SLEEP"}) {
      unsetenv(v);
    }
  }

  InferOptions Options() {
    InferOptions o;
    o.bundle = "bundle";
    o.input = "imgs";
    o.output = "out/pred.jsonl";
    o.worker = dir_ / "worker.sh";
    o.cpu = true;
    o.workers = 2;
    o.shards = 5;
    o.cwd = dir_.path();
    o.poll_s = 0.02;
    return o;
  }

  Result<InferSummary> Run(const InferOptions& o, exec::StopRequests* stop = nullptr) {
    log_.str("");
    InferDriver d(o, log_, false, stop);
    return d.Run();
  }

  // How many times each shard was finished by a worker.
  std::map<std::string, int> Finished() {
    std::map<std::string, int> n;
    for (const auto& l : Lines(ReadFile(dir_ / "log"))) ++n[l];
    return n;
  }

  std::vector<std::string> Expected(const std::string& fmt = "jsonl") {
    std::vector<std::string> out;
    for (int i = 0; i < 10; ++i) {
      std::string name = "img" + std::to_string(i) + ".png";
      out.push_back(fmt == "csv" ? name + ",cat,0.5,"
                                 : R"({"input": ")" + name +
                                       R"(", "top": [{"label": "cat", "index": 0, "prob": 0.5}]})");
    }
    return out;
  }

  TempDir dir_;
  std::ostringstream log_;
};

TEST_F(DriverTest, ShardsRunOnceAndMergeInInputOrder) {
  auto r = Run(Options());
  ASSERT_TRUE(r.ok()) << r.status().message() << "\n" << log_.str();
  EXPECT_EQ(r->images, 10);
  EXPECT_EQ(r->errors, 0);
  EXPECT_EQ(r->processed, 10);
  EXPECT_EQ(r->shards, 5);
  EXPECT_EQ(r->workers, 2);
  EXPECT_EQ(Lines(ReadFile(dir_ / "out/pred.jsonl")), Expected());
  EXPECT_EQ(Finished().size(), 5u);
  for (const auto& [shard, n] : Finished()) EXPECT_EQ(n, 1) << shard;
  // Verified and merged: the work folder is gone, nothing half-written is left.
  EXPECT_FALSE(fs::exists(dir_ / "out/pred.jsonl.parts"));
  EXPECT_FALSE(fs::exists(dir_ / "out/pred.jsonl.tmp"));
  // Each worker got its flags: round-robin shard files, CPU, threads, the parent's pid.
  std::string args = ReadFile(dir_ / "log.args");
  EXPECT_NE(args.find("infer --bundle=" + dir_ / "bundle"), std::string::npos) << args;
  EXPECT_NE(args.find("--shards=" + dir_ / "out/pred.jsonl.parts/worker-0-1.shards"), std::string::npos);
  EXPECT_NE(args.find("--shards=" + dir_ / "out/pred.jsonl.parts/worker-1-1.shards"), std::string::npos);
  EXPECT_NE(args.find("--device=cpu"), std::string::npos);
  EXPECT_NE(args.find("--top_k=3"), std::string::npos) << args;  // 5 capped at the 3 classes
  EXPECT_NE(args.find("--parent_pid=" + std::to_string(getpid())), std::string::npos);
  EXPECT_NE(args.find("CVD=[]"), std::string::npos);
}

TEST_F(DriverTest, OneWorkerPerGpuEachWithItsOwnDevice) {
  InferOptions o = Options();
  o.cpu = false;
  o.gpus = "3,5";
  o.workers = 7;  // CPU workers: not used with GPUs
  o.shards = 0;   // one per worker
  auto r = Run(o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->workers, 2);
  EXPECT_EQ(r->shards, 2);
  EXPECT_EQ(r->device, "cuda (GPU 3,5)");
  std::string args = ReadFile(dir_ / "log.args");
  EXPECT_NE(args.find("CVD=[3]"), std::string::npos) << args;
  EXPECT_NE(args.find("CVD=[5]"), std::string::npos) << args;
  EXPECT_EQ(args.find("--device=cpu"), std::string::npos) << args;
  EXPECT_NE(args.find("--device=cuda"), std::string::npos) << args;
  EXPECT_EQ(Lines(ReadFile(dir_ / "out/pred.jsonl")), Expected());

  o.gpus = "0,,1";
  EXPECT_EQ(Run(o).status().code(), Status::Code::kInvalidArgument);
  o.gpus = "0";
  o.cpu = true;
  EXPECT_EQ(Run(o).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(DriverTest, CsvWithOneHeaderAndTheFormatFromTheName) {
  InferOptions o = Options();
  o.output = "pred.csv";
  o.keep_work = true;
  auto r = Run(o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> want = {"input,label_1,prob_1,error"};
  for (const auto& l : Expected("csv")) want.push_back(l);
  EXPECT_EQ(Lines(ReadFile(dir_ / "pred.csv")), want);
  EXPECT_TRUE(r->work_kept);
  EXPECT_TRUE(fs::exists(dir_ / "pred.csv.parts/manifest.json"));
  EXPECT_TRUE(fs::exists(dir_ / "pred.csv.parts/shard-0004.out"));
}

TEST_F(DriverTest, AListFileResolvesAgainstItsFolderAndKeepsLinesAsWritten) {
  WriteFile(dir_ / "lists/l.txt", "# two and one missing\n../imgs/img2.png\n" + dir_ / "imgs/img1.png" +
                                      "\n../imgs/gone.png\n");
  InferOptions o = Options();
  o.input = "lists/l.txt";
  auto r = Run(o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->images, 3);
  EXPECT_EQ(r->errors, 1);
  EXPECT_EQ(r->shards, 3);  // never more shards than inputs
  auto lines = Lines(ReadFile(dir_ / "out/pred.jsonl"));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].rfind(R"({"input": "../imgs/img2.png", "top")", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind(R"({"input": ")" + dir_ / "imgs/img1.png" + R"(", "top")", 0), 0u);
  EXPECT_EQ(lines[2].rfind(R"({"input": "../imgs/gone.png", "error")", 0), 0u) << lines[2];
}

TEST_F(DriverTest, AFailedWorkersShardsAreRetriedByANewWorker) {
  setenv("FAKE_FAIL_ONCE", (dir_ / "failed-once").c_str(), 1);
  auto r = Run(Options());
  ASSERT_TRUE(r.ok()) << r.status().message() << "\n" << log_.str();
  EXPECT_EQ(r->retried, 1);
  EXPECT_EQ(Lines(ReadFile(dir_ / "out/pred.jsonl")), Expected());
  for (const auto& [shard, n] : Finished()) EXPECT_EQ(n, 1) << shard;
  EXPECT_EQ(Finished().size(), 5u);
  EXPECT_NE(log_.str().find("exit code 1"), std::string::npos) << log_.str();
}

TEST_F(DriverTest, ShardsThatKeepFailingAreNamedAndTheRestIsKept) {
  setenv("FAKE_ALWAYS_FAIL", "1", 1);
  InferOptions o = Options();
  auto r = Run(o);
  ASSERT_EQ(r.status().code(), Status::Code::kInternal) << r.status().message();
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("5 of 5 shards failed after 2 attempts"), std::string::npos) << m;
  EXPECT_NE(m.find("shard-0000, shard-0002, shard-0004 failed in worker-0-2"), std::string::npos) << m;
  EXPECT_NE(m.find("loading the model: boom"), std::string::npos) << m;
  EXPECT_NE(m.find("re-run the same command"), std::string::npos) << m;
  EXPECT_FALSE(fs::exists(dir_ / "out/pred.jsonl"));
  EXPECT_TRUE(fs::exists(dir_ / "out/pred.jsonl.parts/manifest.json"));
  // Two attempts per worker slot, no more.
  EXPECT_EQ(Lines(ReadFile(dir_ / "log.args")).size(), 2u * 2u * 2u);

  unsetenv("FAKE_ALWAYS_FAIL");
  r = Run(o);  // the same command finishes the job
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Lines(ReadFile(dir_ / "out/pred.jsonl")), Expected());
}

TEST_F(DriverTest, AWorkerRefusingItsFlagsIsNotRetried) {
  setenv("FAKE_EXIT", "2", 1);
  InferOptions o = Options();
  o.workers = 1;
  auto r = Run(o);
  ASSERT_EQ(r.status().code(), Status::Code::kInternal);
  EXPECT_NE(r.status().message().find("bad flag --nope"), std::string::npos);
  EXPECT_EQ(Lines(ReadFile(dir_ / "log.args")).size(), 2u);  // one start: args + CVD lines
}

TEST_F(DriverTest, StoppedThenResumedDoesEachShardExactlyOnce) {
  setenv("FAKE_SLEEP", "30", 1);
  InferOptions o = Options();
  exec::StopFlag stop;
  std::thread stopper([&] {
    // Stop once both workers have finished their first shard.
    for (int i = 0; i < 1000 && Lines(ReadFile(dir_ / "log")).size() < 2; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop.Request(store::RunStatus::kCancelled, "test");
  });
  auto t0 = std::chrono::steady_clock::now();
  auto r = Run(o, &stop);
  stopper.join();
  ASSERT_EQ(r.status().code(), Status::Code::kCancelled) << r.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));  // SIGTERM, not the sleep
  EXPECT_NE(r.status().message().find("2 of 5 shards done"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("re-run the same command"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "out/pred.jsonl.parts/manifest.json"));
  EXPECT_FALSE(fs::exists(dir_ / "out/pred.jsonl"));

  unsetenv("FAKE_SLEEP");
  r = Run(o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->shards_resumed, 2);
  EXPECT_EQ(r->processed, 6);  // 10 inputs, the two done shards held 2 each
  EXPECT_EQ(Lines(ReadFile(dir_ / "out/pred.jsonl")), Expected());
  EXPECT_EQ(Finished().size(), 5u);
  for (const auto& [shard, n] : Finished()) EXPECT_EQ(n, 1) << shard;
}

TEST_F(DriverTest, ATruncatedOutputIsRedone) {
  InferOptions o = Options();
  o.keep_work = true;
  ASSERT_TRUE(Run(o).ok());
  const std::string out3 = dir_ / "out/pred.jsonl.parts/shard-0003.out";
  std::string text = ReadFile(out3);
  WriteFile(out3, text.substr(0, text.find('\n') + 1));  // one record of two
  auto r = Run(o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->shards_resumed, 4);
  EXPECT_EQ(r->processed, 2);
  EXPECT_EQ(Finished()["shard-0003.out"], 2);
  EXPECT_EQ(Finished()["shard-0001.out"], 1);
  EXPECT_EQ(Lines(ReadFile(dir_ / "out/pred.jsonl")), Expected());
}

TEST_F(DriverTest, AnotherJobsWorkFolderIsRefusedUnlessRestart) {
  InferOptions o = Options();
  o.keep_work = true;
  ASSERT_TRUE(Run(o).ok());
  o.top_k = 2;
  auto r = Run(o);
  ASSERT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("belongs to another job: the options differ"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("--restart"), std::string::npos);

  o.top_k = 5;
  o.shards = 3;  // the same job cut differently
  r = Run(o);
  EXPECT_NE(r.status().message().find("was planned with 5 shards"), std::string::npos)
      << r.status().message();

  o.top_k = 2;
  o.restart = true;
  r = Run(o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->shards, 3);
  EXPECT_EQ(r->shards_resumed, 0);
  EXPECT_NE(ReadFile(dir_ / "log.args").find("--top_k=2"), std::string::npos);
}

TEST_F(DriverTest, ANothingToDoRerunOnlyMerges) {
  InferOptions o = Options();
  o.keep_work = true;
  ASSERT_TRUE(Run(o).ok());
  fs::remove(dir_ / "out/pred.jsonl");
  auto r = Run(o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->processed, 0);
  EXPECT_EQ(r->shards_resumed, 5);
  EXPECT_EQ(Lines(ReadFile(dir_ / "log.args")).size(), 4u);  // only the first run's two workers
  EXPECT_EQ(Lines(ReadFile(dir_ / "out/pred.jsonl")), Expected());
}

TEST_F(DriverTest, ATamperedBundleIsRefusedBeforeAnyWorker) {
  WriteFile(dir_ / "bundle/model.pt", "NOT really a model");
  auto r = Run(Options());
  ASSERT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("model.pt: sha256 mismatch"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "log.args"));
}

TEST_F(DriverTest, ClearRefusals) {
  InferOptions o = Options();
  o.input = "nothing-here";
  EXPECT_EQ(Run(o).status().code(), Status::Code::kNotFound);
  fs::create_directories(dir_ / "empty");
  o.input = "empty";
  auto r = Run(o);
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_NE(r.status().message().find("no images under"), std::string::npos);
  o = Options();
  o.worker = dir_ / "no-such-worker";
  EXPECT_EQ(Run(o).status().code(), Status::Code::kNotFound);
  o = Options();
  WriteFile(dir_ / "out/pred.jsonl.parts/precious.txt", "mine");
  r = Run(o);
  EXPECT_NE(r.status().message().find("precious.txt"), std::string::npos) << r.status().message();
  EXPECT_EQ(ReadFile(dir_ / "out/pred.jsonl.parts/precious.txt"), "mine");
  o = Options();
  o.features = true;
  MakeBundle(dir_ / "old-bundle", {{"model.pt", "m"}}, {{"output", {{"features", nullptr}}}});
  o.bundle = "old-bundle";
  r = Run(o);
  EXPECT_NE(r.status().message().find("has no features()"), std::string::npos) << r.status().message();
}

TEST(FindWorkerTest, BesideThenBuildTreeThenPath) {
  TempDir t;
  WriteFile(t / "build/orchestrator/orchard", "");
  WriteFile(t / "build/trainer/orchard-train", "#!/bin/sh\n");
  chmod((t / "build/trainer/orchard-train").c_str(), 0755);
  auto w = FindWorker("", t / "build/orchestrator/orchard");
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(*w, t / "build/trainer/orchard-train");
  WriteFile(t / "build/orchestrator/orchard-train", "#!/bin/sh\n");
  chmod((t / "build/orchestrator/orchard-train").c_str(), 0755);
  EXPECT_EQ(*FindWorker("", t / "build/orchestrator/orchard"), t / "build/orchestrator/orchard-train");
  EXPECT_EQ(*FindWorker(t / "build/trainer/orchard-train", "/x/orchard"), t / "build/trainer/orchard-train");
  EXPECT_EQ(FindWorker(t / "nope", "/x/orchard").status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace orchard::infer
