#include "trainer/train/network.h"

#include <map>

#include <torch/script.h>

#include "orchestrator/util/sha256.h"
#include "trainer/model/pretrained.h"

namespace orchard::trainer {
namespace {

Normalization ImageNetNormalization() { return {{0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}}; }

torch::Tensor ChannelTensor(const std::vector<double>& values) {
  std::vector<float> v(values.begin(), values.end());
  return torch::tensor(v).view({1, 3, 1, 1});
}

// Moves a temporary file into place, so readers never see half a model.
Status SaveJitModule(torch::jit::Module& module, const std::filesystem::path& path) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  try {
    module.save(tmp.string());
  } catch (const std::exception& e) {
    return Status::IoError("cannot write TorchScript model " + tmp.string() + ": " + ErrorSummary(e));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::IoError("cannot rename to " + path.string() + ": " + ec.message());
  return Status::Ok();
}

// The native MobileNetV2 (Keras layout) with imported or random weights.
class MobileNetNetwork : public Network {
 public:
  MobileNetNetwork(NetworkOptions options, MobileNetV2 net, std::string identity)
      : Network(std::move(options)), net_(std::move(net)), identity_(std::move(identity)) {
    MakeHead(net_->out_channels());
  }

  torch::Tensor Features(const torch::Tensor& x) override {
    return net_->forward(x).mean({2, 3});
  }

  std::vector<std::string> UnitNames() const override {
    std::vector<std::string> names;
    for (const auto& [name, unit] : net_->units()) names.push_back(name);
    return names;
  }

  void SetUnfrozen(int64_t n) override {
    auto units = net_->units();
    const int64_t count = static_cast<int64_t>(units.size());
    const int64_t first_trainable = n < 0 ? 0 : std::max<int64_t>(0, count - n);
    for (int64_t i = 0; i < count; ++i) {
      for (torch::Tensor& p : units[i].second->parameters()) p.requires_grad_(i >= first_trainable);
    }
    unfrozen_from_ = first_trainable;
  }

  std::vector<torch::Tensor> BackboneTrainableParameters() const override {
    std::vector<torch::Tensor> params;
    for (const torch::Tensor& p : net_->parameters()) {
      if (p.requires_grad()) params.push_back(p);
    }
    return params;
  }

  void SetTraining(bool training, bool bn_train) override {
    net_->train(training);
    SetHeadTraining(training);
    if (!training) return;
    auto units = net_->units();
    for (int64_t i = 0; i < static_cast<int64_t>(units.size()); ++i) {
      if (i < unfrozen_from_) {
        units[i].second->eval();
      } else if (!bn_train) {
        for (const auto& m : units[i].second->modules()) {
          if (m->as<torch::nn::BatchNorm2d>() != nullptr) m->eval();
        }
      }
    }
  }

  void To(const torch::Device& device) override {
    net_->to(device);
    Network::To(device);
  }

  std::string identity() const override { return identity_; }
  Normalization default_normalization() const override {
    // nsfwjs feeds pixel / 255 (no mean, no deviation); a random network
    // gets the same so the two are compared like for like.
    return {{0.0, 0.0, 0.0}, {1.0, 1.0, 1.0}};
  }

  std::vector<std::pair<std::string, torch::Tensor>> State() const override {
    std::vector<std::pair<std::string, torch::Tensor>> state;
    for (const auto& item : net_->named_parameters()) state.emplace_back("backbone." + item.key(), item.value());
    for (const auto& item : net_->named_buffers()) state.emplace_back("backbone." + item.key(), item.value());
    AppendHeadState(&state);
    return state;
  }

  Status ExportTorchScript(const std::filesystem::path& path, const ExportSpec& spec) override {
    torch::NoGradGuard no_grad;
    try {
      torch::jit::Module module("OrchardClassifier");
      module.register_buffer("input_mean", ChannelTensor(spec.normalization.mean));
      module.register_buffer("input_std", ChannelTensor(spec.normalization.std));
      std::string body = net_->EmitTorchScript(&module);
      auto [weight, bias] = FoldedHead();
      module.register_parameter("head_weight", weight, false);
      module.register_parameter("head_bias", bias, false);
      module.define("def features(self, x):\n"
                    "    x = (x - self.input_mean) / self.input_std\n" +
                    body +
                    "    return torch.mean(x, [2, 3])\n"
                    "def forward(self, x):\n"
                    "    return torch.addmm(self.head_bias, self.features(x), self.head_weight.t())\n");
      module.eval();
      return SaveJitModule(module, path);
    } catch (const std::exception& e) {
      return Status::Internal("cannot build the TorchScript model: " + ErrorSummary(e));
    }
  }

