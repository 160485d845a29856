// The network a run trains: a pretrained backbone, global average pooling,
// and a new head for the run's classes: feature standardisation (BatchNorm
// without scale and shift, as linear probes use it, so that backbones whose
// features differ in scale by orders of magnitude, random ones included, are
// compared fairly), dropout and a linear layer. On export the
// standardisation is folded into the linear layer. Two kinds of backbone:
//   mobilenet_v2        the native MobileNetV2 (trainer/model), with the
//                       ImageNet weights imported from nsfwjs, or random ones
//   torchscript:PATH    any TorchScript classifier exported from PyTorch: its
//                       last Linear layer is found and neutralised (identity
//                       weights) so the model yields features; the export
//                       keeps that identity layer and puts the folded head
//                       beside the backbone (head_weight, head_bias), so
//                       features() is the backbone's output flattened.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>
#include <torch/torch.h>
#include "flags/status.h"

namespace orchard::trainer {

struct NetworkOptions {
  std::string backbone = "mobilenet_v2";  // or torchscript:PATH
  bool pretrained = true;
  std::filesystem::path weights;           // see PretrainedOptions::weights
  std::filesystem::path cache_dir;
  std::string cut = "block_10";
  int64_t num_classes = 10;
  double dropout = 0.0;
  uint64_t seed = 0;  // initialises the head (and a random backbone)
};

// Per-channel statistics the backbone was trained with, applied to RGB
// values scaled to [0, 1].
struct Normalization {
  std::vector<double> mean;
  std::vector<double> std;
};

// What an exported TorchScript model takes and gives (bundle.json).
struct ExportSpec {
  int64_t image_size = 96;
  Normalization normalization;
};

// The first line of an exception's message: libtorch's errors append a C++
// backtrace that means nothing to a user.
std::string ErrorSummary(const std::exception& e);

class Network {
 public:
  static Result<std::unique_ptr<Network>> Create(const NetworkOptions& options);
  virtual ~Network() = default;

  // x: [N, 3, H, W], already normalised. Returns pooled features [N, D].
  virtual torch::Tensor Features(const torch::Tensor& x) = 0;
  // Fixes the head's standardisation to these per-feature statistics (of the
  // training set's features, when the backbone is frozen and they are known
  // exactly) instead of estimating them from batches while training. Its
  // epsilon becomes relative to the variances: a randomly initialised
  // network's features are ~1e-6 in eval mode (BatchNorm statistics of 0
  // and 1 shrink every layer's output), and an absolute 1e-5 would swamp
  // them.
  void FixFeatureStatistics(const torch::Tensor& mean, const torch::Tensor& var);

  // Standardisation, dropout (in training mode) and the linear layer:
  // [N, D] -> logits [N, classes].
  torch::Tensor Head(const torch::Tensor& features);
  int64_t feature_dim() const { return feature_dim_; }
  int64_t num_classes() const { return options_.num_classes; }

  // The backbone's units in order, the granularity of --unfreeze.
  virtual std::vector<std::string> UnitNames() const = 0;
  // Makes the last `n` units trainable (-1 = all, 0 = none) and freezes the rest.
  virtual void SetUnfrozen(int64_t n) = 0;
  // True when no backbone parameter is trainable (a linear probe).
  bool BackboneFrozen() const { return BackboneTrainableParameters().empty(); }
  virtual std::vector<torch::Tensor> BackboneTrainableParameters() const = 0;
  std::vector<torch::Tensor> HeadParameters() const;

  // Training mode for the head's dropout and the unfrozen units; frozen units
  // always run in eval mode, and with bn_train=false so do unfrozen units'
  // BatchNorm layers (running statistics).
  virtual void SetTraining(bool training, bool bn_train) = 0;
  virtual void To(const torch::Device& device);

  // Identifies the backbone's weights (for feature-cache keys and bundles).
  virtual std::string identity() const = 0;
  virtual Normalization default_normalization() const = 0;

  // Every parameter and buffer by a stable name, for checkpoints.
  virtual std::vector<std::pair<std::string, torch::Tensor>> State() const = 0;
  // Copies `state` (as State() names it) into the network; every name of
  // State() must be present with its shape.
  Status LoadState(const std::vector<std::pair<std::string, torch::Tensor>>& state);

  // Writes a self-contained TorchScript model, eval mode, normalisation
  // inside: forward(x) float [N, 3, S, S] RGB in [0, 1] -> logits, and
  // features(x) the same input -> the pooled features [N, D] that Features()
  // gives. Loads in Python with torch.jit.load and gives the same outputs.
  virtual Status ExportTorchScript(const std::filesystem::path& path, const ExportSpec& spec) = 0;

 protected:
  explicit Network(NetworkOptions options);
  // Builds the head once feature_dim_ is known.
  void MakeHead(int64_t feature_dim);
  void SetHeadTraining(bool training);
  // The head's state, named "head.*", for State().
  void AppendHeadState(std::vector<std::pair<std::string, torch::Tensor>>* state) const;
  // The linear layer with the standardisation (running statistics) folded
  // in: {weight [classes, D], bias [classes]}, on the CPU.
  std::pair<torch::Tensor, torch::Tensor> FoldedHead() const;

  NetworkOptions options_;
  int64_t feature_dim_ = 0;
  torch::nn::BatchNorm1d norm_{nullptr};
  bool norm_fixed_ = false;  // see FixFeatureStatistics
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear head_{nullptr};
};

}  // namespace orchard::trainer
