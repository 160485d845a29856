// The batch-inference worker on a tiny bundle exported from a random
// MobileNetV2 (cut after block_3): records in list order, error records,
// top-k and features against the model itself, CSV quoting, the bundle's
// hash checks, old bundles without features(), shards and the lock.
#include "trainer/train/infer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/script.h>

#include "orchestrator/util/sha256.h"
#include "trainer/test_util.h"
#include "trainer/train/bundle.h"
#include "trainer/train/finetune.h"
#include "trainer/train/preprocess.h"

namespace orchard::trainer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string> kClasses = {"cat", "dog, \"big\"", "bird"};

// A 24-bit BMP of w x h pixels whose colours depend on `seed`.
std::string Bmp(int w, int h, int seed) {
  const int row = (3 * w + 3) / 4 * 4;
  const int size = 54 + row * h;
  std::string b(static_cast<size_t>(size), '\0');
  auto put32 = [&](int at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[static_cast<size_t>(at + i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  };
  b[0] = 'B';
  b[1] = 'M';
  put32(2, static_cast<uint32_t>(size));
  put32(10, 54);
  put32(14, 40);
  put32(18, static_cast<uint32_t>(w));
  put32(22, static_cast<uint32_t>(h));
  b[26] = 1;
  b[28] = 24;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const size_t at = static_cast<size_t>(54 + y * row + 3 * x);
      b[at] = static_cast<char>((x * 13 + seed * 71) & 0xff);
      b[at + 1] = static_cast<char>((y * 29 + seed * 17) & 0xff);
      b[at + 2] = static_cast<char>((x * y + seed * 5) & 0xff);
    }
  }
  return b;
}

// Exports a random network as DIR/model/{model.pt,bundle.json}.
void ExportTinyBundle(const fs::path& dir) {
  NetworkOptions n;
  n.pretrained = false;
  n.cut = "block_3";
  n.num_classes = static_cast<int64_t>(kClasses.size());
  n.seed = 7;
  Result<std::unique_ptr<Network>> net = Network::Create(n);
  ASSERT_TRUE(net.ok()) << net.status().message();
  ImageSet set;
  set.class_names = kClasses;
  for (int i = 0; i < 3; ++i) {
    Result<Image> image = [&] {
      TempFolder tmp;
      return ReadImageFile(tmp.Write("x.bmp", Bmp(20 + i, 18, i)));
    }();
    ASSERT_TRUE(image.ok()) << image.status().message();
    set.images.push_back(image.value());
    set.labels.push_back(i);
    set.sources.push_back(std::to_string(i) + ".bmp");
  }
  Split split{{0}, {0, 1, 2}};
  FinetuneOptions o;
  o.image_size = 32;
  o.pretrained = false;
  BundleSource source;
  source.options = &o;
  source.data = &set;
  source.split = &split;
  source.preprocess.image_size = 32;
  source.preprocess.normalization = net.value()->default_normalization();
  source.flags = json::object();
  source.metrics = json::object();
  source.weights = "final";
  Result<double> diff = ExportBundle(*net.value(), dir, source);
  ASSERT_TRUE(diff.ok()) << diff.status().message();
}

class InferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ExportTinyBundle(dir());
    bundle_ = dir() / "model";
    images_ = dir() / "images";
    folder_.Write("images/a.bmp", Bmp(40, 30, 1));
    folder_.Write("images/sub/b.bmp", Bmp(16, 16, 2));
    folder_.Write("images/garbage.png", "this is text, not a picture");
    folder_.Write("images/we,ird \"name\".bmp", Bmp(32, 32, 3));
  }

  const fs::path& dir() const { return folder_.path(); }

  InferOptions Options(const std::string& list_text, const std::string& out) {
    const fs::path list = folder_.Write(out + ".list", list_text);
    InferOptions o;
    o.bundle = bundle_.string();
    o.inputs = list.string();
    o.output = (dir() / out).string();
    o.root = images_.string();
    o.threads = 1;
    o.batch = 2;
    o.decoders = 3;
    return o;
  }

  // Runs the worker; its stderr in *err.
  static int Run(const InferOptions& o, std::string* err = nullptr) {
    ::testing::internal::CaptureStderr();
    ::testing::internal::CaptureStdout();
    const int code = RunInfer(o);
    std::string e = ::testing::internal::GetCapturedStderr();
    (void)::testing::internal::GetCapturedStdout();
    if (err != nullptr) *err = e;
    return code;
  }

  static std::vector<std::string> Lines(const fs::path& file) {
    std::ifstream in(file);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  // What the bundle's model gives on one image file, computed directly.
  torch::Tensor Direct(const fs::path& image, const std::string& method) {
    torch::jit::Module m = torch::jit::load((bundle_ / "model.pt").string());
    m.eval();
    Result<Image> decoded = ReadImageFile(image);
    EXPECT_TRUE(decoded.ok());
    torch::NoGradGuard no_grad;
    torch::Tensor x = ImageTensor(decoded.value(), 32, 32).unsqueeze(0);
    return m.run_method(method, x).toTensor()[0];
  }

  // Rewrites bundle.json's hash of model.pt after a deliberate change.
  void Rehash() {
    json card = json::parse(std::ifstream(bundle_ / "bundle.json"));
    card["files"]["model.pt"]["sha256"] = Sha256File((bundle_ / "model.pt").string()).value();
    std::ofstream(bundle_ / "bundle.json") << card.dump(2);
  }

  TempFolder folder_;
  fs::path bundle_;
  fs::path images_;
};

TEST_F(InferTest, RecordsFollowTheListWithErrorsInPlace) {
  const std::string list = "a.bmp\nmissing.png\ngarbage.png\nsub/b.bmp\n" + (images_ / "a.bmp").string() + "\n";
  InferOptions o = Options(list, "out.jsonl");
  o.top_k = 2;
  std::string err;
  ASSERT_EQ(Run(o, &err), kExitOk) << err;
  EXPECT_FALSE(fs::exists(o.output + ".tmp"));
  std::vector<std::string> lines = Lines(o.output);
  ASSERT_EQ(lines.size(), 5u);
  std::vector<json> records;
  for (const std::string& line : lines) records.push_back(json::parse(line));
  EXPECT_EQ(records[0]["input"], "a.bmp");
  EXPECT_EQ(records[1]["input"], "missing.png");
  EXPECT_EQ(records[2]["input"], "garbage.png");
  EXPECT_EQ(records[3]["input"], "sub/b.bmp");
  EXPECT_EQ(records[4]["input"], (images_ / "a.bmp").string());  // as written, absolute
  EXPECT_NE(records[1]["error"].get<std::string>().find("cannot open"), std::string::npos) << lines[1];
  EXPECT_NE(records[2]["error"].get<std::string>().find("not an image"), std::string::npos) << lines[2];
  EXPECT_FALSE(records[0].contains("error"));
  // The documented form, to the byte.
  EXPECT_EQ(lines[1].rfind("{\"input\": \"missing.png\", \"error\": \"cannot open: ", 0), 0u) << lines[1];
  EXPECT_EQ(lines[0].rfind("{\"input\": \"a.bmp\", \"top\": [{\"label\": \"", 0), 0u) << lines[0];

  for (int r : {0, 3}) {
    const json& top = records[r]["top"];
    ASSERT_EQ(top.size(), 2u);
    EXPECT_GE(top[0]["prob"].get<double>(), top[1]["prob"].get<double>());
    torch::Tensor probs = torch::softmax(
        Direct(images_ / records[r]["input"].get<std::string>(), "forward"), 0);
    for (const json& t : top) {
      const int64_t index = t["index"].get<int64_t>();
      EXPECT_EQ(t["label"], kClasses[static_cast<size_t>(index)]);
      EXPECT_NEAR(t["prob"].get<double>(), probs[index].item<double>(), 1e-5);
    }
    EXPECT_EQ(top[0]["index"].get<int64_t>(), probs.argmax().item<int64_t>());
  }
  EXPECT_EQ(records[4]["top"], records[0]["top"]);

  // More labels than classes: all of them, summing to one.
  InferOptions all = Options("sub/b.bmp\n", "all.jsonl");
  all.top_k = 10;
  ASSERT_EQ(Run(all), kExitOk);
  json one = json::parse(Lines(all.output).at(0));
  ASSERT_EQ(one["top"].size(), kClasses.size());
  double sum = 0;
  for (const json& t : one["top"]) sum += t["prob"].get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-5);
}

