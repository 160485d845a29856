#include "trainer/model/mobilenet_v2.h"

#include <gtest/gtest.h>
#include <torch/script.h>

#include <fstream>

#include "trainer/model/run_command.h"
#include "trainer/test_util.h"

namespace orchard::trainer {
namespace {


// Keras weights for the units up to "block_3", written out from Keras's
// naming (independently of mobilenet_v2.cc's tables), random values.
KerasWeights KerasWeightsToBlock3() {
  torch::manual_seed(7);
  KerasWeights w;
  auto bn = [&](const std::string& layer, int64_t c) {
    w[layer + "/gamma"] = torch::rand({c}) + 0.5;
    w[layer + "/beta"] = torch::randn({c});
    w[layer + "/moving_mean"] = torch::randn({c});
    w[layer + "/moving_variance"] = torch::rand({c}) + 0.5;
  };
  w["Conv1/kernel"] = torch::randn({3, 3, 3, 32});
  bn("bn_Conv1", 32);
  w["expanded_conv_depthwise/depthwise_kernel"] = torch::randn({3, 3, 32, 1});
  bn("expanded_conv_depthwise_BN", 32);
  w["expanded_conv_project/kernel"] = torch::randn({1, 1, 32, 16});
  bn("expanded_conv_project_BN", 16);
  const struct {
    const char* name;
    int64_t in, out;
  } blocks[] = {{"block_1", 16, 24}, {"block_2", 24, 24}, {"block_3", 24, 32}};
  for (const auto& b : blocks) {
    const std::string p = std::string(b.name) + "_";
    w[p + "expand/kernel"] = torch::randn({1, 1, b.in, 6 * b.in});
    bn(p + "expand_BN", 6 * b.in);
    w[p + "depthwise/depthwise_kernel"] = torch::randn({3, 3, 6 * b.in, 1});
    bn(p + "depthwise_BN", 6 * b.in);
    w[p + "project/kernel"] = torch::randn({1, 1, 6 * b.in, b.out});
    bn(p + "project_BN", b.out);
  }
  return w;
}

std::vector<torch::Tensor> Snapshot(const torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.clone());
  for (const auto& b : m.buffers()) out.push_back(b.clone());
  return out;
}

bool SameTensors(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].equal(b[i])) return false;
  }
  return true;
}

TEST(MobileNetV2, UnitNamesInOrder) {
  const auto& all = MobileNetV2Impl::AllUnitNames();
  ASSERT_EQ(all.size(), 19u);
  EXPECT_EQ(all[0], "Conv1");
  EXPECT_EQ(all[1], "expanded_conv");
  for (int i = 1; i <= 16; ++i) EXPECT_EQ(all[i + 1], "block_" + std::to_string(i));
  EXPECT_EQ(all[18], "Conv_1");

  MobileNetV2 net;  // default: up to block_10
  const auto units = net->units();
  ASSERT_EQ(units.size(), 12u);
  size_t unit_params = 0;
  for (size_t i = 0; i < units.size(); ++i) {
    EXPECT_EQ(units[i].first, all[i]);
    EXPECT_FALSE(units[i].second->parameters().empty()) << units[i].first;
    unit_params += units[i].second->parameters().size();
  }
  // Freezing units one by one reaches every parameter of the network.
  EXPECT_EQ(unit_params, net->parameters().size());
}

TEST(MobileNetV2, CutPointsSetChannelsAndStride) {
  torch::NoGradGuard no_grad;
  const auto x = torch::rand({2, 3, 64, 64});
  const struct {
    const char* unit;
    int64_t channels, size;
  } cuts[] = {{"Conv1", 32, 32},   {"expanded_conv", 16, 32}, {"block_3", 32, 8},
              {"block_10", 96, 4}, {"block_16", 320, 2},      {"Conv_1", 1280, 2}};
  for (const auto& cut : cuts) {
    MobileNetV2 net(MobileNetV2Options{.last_unit = cut.unit});
    net->eval();
    EXPECT_EQ(net->out_channels(), cut.channels) << cut.unit;
    EXPECT_EQ(net->forward(x).sizes(), torch::IntArrayRef({2, cut.channels, cut.size, cut.size}))
        << cut.unit;
  }
  // Odd sizes: Keras's stride-2 padding stays bottom/right, (0, 1).
  MobileNetV2 net(MobileNetV2Options{.last_unit = "block_3"});
  EXPECT_EQ(net->forward(torch::rand({1, 3, 33, 45})).sizes(), torch::IntArrayRef({1, 32, 4, 5}));
}

