#include "trainer/train/bundle.h"

#include <ctime>
#include <fstream>

#include <torch/script.h>

#include "orchestrator/util/sha256.h"

namespace orchard::trainer {
namespace {

namespace fs = std::filesystem;

std::string NowIso() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

Result<double> ExportBundle(Network& net, const fs::path& out, const BundleSource& source) {
  const FinetuneOptions& o = *source.options;
  const ImageSet& set = *source.data;
  const PreprocessOptions& prep = source.preprocess;
  fs::path dir = out / "model";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir.string() + ": " + ec.message());
  net.To(torch::kCPU);
  net.SetTraining(false, false);
  ExportSpec spec;
  spec.image_size = o.image_size;
  spec.normalization = prep.normalization;
  ORCHARD_RETURN_IF_ERROR(net.ExportTorchScript(dir / "model.pt", spec));

  // The export must compute what the network computes.
  PreprocessOptions raw = prep;
  raw.normalization = {{0, 0, 0}, {1, 1, 1}};
  std::vector<int64_t> probe(source.split->val.begin(),
                             source.split->val.begin() + std::min<size_t>(8, source.split->val.size()));
  torch::Tensor pixels = MakeBatch(set, probe, raw);
  double diff = 0;
  double features_diff = 0;
  try {
    torch::NoGradGuard no_grad;
    torch::jit::Module loaded = torch::jit::load((dir / "model.pt").string());
    torch::Tensor exported = loaded.forward({pixels}).toTensor();
    torch::Tensor native_features = net.Features(MakeBatch(set, probe, prep));
    torch::Tensor native = net.Head(native_features);
    diff = (exported - native).abs().max().item<double>();
    // features() too, relative to the features' own scale (a random
    // backbone's are ~1e-6, a pretrained one's ~1).
    torch::Tensor features = loaded.run_method("features", pixels).toTensor();
    const double scale = std::max(native_features.abs().max().item<double>(), 1e-30);
    features_diff = (features - native_features).abs().max().item<double>() / scale;
  } catch (const std::exception& e) {
    return Status::Internal("the exported model does not run: " + ErrorSummary(e));
  }
  if (!(diff <= 1e-4)) {
    return Status::Internal("the exported model differs from the trained network by " +
                            std::to_string(diff));
  }
  if (!(features_diff <= 1e-4)) {
    return Status::Internal("the exported model's features() differ from the trained network's "
                            "by " + std::to_string(features_diff) + " of their largest value");
  }
  Result<std::string> sha = Sha256File((dir / "model.pt").string());
  if (!sha.ok()) return sha.status();
  const auto bytes = static_cast<int64_t>(fs::file_size(dir / "model.pt", ec));
  const char* run_id = std::getenv("ORCHARD_RUN_ID");
  nlohmann::json bundle = {
      {"format", "orchard-bundle"},
      {"version", 1},
      {"created", NowIso()},
      {"task", "image-classification"},
      {"model", {{"file", "model.pt"}, {"kind", "torchscript"}}},
      {"classes", set.class_names},
      {"input",
       {{"layout", "NCHW"}, {"dtype", "float32"}, {"channels", 3}, {"color", "RGB"},
        {"height", o.image_size}, {"width", o.image_size},
        {"scale", "pixel / 255"},
        {"grayscale", "repeated over the three channels"},
        {"resize", "bilinear, antialiased when shrinking, to height x width"},
        {"normalization",
         {{"mean", prep.normalization.mean}, {"std", prep.normalization.std},
          {"inside_model", true}}}}},
      {"output", {{"kind", "logits"}, {"classes", static_cast<int64_t>(set.class_names.size())},
                  {"features", net.feature_dim()}}},
      {"source",
       {{"run_id", run_id != nullptr ? nlohmann::json(run_id) : nlohmann::json(nullptr)},
        {"trainer", "orchard-train finetune"}, {"weights", source.weights}, {"epoch", source.epoch}}},
      {"backbone", {{"name", o.backbone}, {"identity", net.identity()}, {"cut", o.cut},
                    {"pretrained", o.pretrained}}},
      {"data", {{"spec", o.data}, {"fingerprint", set.fingerprint},
                {"train_images", source.split->train.size()}, {"val_images", source.split->val.size()}}},
      {"flags", source.flags},
      {"metrics", source.metrics},
      {"versions", {{"libtorch", TORCH_VERSION}, {"compiler", __VERSION__}}},
      {"files", {{"model.pt", {{"sha256", sha.value()}, {"bytes", bytes}}}}},
      {"export_check", {{"max_abs_diff", diff}, {"features_max_rel_diff", features_diff},
                        {"images", probe.size()}}},
  };
  fs::path tmp = dir / "bundle.json.tmp";
  {
    std::ofstream f(tmp);
    f << bundle.dump(2) << "\n";
    if (!f) return Status::IoError("cannot write " + tmp.string());
  }
  fs::rename(tmp, dir / "bundle.json", ec);
  if (ec) return Status::IoError("cannot write " + (dir / "bundle.json").string() + ": " + ec.message());
  return diff;
}

}  // namespace orchard::trainer
