// Network: the native MobileNetV2 and TorchScript backbones, freezing, state,
// and TorchScript export checked in Python's torch.jit.load.
#include "trainer/train/network.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/script.h>

#include "trainer/test_util.h"
#include "trainer/train/preprocess.h"

namespace orchard::trainer {
namespace {

namespace fs = std::filesystem;

// Runs /usr/bin/python3 on `script`; returns its exit status, output in *out.
int RunPython(const std::string& script, const fs::path& dir, std::string* out) {
  fs::path file = dir / "script.py";
  std::ofstream(file) << script;
  std::string command = "/usr/bin/python3 " + file.string() + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out->append(buf, n);
  return pclose(pipe);
}

void WriteRaw(const torch::Tensor& t, const fs::path& path) {
  torch::Tensor c = t.contiguous().to(torch::kFloat32);
  std::ofstream(path, std::ios::binary)
      .write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.numel() * 4));
}

// Loads `model` in Python, runs it on `input` and prints the largest
// difference from `expected` (raw float32 files written by WriteRaw).
double PythonMaxDiff(const fs::path& model, const torch::Tensor& input, const torch::Tensor& expected,
                     const fs::path& dir) {
  WriteRaw(input, dir / "input.f32");
  WriteRaw(expected, dir / "expected.f32");
  std::string shape = c10::str(input.sizes());
  std::string script =
      "import numpy, torch\n"
      "m = torch.jit.load('" + model.string() + "')\n"
      "m.eval()\n"
      "x = torch.from_numpy(numpy.fromfile('" + (dir / "input.f32").string() + "', dtype=numpy.float32))"
      ".reshape(" + shape + ")\n"
      "want = numpy.fromfile('" + (dir / "expected.f32").string() + "', dtype=numpy.float32)\n"
      "with torch.no_grad():\n"
      "    got = m(x).numpy().reshape(-1)\n"
      "print('maxdiff', float(abs(got - want).max()) if got.shape == want.shape else 1e9)\n";
  std::string out;
  int status = RunPython(script, dir, &out);
  EXPECT_EQ(status, 0) << out;
  size_t at = out.rfind("maxdiff ");
  if (at == std::string::npos) return 1e9;
  return std::stod(out.substr(at + 8));
}

NetworkOptions RandomMobileNet(const std::string& cut) {
  NetworkOptions o;
  o.pretrained = false;
  o.cut = cut;
  o.num_classes = 4;
  o.seed = 3;
  return o;
}

TEST(NetworkTest, FreezingFollowsUnits) {
  Result<std::unique_ptr<Network>> net = Network::Create(RandomMobileNet("block_3"));
  ASSERT_TRUE(net.ok()) << net.status().message();
  Network& n = *net.value();
  EXPECT_EQ(n.feature_dim(), 32);
  std::vector<std::string> units = n.UnitNames();
  ASSERT_EQ(units.size(), 5u);  // Conv1, expanded_conv, block_1..3
  EXPECT_EQ(units.front(), "Conv1");
  EXPECT_EQ(units.back(), "block_3");
  n.SetUnfrozen(0);
  EXPECT_TRUE(n.BackboneFrozen());
  n.SetUnfrozen(1);
  const size_t last_only = n.BackboneTrainableParameters().size();
  EXPECT_GT(last_only, 0u);
  n.SetUnfrozen(-1);
  const size_t all = n.BackboneTrainableParameters().size();
  EXPECT_GT(all, last_only);
  n.SetUnfrozen(100);  // more than there are: all of them
  EXPECT_EQ(n.BackboneTrainableParameters().size(), all);
}

