// `orchard export` and `orchard infer` end to end: a real training run of
// orchard-train recorded by `orchard run`, exported from the store, and run
// over real PNG files by real worker processes — including a worker killed
// mid-job, a tampered bundle, and a run without a model.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/test_util.h"

namespace orchard::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string CacheDir() { return std::string(ORCHARD_BUILD_DIR) + "/test-cache"; }

std::vector<json> JsonLines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

// What every test shares, made once: a folder of Fashion-MNIST test images as
// PNG files (class folders) with one broken file and one hostile name among
// them; a store with one recorded training run on that folder (random
// MobileNetV2 weights at 64 px, so it trains in seconds and is slow enough at
// batch 1 to be stopped mid-job) that wrote its own validation predictions;
// and a run that left no model.
class InferTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const std::string make = *dir_ / "make.py";
    std::ofstream(make) <<
        "import gzip, os, sys\n"
        "import numpy as np\n"
        "from PIL import Image\n"
        "src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
        "px = gzip.open(os.path.join(src, 't10k-images-idx3-ubyte.gz')).read()\n"
        "lab = gzip.open(os.path.join(src, 't10k-labels-idx1-ubyte.gz')).read()[8:]\n"
        "ims = np.frombuffer(px, np.uint8, offset=16).reshape(-1, 28, 28)\n"
        "for i in range(n):\n"
        "    d = os.path.join(out, f'class-{lab[i]}')\n"
        "    os.makedirs(d, exist_ok=True)\n"
        "    Image.fromarray(ims[i]).save(os.path.join(d, f'{i:04d}.png'))\n"
        "open(os.path.join(out, 'class-0', 'broken.png'), 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n garbage')\n"
        "Image.fromarray(ims[0]).save(os.path.join(out, 'class-1', 'a,\"quoted\" name.png'))\n"
        "os.makedirs(os.path.join(out, '.hidden'), exist_ok=True)\n"
        "Image.fromarray(ims[0]).save(os.path.join(out, '.hidden', 'skip.png'))\n"
        "open(os.path.join(out, 'notes.txt'), 'w').write('not an image')\n";
    ProcResult images = RunProcess({"/usr/bin/python3", make, "/usr/share/datasets/fashion-mnist",
                                    *dir_ / "images", "300"},
                                   dir_->path());
    ASSERT_EQ(images.exit_code, 0) << images.err;

    ProcResult run = RunOrchard(
        Home(),
        {"run", "--name", "tiny", "--", ORCHARD_TRAIN_BINARY, "finetune", "--cache_dir=" + CacheDir(),
         "--data=" + Images(), "--pretrained=false", "--labels_per_class=8", "--val_per_class=4",
         "--image_size=64", "--epochs=1", "--threads=1", "--seed=3", "--write_predictions"},
        dir_->path(), 300);
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    ProcResult nomodel = RunOrchard(Home(), {"run", "--name", "nomodel", "--", "sh", "-c",
                                             "echo '@orchard {\"step\": 1, \"val_acc\": 0.99}'"},
                                    dir_->path());
    ASSERT_EQ(nomodel.exit_code, 0) << nomodel.err;
    ProcResult exported =
        RunOrchard(Home(), {"export", "tiny", "--output", Bundle()}, dir_->path());
    ASSERT_EQ(exported.exit_code, 0) << exported.out << exported.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static std::string Home() { return *dir_ / "home"; }
  static std::string Bundle() { return *dir_ / "bundle"; }
  static std::string Images() { return *dir_ / "images"; }
  // The 300 images and the two odd files, as the driver names them.
  static constexpr size_t kInputs = 302;

  static ProcResult Infer(const std::vector<std::string>& args, double timeout_s = 300) {
    std::vector<std::string> all = {"infer", Bundle(), "--input", Images(), "--worker",
                                    ORCHARD_TRAIN_BINARY};
    all.insert(all.end(), args.begin(), args.end());
    return RunOrchard(Home(), all, dir_->path(), timeout_s);
  }

  static TempDir* dir_;
};
TempDir* InferTest::dir_ = nullptr;

