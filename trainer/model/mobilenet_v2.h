// MobileNetV2 in native libtorch, laid out exactly like Keras's
// (tf.keras.applications.MobileNetV2, alpha 1.0), so that weights imported
// from a Keras / TensorFlow.js layers model reproduce its outputs:
//   - stride-2 convolutions are preceded by zero padding on the bottom and
//     right only (Keras's ZeroPadding2D ((0,1),(0,1))), then a 'valid' conv;
//     stride-1 3x3 convolutions pad 1 on every side ('same');
//   - BatchNorm eps is 1e-3; activations are ReLU6.
// Units, in order (the names Keras gives their layers' prefixes):
//   "Conv1" (stem: pad, 3x3/2 conv 32, BN, ReLU6), "expanded_conv",
//   "block_1" ... "block_16", "Conv_1" (1x1 conv 1280, BN, ReLU6).
// The network may be cut after any unit (`last_unit`); the default keeps
// everything up to and including "block_10" (the ImageNet-trained part of
// nsfwjs's model, DESIGN.md). forward() returns the feature map of the last
// kept unit, NCHW, not pooled.
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "flags/status.h"

namespace torch::jit {
struct Module;
}

namespace orchard::trainer {

class MobileNetV2Unit;  // one unit's layers (mobilenet_v2.cc)

// Tensors by Keras weight name ("block_1_expand/kernel",
// "block_1_expand_BN/moving_mean", ...), float32, in Keras layout
// (Conv2D kernel [kh, kw, in, out], DepthwiseConv2D kernel [kh, kw, in, 1]).
using KerasWeights = std::map<std::string, torch::Tensor>;

struct MobileNetV2Options {
  std::string last_unit = "block_10";
  double bn_eps = 1e-3;
  // torch convention (fraction of the new batch statistic), = 1 - Keras
  // momentum. torch's 0.1 rather than Keras's 0.01: with --bn=train on a few
  // hundred images (tens of steps an epoch) 0.01 leaves the running
  // statistics, and so every evaluation, lagging far behind training.
  double bn_momentum = 0.1;
};

class MobileNetV2Impl : public torch::nn::Module {
 public:
  // REQUIRES: ValidateOptions(options).ok(); otherwise throws c10::Error with
  // its message (a torch module cannot return a Status from its constructor).
  explicit MobileNetV2Impl(MobileNetV2Options options = {});

  // InvalidArgument naming the valid units when last_unit is not one of
  // AllUnitNames(), or when eps / momentum are out of range.
  static Status ValidateOptions(const MobileNetV2Options& options);

  // x: [N, 3, H, W] float (H, W >= 32). Returns [N, out_channels(), h, w].
  torch::Tensor forward(torch::Tensor x);

  int64_t out_channels() const;
  const MobileNetV2Options& options() const { return options_; }

  // All unit names of the full network, in order ("Conv1" ... "Conv_1").
  static const std::vector<std::string>& AllUnitNames();
  // The kept units, in order, each with its torch module (for freezing the
  // first ones and unfreezing the last N). Every parameter and buffer of the
  // network belongs to exactly one unit; inside a unit they are named
  // "<role>.weight" and "<role>_bn.{weight,bias,running_mean,running_var}"
  // with role "conv" (Conv1, Conv_1) or "expand" / "depthwise" / "project".
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> units() const;

  // Copies Keras weights into the kept units (kernels transposed to torch's
  // layout). Every tensor the kept units need must be present with the right
  // shape: a missing or mis-shaped one is an error naming it; weights of cut
  // units or other layers are ignored.
  Status LoadKerasWeights(const KerasWeights& weights);

  // Registers copies of this network's parameters and buffers on `module`
  // (as attributes named after the Keras weights, '/' and '.' replaced by
  // '_': "block_1_expand_kernel" in torch layout, "bn_Conv1_moving_mean")
  // and returns TorchScript statements, indented by 4 spaces, that compute
  // the feature map from a variable `x` and leave it in `x`, in eval mode
  // (BatchNorm with running statistics). Used to export a self-contained
  // TorchScript model that torch.jit.load in Python runs unchanged; the
  // copies are a snapshot, later training of this network does not reach them.
  std::string EmitTorchScript(torch::jit::Module* module) const;

 private:
  MobileNetV2Options options_;
  // One submodule per kept unit, registered under its name, in order.
  std::vector<std::shared_ptr<MobileNetV2Unit>> units_;
};
TORCH_MODULE(MobileNetV2);

}  // namespace orchard::trainer