TEST(MobileNetV2, InvalidUnitIsAnError) {
  const Status s = MobileNetV2Impl::ValidateOptions({.last_unit = "block_17"});
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("'block_17'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("block_10"), std::string::npos) << s.message();
  EXPECT_THROW(MobileNetV2(MobileNetV2Options{.last_unit = "block_17"}), c10::Error);
  EXPECT_FALSE(MobileNetV2Impl::ValidateOptions({.bn_eps = 0}).ok());
}

TEST(MobileNetV2, DefaultInitialisationLikeTorchvision) {
  MobileNetV2 net(MobileNetV2Options{.last_unit = "Conv1"});
  auto params = net->named_parameters();
  EXPECT_TRUE(params["Conv1.conv_bn.weight"].equal(torch::ones({32})));
  EXPECT_TRUE(params["Conv1.conv_bn.bias"].equal(torch::zeros({32})));
  // Kaiming normal, fan_out = 32 * 3 * 3: std = sqrt(2 / 288) = 0.083.
  const double std = params["Conv1.conv.weight"].std().item<double>();
  EXPECT_NEAR(std, 0.083, 0.02);
}

TEST(MobileNetV2, LoadsKerasWeightsTransposed) {
  const KerasWeights w = KerasWeightsToBlock3();
  MobileNetV2 net(MobileNetV2Options{.last_unit = "block_3"});
  ASSERT_TRUE(net->LoadKerasWeights(w).ok());
  auto params = net->named_parameters();
  auto buffers = net->named_buffers();
  EXPECT_TRUE(params["Conv1.conv.weight"].equal(w.at("Conv1/kernel").permute({3, 2, 0, 1})));
  EXPECT_TRUE(params["block_2.depthwise.weight"].equal(
      w.at("block_2_depthwise/depthwise_kernel").permute({2, 3, 0, 1})));
  EXPECT_EQ(params["block_2.depthwise.weight"].sizes(), torch::IntArrayRef({144, 1, 3, 3}));
  EXPECT_TRUE(
      buffers["block_3.project_bn.running_var"].equal(w.at("block_3_project_BN/moving_variance")));

  // A shorter network ignores the weights of the units it does not have.
  MobileNetV2 shorter(MobileNetV2Options{.last_unit = "block_1"});
  EXPECT_TRUE(shorter->LoadKerasWeights(w).ok());
}

TEST(MobileNetV2, MissingOrMisshapedWeightChangesNothing) {
  MobileNetV2 net(MobileNetV2Options{.last_unit = "block_3"});
  const auto before = Snapshot(*net);

  KerasWeights missing = KerasWeightsToBlock3();
  missing.erase("block_3_project_BN/moving_mean");
  Status s = net->LoadKerasWeights(missing);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_NE(s.message().find("block_3_project_BN/moving_mean"), std::string::npos) << s.message();

  KerasWeights misshaped = KerasWeightsToBlock3();
  misshaped["block_2_expand/kernel"] = torch::zeros({1, 1, 144, 24});
  s = net->LoadKerasWeights(misshaped);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("block_2_expand/kernel"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("[1, 1, 24, 144]"), std::string::npos) << s.message();

  EXPECT_TRUE(SameTensors(before, Snapshot(*net)));
  // A network cut before block_3 does not need its weights.
  EXPECT_TRUE(
      MobileNetV2(MobileNetV2Options{.last_unit = "block_2"})->LoadKerasWeights(missing).ok());
}

void WriteRaw(const std::filesystem::path& path, const torch::Tensor& t) {
  const auto c = t.contiguous();
  std::ofstream(path, std::ios::binary)
      .write(static_cast<const char*>(c.data_ptr()), c.numel() * sizeof(float));
}

torch::Tensor ReadRaw(const std::filesystem::path& path, torch::IntArrayRef shape) {
  auto t = torch::empty(shape, torch::kFloat32);
  std::ifstream in(path, std::ios::binary);
  in.read(static_cast<char*>(t.data_ptr()), t.numel() * sizeof(float));
  EXPECT_TRUE(in && in.peek() == EOF) << path << " does not hold " << t.numel() << " floats";
  return t;
}

// The whole network, with non-trivial BatchNorm statistics, exported as
// TorchScript: libtorch and Python's torch.jit.load compute what forward() does.
TEST(MobileNetV2, EmitTorchScriptMatchesForward) {
  torch::manual_seed(3);
  MobileNetV2 net(MobileNetV2Options{.last_unit = "Conv_1"});
  {
    torch::NoGradGuard no_grad;
    for (auto& b : net->named_buffers()) {
      if (b.key().ends_with("running_mean")) b.value().normal_(0, 0.2);
      if (b.key().ends_with("running_var")) b.value().uniform_(0.5, 2);
    }
    for (auto& p : net->named_parameters()) {
      if (p.key().ends_with("_bn.weight")) p.value().uniform_(0.5, 1.5);
      if (p.key().ends_with("_bn.bias")) p.value().normal_(0, 0.2);
    }
  }
  net->eval();
  const auto x = torch::rand({2, 3, 64, 64});
  torch::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = net->forward(x);
  }

  torch::jit::Module module("Backbone");
  const std::string code = net->EmitTorchScript(&module);
  module.define("def forward(self, x):\n" + code + "    return x\n");
  EXPECT_TRUE(module.hasattr("block_1_expand_kernel"));
  EXPECT_TRUE(module.hasattr("bn_Conv1_moving_variance"));
  torch::NoGradGuard no_grad;
  const auto scripted = module.forward({x}).toTensor();
  EXPECT_LE((scripted - expected).abs().max().item<float>(), 1e-5);

  TempFolder dir;
  const auto model_path = dir.path() / "backbone.pt";
  module.save(model_path.string());
  auto loaded = torch::jit::load(model_path.string());
  EXPECT_LE((loaded.forward({x}).toTensor() - expected).abs().max().item<float>(), 1e-5);

  WriteRaw(dir.path() / "x.f32", x);
  const std::string python =
      "import sys, torch\n"
      "model, src, dst = sys.argv[1:]\n"
      "m = torch.jit.load(model)\n"
      "x = torch.frombuffer(bytearray(open(src, 'rb').read()), dtype=torch.float32)\n"
      "with torch.no_grad():\n"
      "    y = m(x.reshape(2, 3, 64, 64))\n"
      "y.contiguous().numpy().tofile(dst)\n";
  auto run = RunCommand({"/usr/bin/python3", "-c", python, model_path.string(),
                         (dir.path() / "x.f32").string(), (dir.path() / "y.f32").string()});
  ASSERT_TRUE(run.ok()) << run.status().message() << "\n(python3-torch is a test dependency)";
  const auto from_python = ReadRaw(dir.path() / "y.f32", expected.sizes());
  EXPECT_LE((from_python - expected).abs().max().item<float>(), 1e-5);
}

}  // namespace
}  // namespace orchard::trainer
