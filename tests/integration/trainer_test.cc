// orchard-train end to end: real Fashion-MNIST, the real pretrained
// backbone, real processes, checkpoints and signals, and the exported model
// read back by Python.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/test_util.h"

namespace orchard::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// One weights and feature cache for the whole binary, under the build tree,
// so the pretrained backbone is imported once per build, not once per test.
std::string CacheDir() { return std::string(ORCHARD_BUILD_DIR) + "/test-cache"; }

std::vector<std::string> Train(const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {ORCHARD_TRAIN_BINARY, "finetune", "--cache_dir=" + CacheDir()};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return argv;
}

// The metric records of a run's stdout, without the throughput figures
// (they measure the machine, not the model).
std::vector<json> Records(const std::string& out) {
  std::vector<json> records;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    std::string line = out.substr(start, end - start);
    if (line.rfind("@orchard ", 0) == 0) {
      json record = json::parse(line.substr(9));
      record.erase("images_per_sec");
      record.erase("epoch_seconds");
      records.push_back(record);
    }
    start = end + 1;
  }
  return records;
}

double LastValue(const std::vector<json>& records, const std::string& metric) {
  double value = -1;
  for (const json& r : records) {
    if (r.contains(metric)) value = r[metric].get<double>();
  }
  return value;
}

// A small fine-tune of the last two backbone units, with augmentation and
// dropout: everything random that a run does.
std::vector<std::string> SmallFineTune(const std::string& out, int epochs) {
  return Train({"--out=" + out, "--labels_per_class=6", "--val_per_class=4", "--image_size=48",
                "--unfreeze=2", "--batch=16", "--epochs=" + std::to_string(epochs), "--dropout=0.2",
                "--augment_crop=3", "--augment_flip", "--optimizer=sgd", "--lr=0.05",
                "--backbone_lr=0.01", "--seed=5", "--threads=1"});
}

TEST(TrainerTest, SameFlagsAndSeedGiveBitIdenticalMetrics) {
  TempDir dir;
  ProcResult a = RunProcess(SmallFineTune(dir / "a", 2), dir.path(), 300);
  ProcResult b = RunProcess(SmallFineTune(dir / "b", 2), dir.path(), 300);
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err;
  std::vector<json> ra = Records(a.out);
  ASSERT_GE(ra.size(), 3u) << a.out;  // two epochs and the summary
  EXPECT_EQ(ra, Records(b.out));
  EXPECT_TRUE(ra[0].contains("train_loss") && ra[0].contains("val_acc") && ra[0].contains("lr") &&
              ra[0].contains("backbone_lr"))
      << ra[0].dump();
  EXPECT_NE(a.out.find("images_per_sec"), std::string::npos);
  // Another seed is another run.
  std::vector<std::string> other = SmallFineTune(dir / "c", 2);
  other.push_back("--seed=6");
  other.erase(std::find(other.begin(), other.end(), "--seed=5"));
  ProcResult c = RunProcess(other, dir.path(), 300);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(ra, Records(c.out));
}

TEST(TrainerTest, SigtermCheckpointsAndResumingContinuesExactly) {
  TempDir dir;
  ProcResult whole = RunProcess(SmallFineTune(dir / "whole", 3), dir.path(), 300);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;

  // Stop a second run as soon as it has reported its first epoch.
  const std::string out = dir / "stopped";
  pid_t pid = Spawn(SmallFineTune(out, 3), dir.path(), dir / "1.out", dir / "1.err");
  ASSERT_TRUE(WaitUntil(240, [&] { return ReadFile(dir / "1.out").find("@orchard") != std::string::npos; }));
  kill(pid, SIGTERM);
  EXPECT_EQ(WaitFor(pid, 120), 143) << ReadFile(dir / "1.err");
  const std::string first = ReadFile(dir / "1.out");
  EXPECT_NE(first.find("stopped by SIGTERM: checkpoint"), std::string::npos) << first;
  ASSERT_TRUE(fs::exists(out + "/checkpoints/last.pt"));

  std::vector<std::string> resume = SmallFineTune(out, 3);
  resume.push_back("--resume-from=" + out + "/checkpoints/last.pt");
  ProcResult rest = RunProcess(resume, dir.path(), 300);
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  std::vector<json> joined = Records(first);
  for (const json& r : Records(rest.out)) joined.push_back(r);
  EXPECT_EQ(joined, Records(whole.out));
}