TEST_F(InferTest, FeaturesAreTheModelsEmbedding) {
  json card = json::parse(std::ifstream(bundle_ / "bundle.json"));
  ASSERT_EQ(card["output"]["features"], 32);  // MobileNetV2 block_3
  InferOptions o = Options("a.bmp\nmissing.png\n", "features.jsonl");
  o.features = true;
  std::string err;
  ASSERT_EQ(Run(o, &err), kExitOk) << err;
  std::vector<std::string> lines = Lines(o.output);
  ASSERT_EQ(lines.size(), 2u);
  json record = json::parse(lines[0]);
  ASSERT_EQ(record["features"].size(), 32u);
  torch::Tensor want = Direct(images_ / "a.bmp", "features");
  const double scale = want.abs().max().item<double>();
  ASSERT_GT(scale, 0);
  for (int64_t i = 0; i < 32; ++i) {
    EXPECT_NEAR(record["features"][static_cast<size_t>(i)].get<double>(), want[i].item<double>(),
                1e-5 * scale);
  }
  EXPECT_TRUE(json::parse(lines[1]).contains("error"));

  InferOptions csv = Options("a.bmp\n", "features.csv");
  csv.features = true;
  csv.format = RecordFormat::kCsv;
  ASSERT_EQ(Run(csv), kExitOk);
  std::vector<std::string> rows = Lines(csv.output);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].rfind("input,f_0,f_1,", 0), 0u);
  EXPECT_NE(rows[0].find(",f_31,error"), std::string::npos) << rows[0];
  EXPECT_EQ(std::count(rows[1].begin(), rows[1].end(), ','), 33);
}

TEST_F(InferTest, CsvQuotesHostileNamesAndLabels) {
  InferOptions o = Options("we,ird \"name\".bmp\nno \"such\", file.png\n", "out.csv");
  o.format = RecordFormat::kCsv;
  o.top_k = 3;
  std::string err;
  ASSERT_EQ(Run(o, &err), kExitOk) << err;
  std::vector<std::string> rows = Lines(o.output);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], "input,label_1,prob_1,label_2,prob_2,label_3,prob_3,error");
  EXPECT_EQ(rows[1].rfind("\"we,ird \"\"name\"\".bmp\",", 0), 0u) << rows[1];
  EXPECT_NE(rows[1].find("\"dog, \"\"big\"\"\""), std::string::npos) << rows[1];
  EXPECT_EQ(rows[1].back(), ',');  // no error
  EXPECT_EQ(rows[2].rfind("\"no \"\"such\"\", file.png\",,,,,,,cannot open: ", 0), 0u) << rows[2];
  EXPECT_EQ(FormatFloat(0.1f), "0.100000001");  // 9 significant digits: the float exactly
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField("a\nb"), "\"a\nb\"");
}

TEST_F(InferTest, TamperedOrForeignModelsAreRefused) {
  const std::string good = Sha256File((bundle_ / "model.pt").string()).value();
  std::ofstream(bundle_ / "model.pt", std::ios::app) << "x";
  const std::string bad = Sha256File((bundle_ / "model.pt").string()).value();
  InferOptions o = Options("a.bmp\n", "out.jsonl");
  std::string err;
  EXPECT_EQ(Run(o, &err), kExitUsage);
  EXPECT_NE(err.find("model.pt"), std::string::npos) << err;
  EXPECT_NE(err.find("expected sha256 " + good + ", found " + bad), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(o.output));

  WriteFile(bundle_ / "model.pt", "not a zip archive");
  Rehash();
  EXPECT_EQ(Run(o, &err), kExitUsage);
  EXPECT_NE(err.find("model.pt is not a TorchScript model"), std::string::npos) << err;
  EXPECT_EQ(err.find("Exception raised from"), std::string::npos) << err;  // no backtrace

  WriteFile(bundle_ / "bundle.json", "{\"format\": \"something-else\"}");
  EXPECT_EQ(Run(o, &err), kExitUsage);
  EXPECT_NE(err.find("not an Orchard bundle"), std::string::npos) << err;
}

