#include "trainer/model/mobilenet_v2.h"

#include <torch/script.h>

#include <algorithm>
#include <charconv>

namespace orchard::trainer {

namespace {

// One convolution followed by BatchNorm (and ReLU6 unless it is a linear
// bottleneck), named as Keras names the two layers.
struct LayerSpec {
  std::string role;      // submodule name inside the unit: "conv", "expand", ...
  std::string keras;     // Keras conv layer ("block_1_expand")
  std::string keras_bn;  // Keras BatchNorm layer ("block_1_expand_BN")
  int64_t in = 0, out = 0, kernel = 1, stride = 1;
  bool depthwise = false;
  bool relu6 = true;
};

struct UnitSpec {
  std::string name;
  std::vector<LayerSpec> layers;
  bool residual = false;
  int64_t out = 0;
};

// tf.keras.applications.MobileNetV2 with alpha 1.0: the stem, 17 inverted
// residual units (expansion t, output channels, stride), and the 1x1 conv to 1280.
std::vector<UnitSpec> FullNetwork() {
  struct Block {
    int t;
    int64_t out;
    int64_t stride;
  };
  static constexpr Block kBlocks[] = {
      {1, 16, 1},                                         // expanded_conv
      {6, 24, 2},  {6, 24, 1},                            // block_1, 2
      {6, 32, 2},  {6, 32, 1},  {6, 32, 1},               // block_3 .. 5
      {6, 64, 2},  {6, 64, 1},  {6, 64, 1},  {6, 64, 1},  // block_6 .. 9
      {6, 96, 1},  {6, 96, 1},  {6, 96, 1},               // block_10 .. 12
      {6, 160, 2}, {6, 160, 1}, {6, 160, 1},              // block_13 .. 15
      {6, 320, 1},                                        // block_16
  };
  std::vector<UnitSpec> units;
  units.push_back({"Conv1", {{"conv", "Conv1", "bn_Conv1", 3, 32, 3, 2}}, false, 32});
  int64_t in = 32;
  for (size_t i = 0; i < std::size(kBlocks); ++i) {
    const Block& b = kBlocks[i];
    UnitSpec u;
    u.name = i == 0 ? "expanded_conv" : "block_" + std::to_string(i);
    const std::string p = u.name + "_";
    const int64_t hidden = in * b.t;
    if (b.t != 1) u.layers.push_back({"expand", p + "expand", p + "expand_BN", in, hidden});
    u.layers.push_back({"depthwise", p + "depthwise", p + "depthwise_BN", hidden, hidden, 3,
                        b.stride, /*depthwise=*/true});
    u.layers.push_back({"project", p + "project", p + "project_BN", hidden, b.out, 1, 1, false,
                        /*relu6=*/false});
    u.residual = b.stride == 1 && in == b.out;
    u.out = b.out;
    units.push_back(std::move(u));
    in = b.out;
  }
  units.push_back({"Conv_1", {{"conv", "Conv_1", "Conv_1_bn", 320, 1280}}, false, 1280});
  return units;
}

const std::vector<UnitSpec>& Network() {
  static const std::vector<UnitSpec> kNetwork = FullNetwork();
  return kNetwork;
}

// Stride-1 convolutions are Keras 'same' (odd kernels: symmetric padding);
// stride-2 ones get an explicit bottom/right zero pad first, then 'valid'.
int64_t SymmetricPadding(const LayerSpec& s) { return s.stride == 1 ? s.kernel / 2 : 0; }

// A float literal TorchScript parses as a float, never as an int.
std::string FloatLiteral(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  std::string s(buf, end);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string AttributeName(std::string keras_name) {
  for (char& c : keras_name) {
    if (c == '/' || c == '.') c = '_';
  }
  return keras_name;
}

}  // namespace

class MobileNetV2Unit : public torch::nn::Module {
 public:
  MobileNetV2Unit(const UnitSpec& spec, const MobileNetV2Options& options) : spec_(spec) {
    for (const LayerSpec& l : spec_.layers) {
      auto conv =
          register_module(l.role, torch::nn::Conv2d(torch::nn::Conv2dOptions(l.in, l.out, l.kernel)
                                                        .stride(l.stride)
                                                        .padding(SymmetricPadding(l))
                                                        .groups(l.depthwise ? l.in : 1)
                                                        .bias(false)));
      auto bn = register_module(l.role + "_bn",
                                torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(l.out)
                                                           .eps(options.bn_eps)
                                                           .momentum(options.bn_momentum)));
      // torchvision's initialisation, so that an untrained network is a fair
      // from-scratch baseline.
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
      torch::nn::init::ones_(bn->weight);
      torch::nn::init::zeros_(bn->bias);
      convs_.push_back(conv);
      bns_.push_back(bn);
    }
  }