TEST_F(InferTest, ExportWritesACompleteCardWithTheHashOfEveryFile) {
  json card = json::parse(ReadFile(Bundle() + "/bundle.json"));
  EXPECT_EQ(card["format"], "orchard-bundle");
  ASSERT_TRUE(card["source"].contains("run_id")) << card.dump(2);
  EXPECT_EQ(card["source"]["name"], "tiny");
  EXPECT_EQ(card["flags"]["image_size"], 64) << card["flags"].dump();
  EXPECT_TRUE(card["metrics"].contains("val_acc")) << card["metrics"].dump();
  EXPECT_TRUE(card.contains("code"));
  EXPECT_TRUE(card["versions"].contains("libtorch"));
  EXPECT_EQ(card["classes"].size(), 10u);
  std::set<std::string> listed;
  for (const auto& [name, file] : card["files"].items()) {
    listed.insert(name);
    EXPECT_EQ(file["sha256"].get<std::string>().size(), 64u);
  }
  std::set<std::string> present;
  for (const auto& e : fs::directory_iterator(Bundle())) {
    if (e.path().filename() != "bundle.json") present.insert(e.path().filename().string());
  }
  EXPECT_EQ(listed, present);
  EXPECT_TRUE(present.count("model.pt"));
}

TEST_F(InferTest, ExportRefusesARunWithoutAModelAndAnOccupiedFolder) {
  ProcResult none = RunOrchard(Home(), {"export", "nomodel", "--output", *dir_ / "x"}, dir_->path());
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.err.find("model"), std::string::npos) << none.err;
  EXPECT_FALSE(fs::exists(*dir_ / "x"));
  ProcResult occupied = RunOrchard(Home(), {"export", "tiny", "--output", Bundle()}, dir_->path());
  EXPECT_NE(occupied.exit_code, 0);
  EXPECT_NE(occupied.err.find(Bundle()), std::string::npos) << occupied.err;
  EXPECT_TRUE(fs::exists(Bundle() + "/model.pt"));
}