TEST(TrainerTest, ResumingWithOtherSettingsOrABadFileIsRefused) {
  TempDir dir;
  ProcResult run = RunProcess(SmallFineTune(dir / "run", 1), dir.path(), 300);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<std::string> other = SmallFineTune(dir / "run", 2);
  other.push_back("--resume-from=" + (dir / "run") + "/checkpoints/last.pt");
  other.push_back("--optimizer=adam");
  other.erase(std::find(other.begin(), other.end(), "--optimizer=sgd"));
  ProcResult refused = RunProcess(other, dir.path(), 300);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("another optimizer"), std::string::npos) << refused.err;

  std::ofstream(dir / "junk.pt") << "not a checkpoint";
  std::vector<std::string> junk = SmallFineTune(dir / "run", 2);
  junk.push_back("--resume-from=" + (dir / "junk.pt"));
  ProcResult bad = RunProcess(junk, dir.path(), 300);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("junk.pt"), std::string::npos) << bad.err;
}

// The pretrained weights are genuinely trained: a linear probe on their
// frozen features beats the same architecture with random weights by a wide
// margin. The random baseline is a strong one: its features are
// standardised exactly like the pretrained ones (measured: 0.72-0.75 for
// random weights against 0.835-0.84 pretrained, i.e. a third fewer errors).
TEST(TrainerTest, PretrainedFeaturesBeatRandomWeightsInALinearProbe) {
  TempDir dir;
  auto probe = [&](bool pretrained) {
    ProcResult r = RunProcess(
        Train({"--out=" + dir / (pretrained ? "pre" : "rand"), "--labels_per_class=100",
               "--val_per_class=100", "--image_size=64", "--epochs=30", "--batch=64",
               "--lr=0.01", "--seed=1", std::string("--pretrained=") + (pretrained ? "true" : "false"),
               "--export=none"}),
        dir.path(), 600);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return LastValue(Records(r.out), "best_val_acc");
  };
  const double pretrained = probe(true);
  const double random = probe(false);
  std::cout << "linear probe val_acc: pretrained " << pretrained << ", random " << random << "\n";
  EXPECT_GE(pretrained - random, 0.06);
}

TEST(TrainerTest, ExportedBundleRunsInPythonAsDescribed) {
  TempDir dir;
  const std::string out = dir / "run";
  ProcResult r = RunProcess(Train({"--out=" + out, "--labels_per_class=30", "--val_per_class=20",
                                   "--image_size=48", "--epochs=8", "--lr=0.02", "--seed=2"}),
                            dir.path(), 600);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json bundle = json::parse(ReadFile(out + "/model/bundle.json"));
  EXPECT_EQ(bundle["classes"].size(), 10u);
  EXPECT_EQ(bundle["input"]["height"], 48);
  EXPECT_EQ(bundle["source"]["weights"], "best");
  EXPECT_EQ(bundle["files"]["model.pt"]["bytes"], fs::file_size(out + "/model/model.pt"));
  // Python reads the bundle, preprocesses test images as it says, and
  // classifies them with torch.jit.load.
  const std::string script = dir / "check.py";
  std::ofstream(script) <<
      "import gzip, json, sys, numpy, torch\n"
      "import torch.nn.functional as F\n"
      "b = json.load(open(sys.argv[1] + '/bundle.json'))\n"
      "m = torch.jit.load(sys.argv[1] + '/' + b['model']['file']).eval()\n"
      "d = '/usr/share/datasets/fashion-mnist/'\n"
      "img = numpy.frombuffer(gzip.open(d + 't10k-images-idx3-ubyte.gz').read()[16:], numpy.uint8)\n"
      "lab = numpy.frombuffer(gzip.open(d + 't10k-labels-idx1-ubyte.gz').read()[8:], numpy.uint8)\n"
      "x = torch.from_numpy(img[:500 * 784].reshape(500, 1, 28, 28).astype(numpy.float32) / 255)\n"
      "x = x.expand(-1, 3, -1, -1)\n"
      "x = F.interpolate(x, size=(b['input']['height'], b['input']['width']), mode='bilinear', align_corners=False)\n"
      "with torch.no_grad():\n"
      "    pred = m(x).argmax(1).numpy()\n"
      "print('accuracy', float((pred == lab[:500]).mean()))\n";
  ProcResult py = RunProcess({"/usr/bin/python3", script, out + "/model"}, dir.path(), 300);
  ASSERT_EQ(py.exit_code, 0) << py.err;
  const double accuracy = std::stod(py.out.substr(py.out.find("accuracy ") + 9));
  EXPECT_GE(accuracy, 0.55) << py.out;
}