 private:
  MobileNetV2 net_;
  std::string identity_;
  int64_t unfrozen_from_ = 0;
};

// Any TorchScript classifier: its last Linear layer becomes the identity so
// that forward() yields features; the export wraps it with the run's head.
class TorchScriptNetwork : public Network {
 public:
  static Result<std::unique_ptr<Network>> Load(NetworkOptions options,
                                               const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
      return Status::NotFound("--backbone: no TorchScript model at " + file.string());
    }
    torch::jit::Module module;
    try {
      module = torch::jit::load(file.string());
    } catch (const std::exception& e) {
      return Status::InvalidArgument("--backbone: " + file.string() +
                                     " is not a TorchScript model: " + ErrorSummary(e));
    }
    // The classifier is the last Linear layer in module order.
    std::string head_path;
    torch::jit::Module head;
    for (const auto& item : module.named_modules()) {
      const auto& type = item.value.type()->name();
      if (type && type->name() == "Linear" && item.value.hasattr("weight") &&
          item.value.attr("weight").isTensor() && item.value.attr("weight").toTensor().dim() == 2) {
        head_path = item.name;
        head = item.value;
      }
    }
    if (head_path.empty()) {
      return Status::InvalidArgument("--backbone: " + file.string() +
                                     " has no Linear layer to replace with a new head");
    }
    Result<std::string> sha = Sha256File(file.string());
    if (!sha.ok()) return sha.status();
    return std::unique_ptr<Network>(new TorchScriptNetwork(std::move(options), std::move(module),
                                                           head, head_path, sha.value()));
  }

  torch::Tensor Features(const torch::Tensor& x) override {
    return module_.forward({x}).toTensor().flatten(1);
  }

  std::vector<std::string> UnitNames() const override { return units_; }

  void SetUnfrozen(int64_t n) override {
    for (torch::Tensor p : module_.parameters()) p.requires_grad_(false);
    const int64_t count = static_cast<int64_t>(units_.size());
    const int64_t first = n < 0 ? 0 : std::max<int64_t>(0, count - n);
    unfrozen_.assign(units_.begin() + first, units_.end());
    for (const std::string& unit : unfrozen_) {
      for (torch::Tensor p : module_.attr(unit).toModule().parameters()) p.requires_grad_(true);
    }
  }

  std::vector<torch::Tensor> BackboneTrainableParameters() const override {
    std::vector<torch::Tensor> params;
    for (const torch::Tensor& p : module_.parameters()) {
      if (p.requires_grad()) params.push_back(p);
    }
    return params;
  }

  void SetTraining(bool training, bool bn_train) override {
    module_.train(false);
    SetHeadTraining(training);
    if (!training) return;
    for (const std::string& unit : unfrozen_) {
      torch::jit::Module m = module_.attr(unit).toModule();
      m.train(true);
      if (!bn_train) {
        for (const auto& item : m.named_modules()) {
          const auto& type = item.value.type()->name();
          if (type && type->name().find("BatchNorm") != std::string::npos) {
            torch::jit::Module bn = item.value;
            bn.eval();
          }
        }
      }
    }
  }

  void To(const torch::Device& device) override {
    module_.to(device);
    Network::To(device);
  }

  std::string identity() const override { return "torchscript@" + sha256_.substr(0, 16); }
  Normalization default_normalization() const override { return ImageNetNormalization(); }

  std::vector<std::pair<std::string, torch::Tensor>> State() const override {
    std::vector<std::pair<std::string, torch::Tensor>> state;
    for (const auto& item : module_.named_parameters()) state.emplace_back("backbone." + item.name, item.value);
    for (const auto& item : module_.named_buffers()) state.emplace_back("backbone." + item.name, item.value);
    AppendHeadState(&state);
    return state;
  }

  Status ExportTorchScript(const std::filesystem::path& path, const ExportSpec& spec) override {
    torch::NoGradGuard no_grad;
    try {
      // The backbone keeps its identity classifier, so it yields features;
      // the trained head sits beside it on the wrapper.
      auto [weight, bias] = FoldedHead();
      torch::jit::Module wrapper("OrchardClassifier");
      wrapper.register_module("backbone", module_);
      wrapper.register_buffer("input_mean", ChannelTensor(spec.normalization.mean));
      wrapper.register_buffer("input_std", ChannelTensor(spec.normalization.std));
      wrapper.register_parameter("head_weight", weight, false);
      wrapper.register_parameter("head_bias", bias, false);
      wrapper.define("def features(self, x):\n"
                     "    x = self.backbone.forward((x - self.input_mean) / self.input_std)\n"
                     "    return torch.flatten(x, 1)\n"
                     "def forward(self, x):\n"
                     "    return torch.addmm(self.head_bias, self.features(x), self.head_weight.t())\n");
      wrapper.eval();
      return SaveJitModule(wrapper, path);
    } catch (const std::exception& e) {
      return Status::Internal("cannot build the TorchScript model: " + ErrorSummary(e));
    }
  }

 private:
  TorchScriptNetwork(NetworkOptions options, torch::jit::Module module, torch::jit::Module head,
                     const std::string& head_path, std::string sha256)
      : Network(std::move(options)), module_(std::move(module)), head_layer_(std::move(head)),
        sha256_(std::move(sha256)) {
    torch::NoGradGuard no_grad;
    torch::Tensor weight = head_layer_.attr("weight").toTensor();
    const int64_t dim = weight.size(1);
    head_layer_.setattr("weight", torch::eye(dim, weight.options()));
    head_layer_.setattr("bias", torch::zeros({dim}, weight.options()));
    // Units are the top-level children, without the one holding the classifier.
    const std::string head_top = head_path.substr(0, head_path.find('.'));
    for (const auto& child : module_.named_children()) {
      if (child.name != head_top) units_.push_back(child.name);
    }
    MakeHead(dim);
  }