  torch::Tensor forward(torch::Tensor x) {
    const torch::Tensor input = x;
    for (size_t i = 0; i < convs_.size(); ++i) {
      if (spec_.layers[i].stride == 2) x = torch::constant_pad_nd(x, {0, 1, 0, 1});
      x = bns_[i]->forward(convs_[i]->forward(x));
      if (spec_.layers[i].relu6) x = x.clamp(0, 6);
    }
    return spec_.residual ? x + input : x;
  }

  // Pairs every tensor of this unit with the Keras weight it comes from,
  // checking names and shapes first so that a failed load changes nothing.
  Status MatchKerasWeights(const KerasWeights& weights,
                           std::vector<std::pair<torch::Tensor, torch::Tensor>>* copies) const {
    for (size_t i = 0; i < convs_.size(); ++i) {
      const LayerSpec& l = spec_.layers[i];
      auto take = [&](const std::string& name, torch::Tensor dest, std::vector<int64_t> keras_shape,
                      std::vector<int64_t> to_torch) -> Status {
        auto it = weights.find(name);
        if (it == weights.end()) return Status::NotFound("missing weight " + name);
        const torch::Tensor& w = it->second;
        if (w.sizes() != torch::IntArrayRef(keras_shape)) {
          return Status::InvalidArgument("weight " + name + " has shape " + c10::str(w.sizes()) +
                                         ", expected " + c10::str(torch::IntArrayRef(keras_shape)));
        }
        if (!w.is_floating_point()) {
          return Status::InvalidArgument("weight " + name + " is " +
                                         std::string(c10::toString(w.scalar_type())) +
                                         ", expected float");
        }
        copies->emplace_back(dest, to_torch.empty() ? w : w.permute(to_torch));
        return Status::Ok();
      };
      if (l.depthwise) {
        // [kh, kw, in, 1] -> [in, 1, kh, kw]
        ORCHARD_RETURN_IF_ERROR(take(l.keras + "/depthwise_kernel", convs_[i]->weight,
                                     {l.kernel, l.kernel, l.in, 1}, {2, 3, 0, 1}));
      } else {
        // [kh, kw, in, out] -> [out, in, kh, kw]
        ORCHARD_RETURN_IF_ERROR(take(l.keras + "/kernel", convs_[i]->weight,
                                     {l.kernel, l.kernel, l.in, l.out}, {3, 2, 0, 1}));
      }
      const auto& bn = bns_[i];
      ORCHARD_RETURN_IF_ERROR(take(l.keras_bn + "/gamma", bn->weight, {l.out}, {}));
      ORCHARD_RETURN_IF_ERROR(take(l.keras_bn + "/beta", bn->bias, {l.out}, {}));
      ORCHARD_RETURN_IF_ERROR(take(l.keras_bn + "/moving_mean", bn->running_mean, {l.out}, {}));
      ORCHARD_RETURN_IF_ERROR(take(l.keras_bn + "/moving_variance", bn->running_var, {l.out}, {}));
    }
    return Status::Ok();
  }