TEST(NetworkTest, SameSeedSameHeadAndStateRoundTrips) {
  auto a = Network::Create(RandomMobileNet("block_3"));
  auto b = Network::Create(RandomMobileNet("block_3"));
  ASSERT_TRUE(a.ok() && b.ok());
  torch::Tensor x = torch::rand({2, 3, 32, 32});
  a.value()->SetTraining(false, false);
  b.value()->SetTraining(false, false);
  torch::Tensor ya = a.value()->Head(a.value()->Features(x));
  EXPECT_TRUE(torch::equal(ya, b.value()->Head(b.value()->Features(x))));

  NetworkOptions other = RandomMobileNet("block_3");
  other.seed = 4;
  auto c = Network::Create(other);
  ASSERT_TRUE(c.ok());
  c.value()->SetTraining(false, false);
  EXPECT_FALSE(torch::equal(ya, c.value()->Head(c.value()->Features(x))));
  ASSERT_TRUE(c.value()->LoadState(a.value()->State()).ok());
  EXPECT_TRUE(torch::equal(ya, c.value()->Head(c.value()->Features(x))));

  std::vector<std::pair<std::string, torch::Tensor>> partial = a.value()->State();
  partial.pop_back();
  Status missing = c.value()->LoadState(partial);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("head.bias"), std::string::npos);
}

TEST(NetworkTest, MobileNetExportRunsTheSameInCppAndPython) {
  TempFolder folder;
  const fs::path& dir = folder.path();
  auto net = Network::Create(RandomMobileNet("block_6"));
  ASSERT_TRUE(net.ok());
  Network& n = *net.value();
  n.SetTraining(false, false);
  ExportSpec spec;
  spec.image_size = 48;
  spec.normalization = {{0.5, 0.4, 0.3}, {0.2, 0.25, 0.3}};
  ASSERT_TRUE(n.ExportTorchScript(dir / "model.pt", spec).ok());

  torch::Tensor pixels = torch::rand({3, 3, 48, 48});
  torch::Tensor mean = torch::tensor({0.5f, 0.4f, 0.3f}).view({1, 3, 1, 1});
  torch::Tensor std_dev = torch::tensor({0.2f, 0.25f, 0.3f}).view({1, 3, 1, 1});
  torch::NoGradGuard no_grad;
  torch::Tensor native = n.Head(n.Features((pixels - mean) / std_dev));
  torch::jit::Module loaded = torch::jit::load((dir / "model.pt").string());
  torch::Tensor exported = loaded.forward({pixels}).toTensor();
  EXPECT_LE((exported - native).abs().max().item<double>(), 1e-4);
  // features(): the pooled backbone output, [N, D].
  torch::Tensor features = loaded.run_method("features", pixels).toTensor();
  torch::Tensor native_features = n.Features((pixels - mean) / std_dev);
  ASSERT_EQ(features.sizes(), native_features.sizes());
  EXPECT_EQ(features.size(1), n.feature_dim());
  EXPECT_LE((features - native_features).abs().max().item<double>(),
            1e-4 * native_features.abs().max().item<double>());
  EXPECT_LE(PythonMaxDiff(dir / "model.pt", pixels, native, dir), 1e-4);
}