  torch::jit::Module module_;
  torch::jit::Module head_layer_;
  std::string sha256_;
  std::vector<std::string> units_;
  std::vector<std::string> unfrozen_;
};

}  // namespace

std::string ErrorSummary(const std::exception& e) {
  std::string what = e.what();
  return what.substr(0, what.find('\n'));
}

Network::Network(NetworkOptions options) : options_(std::move(options)) {}

void Network::MakeHead(int64_t feature_dim) {
  feature_dim_ = feature_dim;
  // The head is initialised from the run's seed, so runs are reproducible.
  torch::manual_seed(options_.seed);
  norm_ = torch::nn::BatchNorm1d(torch::nn::BatchNorm1dOptions(feature_dim).affine(false));
  dropout_ = torch::nn::Dropout(options_.dropout);
  head_ = torch::nn::Linear(feature_dim, options_.num_classes);
}

torch::Tensor Network::Head(const torch::Tensor& features) {
  return head_->forward(dropout_->forward(norm_->forward(features)));
}

void Network::FixFeatureStatistics(const torch::Tensor& mean, const torch::Tensor& var) {
  torch::NoGradGuard no_grad;
  norm_->running_mean.copy_(mean);
  norm_->running_var.copy_(var);
  norm_->options.eps(std::max(1e-5 * var.mean().item<double>(), 1e-30));
  norm_fixed_ = true;
  norm_->eval();
}

void Network::SetHeadTraining(bool training) {
  norm_->train(training && !norm_fixed_);
  dropout_->train(training);
}

void Network::AppendHeadState(std::vector<std::pair<std::string, torch::Tensor>>* state) const {
  state->emplace_back("head.norm.running_mean", norm_->running_mean);
  state->emplace_back("head.norm.running_var", norm_->running_var);
  state->emplace_back("head.norm.num_batches_tracked", norm_->num_batches_tracked);
  state->emplace_back("head.weight", head_->weight);
  state->emplace_back("head.bias", head_->bias);
}

std::pair<torch::Tensor, torch::Tensor> Network::FoldedHead() const {
  torch::NoGradGuard no_grad;
  // W (x - mean) / sqrt(var + eps) + b  =  W' x + b'.
  torch::Tensor inv_std = norm_->running_var.detach().cpu().add(norm_->options.eps()).rsqrt();
  torch::Tensor weight = head_->weight.detach().cpu() * inv_std.unsqueeze(0);
  torch::Tensor bias = head_->bias.detach().cpu() - weight.matmul(norm_->running_mean.detach().cpu());
  return {weight.contiguous(), bias.contiguous()};
}

std::vector<torch::Tensor> Network::HeadParameters() const { return head_->parameters(); }

void Network::To(const torch::Device& device) {
  norm_->to(device);
  head_->to(device);
}

Status Network::LoadState(const std::vector<std::pair<std::string, torch::Tensor>>& state) {
  std::map<std::string, torch::Tensor> given(state.begin(), state.end());
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : State()) {
    auto it = given.find(name);
    if (it == given.end()) return Status::InvalidArgument("the checkpoint has no tensor " + name);
    if (!it->second.sizes().equals(tensor.sizes())) {
      return Status::InvalidArgument("tensor " + name + " has shape " +
                                     c10::str(it->second.sizes()) + " in the checkpoint but " +
                                     c10::str(tensor.sizes()) + " in this network");
    }
    tensor.copy_(it->second);
  }
  return Status::Ok();
}

Result<std::unique_ptr<Network>> Network::Create(const NetworkOptions& options) {
  if (options.backbone.rfind("torchscript:", 0) == 0) {
    if (!options.pretrained) {
      return Status::InvalidArgument("--pretrained=false: a TorchScript backbone brings its own "
                                     "weights; random initialisation is for mobilenet_v2");
    }
    return TorchScriptNetwork::Load(options, options.backbone.substr(12));
  }
  if (options.backbone != "mobilenet_v2") {
    return Status::InvalidArgument("unknown backbone \"" + options.backbone + "\"");
  }
  MobileNetV2Options net_options;
  net_options.last_unit = options.cut;
  if (!options.pretrained) {
    torch::manual_seed(options.seed);
    MobileNetV2 net(net_options);
    std::string identity = "mobilenet_v2@random-seed" + std::to_string(options.seed) + "/" + options.cut;
    return std::unique_ptr<Network>(new MobileNetNetwork(options, std::move(net), identity));
  }
  PretrainedOptions pretrained;
  pretrained.weights = options.weights;
  pretrained.cache_dir = options.cache_dir;
  pretrained.model = net_options;
  Result<Pretrained> loaded = LoadPretrainedMobileNetV2(pretrained);
  if (!loaded.ok()) return loaded.status();
  return std::unique_ptr<Network>(
      new MobileNetNetwork(options, std::move(loaded.value().net), loaded.value().identity));
}

}  // namespace orchard::trainer