TEST_F(InferTest, TopKRecordsForEveryInputInOrderAndUnreadableFilesReported) {
  TempDir out;
  ProcResult r = Infer({"--output", out / "p.jsonl", "--top-k", "3", "--cpu", "--workers", "2",
                        "--shards", "3", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<json> records = JsonLines(ReadFile(out / "p.jsonl"));
  ASSERT_EQ(records.size(), kInputs);
  std::vector<std::string> inputs;
  int errors = 0;
  for (const json& rec : records) {
    inputs.push_back(rec["input"]);
    if (rec.contains("error")) {
      ++errors;
      EXPECT_EQ(rec["input"], "class-0/broken.png");
      continue;
    }
    ASSERT_EQ(rec["top"].size(), 3u) << rec.dump();
    double previous = 1.0, sum = 0;
    for (const json& t : rec["top"]) {
      EXPECT_LE(t["prob"].get<double>(), previous);
      previous = t["prob"];
      sum += previous;
      EXPECT_TRUE(t["label"].is_string());
    }
    EXPECT_LE(sum, 1.0 + 1e-6);
  }
  EXPECT_EQ(errors, 1);
  std::vector<std::string> sorted = inputs;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(inputs, sorted);  // input order: sorted paths
  EXPECT_EQ(std::set<std::string>(inputs.begin(), inputs.end()).size(), kInputs);
  EXPECT_TRUE(std::count(inputs.begin(), inputs.end(), "class-1/a,\"quoted\" name.png"));
  EXPECT_FALSE(std::count(inputs.begin(), inputs.end(), ".hidden/skip.png"));

  // The same job as CSV: a header, the same predictions, the odd name quoted.
  ProcResult csv = Infer({"--output", out / "p.csv", "--top-k", "3", "--cpu", "--threads", "1"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  std::string text = ReadFile(out / "p.csv");
  EXPECT_EQ(text.rfind("input,label_1,prob_1,label_2,prob_2,label_3,prob_3,error\n", 0), 0u)
      << text.substr(0, 200);
  EXPECT_NE(text.find("\"class-1/a,\"\"quoted\"\" name.png\","), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), static_cast<long>(kInputs + 1));
}

TEST_F(InferTest, PredictionsAreTheTrainersOwnOnTheSameFiles) {
  TempDir out;
  ProcResult r = Infer({"--output", out / "p.jsonl", "--top-k", "5", "--cpu", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, json> ours;
  for (const json& rec : JsonLines(ReadFile(out / "p.jsonl"))) ours[rec["input"]] = rec;
  ProcResult show = RunOrchard(Home(), {"--format", "json", "show", "tiny"}, dir_->path());
  ASSERT_EQ(show.exit_code, 0) << show.err;
  const std::string run_dir = json::parse(show.out)["run_dir"];
  std::vector<json> trainer = JsonLines(ReadFile(run_dir + "/predictions/val.jsonl"));
  ASSERT_EQ(trainer.size(), 40u);  // 4 validation images of each class
  for (const json& t : trainer) {
    ASSERT_TRUE(ours.count(t["input"])) << t["input"];
    const json& o = ours[t["input"]];
    ASSERT_EQ(o["top"].size(), t["top"].size()) << o.dump();
    for (size_t k = 0; k < t["top"].size(); ++k) {
      EXPECT_EQ(o["top"][k]["index"], t["top"][k]["index"]) << t["input"];
      EXPECT_NEAR(o["top"][k]["prob"].get<double>(), t["top"][k]["prob"].get<double>(), 1e-5)
          << t["input"];
    }
  }
}

TEST_F(InferTest, FeaturesAreTheEmbeddingOfEachImage) {
  TempDir out;
  ProcResult r = Infer({"--output", out / "f.jsonl", "--features", "--cpu", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> records = JsonLines(ReadFile(out / "f.jsonl"));
  ASSERT_EQ(records.size(), kInputs);
  json card = json::parse(ReadFile(Bundle() + "/bundle.json"));
  const size_t dim = card["output"]["features"];
  EXPECT_GT(dim, 10u);
  for (const json& rec : records) {
    if (rec.contains("error")) continue;
    ASSERT_EQ(rec["features"].size(), dim);
  }
}

TEST_F(InferTest, AWorkerKilledMidJobThenAResumeGivesEveryInputExactlyOnce) {
  TempDir out;
  // The reference: the same job, uninterrupted.
  const std::vector<std::string> job = {"--cpu", "--workers", "1", "--shards", "8", "--batch", "1",
                                        "--threads", "1", "--retries", "0"};
  std::vector<std::string> args = job;
  args.insert(args.end(), {"--output", out / "ref.jsonl"});
  ProcResult ref = Infer(args);
  ASSERT_EQ(ref.exit_code, 0) << ref.err;

  args = job;
  args.insert(args.end(), {"--output", out / "p.jsonl"});
  std::vector<std::string> argv = {ORCHARD_BINARY, "--home", Home(), "infer", Bundle(), "--input",
                                   Images(), "--worker", ORCHARD_TRAIN_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t driver = Spawn(argv, dir_->path(), out / "driver.out", out / "driver.err");
  const std::string work = out / "p.jsonl.parts";
  // Once the first shard is complete, kill the worker with SIGKILL.
  ASSERT_TRUE(WaitUntil(120, [&] { return fs::exists(work + "/shard-0000.out"); }))
      << ReadFile(out / "driver.err");
  ProcResult pkill = RunProcess({"pkill", "-KILL", "-f", "--", "--shards=" + work}, out.path());
  int code = WaitFor(driver, 120);
  int done = 0;
  for (int i = 0; i < 8; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "/shard-%04d.out", i);
    done += fs::exists(work + name) ? 1 : 0;
  }
  ASSERT_EQ(pkill.exit_code, 0) << "no worker to kill: the job ended too soon";
  EXPECT_EQ(code, 1) << ReadFile(out / "driver.err");
  EXPECT_LT(done, 8);
  EXPECT_GE(done, 1);
  EXPECT_FALSE(fs::exists(out / "p.jsonl"));
  EXPECT_NE(ReadFile(out / "driver.err").find("re-run"), std::string::npos) << ReadFile(out / "driver.err");

  // The resume does only the missing shards; the result is the reference.
  ProcResult resumed = Infer(args);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(ReadFile(out / "p.jsonl"), ReadFile(out / "ref.jsonl"));
  std::vector<json> records = JsonLines(ReadFile(out / "p.jsonl"));
  std::map<std::string, int> seen;
  for (const json& rec : records) ++seen[rec["input"]];
  EXPECT_EQ(seen.size(), kInputs);
  for (const auto& [input, n] : seen) EXPECT_EQ(n, 1) << input;
}

TEST_F(InferTest, ATamperedBundleIsRefusedWithTheFileNamed) {
  TempDir out;
  fs::copy(Bundle(), out / "bundle", fs::copy_options::recursive);
  {
    std::fstream f(out / "bundle/model.pt", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x5a');
  }
  ProcResult r = RunOrchard(Home(), {"infer", out / "bundle", "--input", Images(), "--output",
                                     out / "p.jsonl", "--worker", ORCHARD_TRAIN_BINARY, "--cpu"},
                            out.path());
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("model.pt"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sha256"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out / "p.jsonl"));
  // The worker checks on its own too.
  std::ofstream(out / "one.list") << Images() << "/class-0/0001.png\n";
  ProcResult w = RunProcess({ORCHARD_TRAIN_BINARY, "infer", "--bundle=" + out / "bundle",
                             "--inputs=" + out / "one.list", "--output=" + out / "one.jsonl"},
                            out.path());
  EXPECT_EQ(w.exit_code, 2) << w.err;
  EXPECT_NE(w.err.find("model.pt"), std::string::npos) << w.err;
}

}  // namespace
}  // namespace orchard::testing