TEST(TrainerTest, ImageFoldersSkipUnreadableFilesAndBadFlagsAreClear) {
  TempDir dir;
  // Three classes of coloured squares, PNG and JPEG, plus files that are not images.
  const std::string make = dir / "make.py";
  std::ofstream(make) <<
      "import os, sys\n"
      "from PIL import Image\n"
      "root = sys.argv[1]\n"
      "for c, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):\n"
      "    os.makedirs(f'{root}/class {c}', exist_ok=True)\n"
      "    for i in range(10):\n"
      "        im = Image.new('RGB', (40 + i, 36), colour)\n"
      "        im.putpixel((i, i), (255, 255, 255))\n"
      "        im.save(f'{root}/class {c}/{i}.' + ('png' if i % 2 else 'jpg'))\n"
      "open(f'{root}/class 0/broken.png', 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n garbage')\n"
      "open(f'{root}/class 1/empty.jpg', 'wb').close()\n";
  ASSERT_EQ(RunProcess({"/usr/bin/python3", make, dir / "images"}, dir.path()).exit_code, 0);
  ProcResult r = RunProcess(Train({"--out=" + dir / "run", "--data=" + dir / "images",
                                   "--val_per_class=3", "--image_size=32", "--epochs=3",
                                   "--cut=block_3", "--lr=0.05"}),
                            dir.path(), 300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("skipped 2 unreadable image(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("broken.png"), std::string::npos);
  EXPECT_GE(LastValue(Records(r.out), "val_acc"), 0.9);
  json bundle = json::parse(ReadFile(dir / "run/model/bundle.json"));
  EXPECT_EQ(bundle["classes"], json({"class 0", "class 1", "class 2"}));

  // A folder without a test part is refused before any training.
  ProcResult no_test = RunProcess(Train({"--out=" + dir / "nt", "--data=" + dir / "images",
                                         "--val_per_class=3", "--eval_test"}),
                                  dir.path());
  EXPECT_EQ(no_test.exit_code, 1);
  EXPECT_NE(no_test.err.find("--eval_test"), std::string::npos) << no_test.err;
  EXPECT_EQ(no_test.out.find("@orchard"), std::string::npos) << no_test.out;

  ProcResult unknown = RunProcess(Train({"--learning_rate=0.1"}), dir.path());
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("did you mean --lr"), std::string::npos) << unknown.err;
  ProcResult missing = RunProcess(Train({"--data=" + dir / "nowhere"}), dir.path());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nowhere"), std::string::npos) << missing.err;
  ProcResult cuda = RunProcess(Train({"--device=cuda"}), dir.path());
  EXPECT_EQ(cuda.exit_code, 1);
  EXPECT_NE(cuda.err.find("CUDA"), std::string::npos) << cuda.err;
}

// The batch-inference worker on the files a run trained on gives the run's
// own predictions: `finetune --write_predictions` records what the trainer's
// network computed for each validation image; `infer` with the run's bundle
// over the same PNG files must agree label for label and to 1e-5 in every
// probability (the same decoding, resizing and weights, through TorchScript).
TEST(TrainerTest, InferOnTheSameFilesGivesTheTrainersPredictions) {
  TempDir dir;
  const std::string images = dir / "images";
  const std::string make = dir / "make.py";
  std::ofstream(make) <<
      "import gzip, os, sys, numpy\n"
      "from PIL import Image\n"
      "d = '/usr/share/datasets/fashion-mnist/'\n"
      "img = numpy.frombuffer(gzip.open(d + 'train-images-idx3-ubyte.gz').read()[16:], numpy.uint8)\n"
      "lab = numpy.frombuffer(gzip.open(d + 'train-labels-idx1-ubyte.gz').read()[8:], numpy.uint8)\n"
      "count = [0] * 10\n"
      "for i in range(2000):\n"
      "    c = int(lab[i])\n"
      "    if count[c] == 10: continue\n"
      "    count[c] += 1\n"
      "    os.makedirs(f'{sys.argv[1]}/class {c}', exist_ok=True)\n"
      "    Image.fromarray(img[i * 784:(i + 1) * 784].reshape(28, 28)).save(f'{sys.argv[1]}/class {c}/{i}.png')\n";
  ProcResult made = RunProcess({"/usr/bin/python3", make, images}, dir.path());
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string run = dir / "run";
  ProcResult trained = RunProcess(
      Train({"--out=" + run, "--data=" + images, "--val_per_class=4", "--labels_per_class=6",
             "--image_size=48", "--epochs=1", "--unfreeze=1", "--lr=0.02", "--seed=3",
             "--threads=1", "--write_predictions"}),
      dir.path(), 600);
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  std::vector<json> want;
  std::string list;
  {
    std::ifstream in(run + "/predictions/val.jsonl");
    for (std::string line; std::getline(in, line);) {
      want.push_back(json::parse(line));
      list += want.back()["input"].get<std::string>() + "\n";
    }
  }
  ASSERT_EQ(want.size(), 40u);
  ASSERT_EQ(want[0]["top"].size(), 5u);
  std::ofstream(dir / "val.list") << list;
  ProcResult inferred = RunProcess({ORCHARD_TRAIN_BINARY, "infer", "--bundle=" + run + "/model",
                                    "--inputs=" + dir / "val.list", "--output=" + dir / "val.out",
                                    "--root=" + images, "--threads=1", "--batch=16"},
                                   dir.path(), 300);
  ASSERT_EQ(inferred.exit_code, 0) << inferred.err;
  EXPECT_NE(inferred.out.find("@orchard {\"step\":40,\"images\":40,\"errors\":0,"), std::string::npos)
      << inferred.out;
  std::vector<json> got;
  {
    std::ifstream in(dir / "val.out");
    for (std::string line; std::getline(in, line);) got.push_back(json::parse(line));
  }
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i]["input"], want[i]["input"]);
    ASSERT_EQ(got[i]["top"].size(), 5u) << got[i].dump();
    EXPECT_EQ(got[i]["top"][0]["label"], want[i]["top"][0]["label"]) << i;
    // Every class's probability, wherever it ranks.
    for (const json& w : want[i]["top"]) {
      for (const json& g : got[i]["top"]) {
        if (g["index"] == w["index"]) {
          EXPECT_NEAR(g["prob"].get<double>(), w["prob"].get<double>(), 1e-5) << i;
        }
      }
    }
    EXPECT_NEAR(got[i]["top"][0]["prob"].get<double>(), want[i]["top"][0]["prob"].get<double>(), 1e-5);
  }

  // SIGTERM between batches: exit 143, the unfinished shard's .tmp removed.
  std::string many;
  for (int i = 0; i < 2000; ++i) many += list;
  std::ofstream(dir / "many.list") << many;
  pid_t pid = Spawn({ORCHARD_TRAIN_BINARY, "infer", "--bundle=" + run + "/model",
                     "--inputs=" + dir / "many.list", "--output=" + dir / "many.out",
                     "--root=" + images, "--threads=1", "--batch=1"},
                    dir.path(), dir / "many.stdout", dir / "many.stderr");
  ASSERT_TRUE(WaitUntil(120, [&] { return ReadFile(dir / "many.stdout").find("@orchard") != std::string::npos; }));
  EXPECT_TRUE(fs::exists(dir / "many.out.tmp"));
  kill(pid, SIGTERM);
  EXPECT_EQ(WaitFor(pid, 60), 143) << ReadFile(dir / "many.stderr");
  EXPECT_FALSE(fs::exists(dir / "many.out.tmp"));
  EXPECT_FALSE(fs::exists(dir / "many.out"));

  // --help works; a bundle without its model is refused.
  ProcResult help = RunProcess({ORCHARD_TRAIN_BINARY, "infer", "--help"}, dir.path());
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--parent_pid"), std::string::npos) << help.out;
  fs::remove(run + "/model/model.pt");
  ProcResult broken = RunProcess({ORCHARD_TRAIN_BINARY, "infer", "--bundle=" + run + "/model",
                                  "--inputs=" + dir / "val.list", "--output=" + dir / "x.out"},
                                 dir.path());
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_NE(broken.err.find("model.pt"), std::string::npos) << broken.err;
}

}  // namespace
}  // namespace orchard::testing