// Bundles written before features() existed still classify, and refuse
// --features with a clear message.
TEST_F(InferTest, ModelsWithoutFeaturesRefuseOnlyFeatures) {
  torch::jit::Module old("OldClassifier");
  old.define("def forward(self, x):\n"
             "    return torch.mean(x, [2, 3])\n");  // 3 "logits" for 3 classes
  old.save((bundle_ / "model.pt").string());
  Rehash();
  InferOptions o = Options("a.bmp\n", "out.jsonl");
  o.features = true;
  std::string err;
  EXPECT_EQ(Run(o, &err), kExitUsage);
  EXPECT_NE(err.find("no features() method"), std::string::npos) << err;
  o.features = false;
  ASSERT_EQ(Run(o, &err), kExitOk) << err;
  EXPECT_EQ(json::parse(Lines(o.output).at(0))["top"].size(), 3u);
}

TEST_F(InferTest, ShardsSkipDoneOnesAndALockedShardIsRefused) {
  const fs::path l1 = folder_.Write("s1.list", "a.bmp\n");
  const fs::path l2 = folder_.Write("s2.list", "sub/b.bmp\n");
  const fs::path l3 = folder_.Write("s3.list", "garbage.png\nsub/b.bmp\n");
  folder_.Write("s2.out", "done before\n");
  const fs::path shards = folder_.Write(
      "shards.tsv", l1.string() + "\t" + (dir() / "s1.out").string() + "\n" + l2.string() + "\t" +
                        (dir() / "s2.out").string() + "\n\n" + l3.string() + "\t" +
                        (dir() / "s3.out").string() + "\n");
  InferOptions o;
  o.bundle = bundle_.string();
  o.shards = shards.string();
  o.root = images_.string();
  o.threads = 1;
  std::string err;
  ASSERT_EQ(Run(o, &err), kExitOk) << err;
  EXPECT_EQ(Lines(dir() / "s1.out").size(), 1u);
  EXPECT_EQ(Lines(dir() / "s2.out"), std::vector<std::string>{"done before"});
  EXPECT_EQ(Lines(dir() / "s3.out").size(), 2u);
  EXPECT_EQ(json::parse(Lines(dir() / "s3.out")[1])["input"], "sub/b.bmp");
  for (const char* name : {"s1.out.tmp", "s3.out.tmp"}) EXPECT_FALSE(fs::exists(dir() / name));

  // Another worker holds shard 4.
  InferOptions locked = Options("a.bmp\n", "s4.out");
  const int fd = ::open((locked.output + ".lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  EXPECT_EQ(Run(locked, &err), kExitFailed);
  EXPECT_NE(err.find("another worker is writing"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(locked.output));
  ::close(fd);
  EXPECT_EQ(Run(locked, &err), kExitOk) << err;
  EXPECT_TRUE(fs::exists(locked.output));

  // A malformed shards line is a usage error naming the line.
  WriteFile(dir() / "bad.tsv", "just-one-column\n");
  o.shards = (dir() / "bad.tsv").string();
  EXPECT_EQ(Run(o, &err), kExitUsage);
  EXPECT_NE(err.find("bad.tsv:1"), std::string::npos) << err;
}

TEST_F(InferTest, FreezingKeepsOutputsWithinTolerance) {
  const std::string list = "a.bmp\nsub/b.bmp\nwe,ird \"name\".bmp\n";
  InferOptions frozen = Options(list, "frozen.jsonl");
  frozen.features = true;
  InferOptions plain = Options(list, "plain.jsonl");
  plain.features = true;
  plain.freeze = false;
  ASSERT_EQ(Run(frozen), kExitOk);
  ASSERT_EQ(Run(plain), kExitOk);
  std::vector<std::string> a = Lines(frozen.output), b = Lines(plain.output);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  for (size_t i = 0; i < a.size(); ++i) {
    json fa = json::parse(a[i])["features"], fb = json::parse(b[i])["features"];
    double scale = 0;
    for (const json& v : fb) scale = std::max(scale, std::abs(v.get<double>()));
    for (size_t j = 0; j < fa.size(); ++j) {
      EXPECT_NEAR(fa[j].get<double>(), fb[j].get<double>(), 1e-5 * scale);
    }
  }
}

}  // namespace
}  // namespace orchard::trainer