// A torchvision ResNet-18 scripted by Debian's python3-torchvision (random
// weights: this is about compatibility), fine-tuned a few steps with its head
// replaced, exported, and run again in Python.
TEST(NetworkTest, TorchScriptResNet18FineTunesAndExports) {
  TempFolder folder;
  const fs::path& dir = folder.path();
  std::string out;
  ASSERT_EQ(RunPython("import torch, torchvision\n"
                      "torch.manual_seed(0)\n"
                      "m = torchvision.models.resnet18(weights=None)\n"
                      "torch.jit.script(m.eval()).save('" + (dir / "resnet18.pt").string() + "')\n",
                      dir, &out),
            0)
      << out;
  NetworkOptions o;
  o.backbone = "torchscript:" + (dir / "resnet18.pt").string();
  o.num_classes = 3;
  o.seed = 1;
  auto net = Network::Create(o);
  ASSERT_TRUE(net.ok()) << net.status().message();
  Network& n = *net.value();
  EXPECT_EQ(n.feature_dim(), 512);
  std::vector<std::string> units = n.UnitNames();
  EXPECT_EQ(units.front(), "conv1");
  EXPECT_EQ(std::count(units.begin(), units.end(), "fc"), 0);
  EXPECT_EQ(std::count(units.begin(), units.end(), "layer4"), 1);

  // Fine-tune layer4 (and avgpool) plus the new head on a toy problem.
  n.SetUnfrozen(2);
  ASSERT_FALSE(n.BackboneFrozen());
  std::vector<torch::Tensor> params = n.HeadParameters();
  for (auto& p : n.BackboneTrainableParameters()) params.push_back(p);
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(0.01));
  torch::manual_seed(0);
  torch::Tensor x = torch::rand({6, 3, 64, 64});
  torch::Tensor y = torch::tensor({0, 1, 2, 0, 1, 2}, torch::kInt64);
  ASSERT_EQ(n.State()[0].first, "backbone.conv1.weight");
  torch::Tensor conv1_before = n.State()[0].second.clone();
  n.SetTraining(true, false);
  double first_loss = 0, last_loss = 0;
  for (int step = 0; step < 8; ++step) {
    torch::Tensor loss = torch::nn::functional::cross_entropy(n.Head(n.Features(x)), y);
    if (step == 0) first_loss = loss.item<double>();
    last_loss = loss.item<double>();
    sgd.zero_grad();
    loss.backward();
    sgd.step();
  }
  EXPECT_LT(last_loss, first_loss);
  // conv1 is frozen: unchanged.
  EXPECT_TRUE(torch::equal(conv1_before, n.State()[0].second));

  n.SetTraining(false, false);
  ExportSpec spec;
  spec.image_size = 64;
  spec.normalization = n.default_normalization();
  ASSERT_TRUE(n.ExportTorchScript(dir / "model.pt", spec).ok());
  torch::NoGradGuard no_grad;
  torch::Tensor mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
  torch::Tensor std_dev = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
  torch::Tensor native = n.Head(n.Features((x - mean) / std_dev));
  EXPECT_EQ(native.size(1), 3);
  EXPECT_LE(PythonMaxDiff(dir / "model.pt", x, native, dir), 1e-4);
  // The network itself still yields features after the export, and so does
  // the exported module: the backbone's output with the identity classifier.
  torch::Tensor native_features = n.Features((x - mean) / std_dev);
  EXPECT_EQ(native_features.size(1), 512);
  torch::jit::Module loaded = torch::jit::load((dir / "model.pt").string());
  torch::Tensor features = loaded.run_method("features", x).toTensor();
  ASSERT_EQ(features.sizes(), native_features.sizes());
  EXPECT_LE((features - native_features).abs().max().item<double>(), 1e-4);
}

TEST(NetworkTest, BadTorchScriptFilesAreClearErrors) {
  TempFolder folder;
  const fs::path& dir = folder.path();
  NetworkOptions o;
  o.backbone = "torchscript:" + (dir / "missing.pt").string();
  Result<std::unique_ptr<Network>> missing = Network::Create(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing.pt"), std::string::npos);

  std::ofstream(dir / "garbage.pt") << "this is not a zip archive";
  o.backbone = "torchscript:" + (dir / "garbage.pt").string();
  Result<std::unique_ptr<Network>> garbage = Network::Create(o);
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("not a TorchScript model"), std::string::npos);

  std::string out;
  ASSERT_EQ(RunPython("import torch\n"
                      "torch.jit.script(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()))"
                      ".save('" + (dir / "nohead.pt").string() + "')\n",
                      dir, &out),
            0)
      << out;
  o.backbone = "torchscript:" + (dir / "nohead.pt").string();
  Result<std::unique_ptr<Network>> nohead = Network::Create(o);
  ASSERT_FALSE(nohead.ok());
  EXPECT_NE(nohead.status().message().find("no Linear layer"), std::string::npos);
}

}  // namespace
}  // namespace orchard::trainer