  // Appends TorchScript statements equivalent to forward() in eval mode.
  void EmitTorchScript(torch::jit::Module* module, std::string* code) const {
    // A snapshot: later training of this network does not change the export.
    auto attribute = [&](const std::string& keras_name, const torch::Tensor& t, bool buffer) {
      std::string name = AttributeName(keras_name);
      torch::Tensor copy = t.detach().clone();
      if (buffer) {
        module->register_buffer(name, copy);
      } else {
        module->register_parameter(name, copy.set_requires_grad(t.requires_grad()), false);
      }
      return "self." + name;
    };
    if (spec_.residual) *code += "    residual = x\n";
    for (size_t i = 0; i < convs_.size(); ++i) {
      const LayerSpec& l = spec_.layers[i];
      const auto& bn = bns_[i];
      const std::string kernel = attribute(
          l.keras + (l.depthwise ? "/depthwise_kernel" : "/kernel"), convs_[i]->weight, false);
      const std::string gamma = attribute(l.keras_bn + "/gamma", bn->weight, false);
      const std::string beta = attribute(l.keras_bn + "/beta", bn->bias, false);
      const std::string mean = attribute(l.keras_bn + "/moving_mean", bn->running_mean, true);
      const std::string var = attribute(l.keras_bn + "/moving_variance", bn->running_var, true);
      const std::string s = std::to_string(l.stride);
      const std::string p = std::to_string(SymmetricPadding(l));
      if (l.stride == 2) *code += "    x = torch.constant_pad_nd(x, [0, 1, 0, 1], 0.0)\n";
      *code += "    x = torch.conv2d(x, " + kernel + ", None, [" + s + ", " + s + "], [" + p +
               ", " + p + "], [1, 1], " + std::to_string(l.depthwise ? l.in : 1) + ")\n";
      *code += "    x = torch.batch_norm(x, " + gamma + ", " + beta + ", " + mean + ", " + var +
               ", False, 0.0, " + FloatLiteral(bn->options.eps()) + ", False)\n";
      if (l.relu6) *code += "    x = torch.clamp(x, 0.0, 6.0)\n";
    }
    if (spec_.residual) *code += "    x = x + residual\n";
  }

  const UnitSpec& spec() const { return spec_; }

 private:
  UnitSpec spec_;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::BatchNorm2d> bns_;
};

const std::vector<std::string>& MobileNetV2Impl::AllUnitNames() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const UnitSpec& u : Network()) names.push_back(u.name);
    return names;
  }();
  return kNames;
}

Status MobileNetV2Impl::ValidateOptions(const MobileNetV2Options& options) {
  const auto& names = AllUnitNames();
  if (std::find(names.begin(), names.end(), options.last_unit) == names.end()) {
    std::string valid;
    for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
    return Status::InvalidArgument("unknown MobileNetV2 unit '" + options.last_unit +
                                   "' (valid: " + valid + ")");
  }
  if (!(options.bn_eps > 0)) return Status::InvalidArgument("BatchNorm eps must be > 0");
  if (!(options.bn_momentum >= 0 && options.bn_momentum <= 1)) {
    return Status::InvalidArgument("BatchNorm momentum must be in [0, 1]");
  }
  return Status::Ok();
}

MobileNetV2Impl::MobileNetV2Impl(MobileNetV2Options options) : options_(std::move(options)) {
  const Status valid = ValidateOptions(options_);
  TORCH_CHECK(valid.ok(), valid.message());
  for (const UnitSpec& spec : Network()) {
    units_.push_back(register_module(spec.name, std::make_shared<MobileNetV2Unit>(spec, options_)));
    if (spec.name == options_.last_unit) break;
  }
}

torch::Tensor MobileNetV2Impl::forward(torch::Tensor x) {
  for (const auto& unit : units_) x = unit->forward(x);
  return x;
}

int64_t MobileNetV2Impl::out_channels() const { return units_.back()->spec().out; }

std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> MobileNetV2Impl::units()
    const {
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> out;
  for (const auto& unit : units_) out.emplace_back(unit->spec().name, unit);
  return out;
}

Status MobileNetV2Impl::LoadKerasWeights(const KerasWeights& weights) {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  for (const auto& unit : units_) {
    ORCHARD_RETURN_IF_ERROR(unit->MatchKerasWeights(weights, &copies));
  }
  torch::NoGradGuard no_grad;
  for (auto& [dest, src] : copies) dest.copy_(src);
  return Status::Ok();
}

std::string MobileNetV2Impl::EmitTorchScript(torch::jit::Module* module) const {
  std::string code;
  for (const auto& unit : units_) unit->EmitTorchScript(module, &code);
  return code;
}

}  // namespace orchard::trainer
