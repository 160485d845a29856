#include "trainer/train/finetune.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <limits>
#include <map>

#include <torch/script.h>
#include <torch/torch.h>

#include "flags/reporter.h"
#include "orchestrator/util/sha256.h"
#include "trainer/data/image_set.h"
#include "trainer/model/pretrained.h"
#include "trainer/train/bundle.h"
#include "trainer/train/checkpoint.h"
#include "trainer/train/feature_cache.h"
#include "trainer/train/network.h"
#include "trainer/train/preprocess.h"
#include "trainer/train/records.h"

namespace orchard::trainer {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};

constexpr int64_t kEvalChunk = 64;  // images per forward pass outside training

void Log(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

std::string Fixed(double value, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, value);
  return buf;
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// A deterministic permutation of 0..n-1 (Fisher-Yates on splitmix64 draws).
std::vector<int64_t> Shuffled(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(MixSeed(seed, static_cast<uint64_t>(i)) %
                                        static_cast<uint64_t>(i + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

torch::Tensor LabelsOf(const ImageSet& set, const std::vector<int64_t>& indices) {
  std::vector<int64_t> labels;
  labels.reserve(indices.size());
  for (int64_t i : indices) labels.push_back(set.labels[static_cast<size_t>(i)]);
  return torch::tensor(labels, torch::kInt64);
}

std::vector<int64_t> Slice(const std::vector<int64_t>& v, int64_t begin, int64_t end) {
  return {v.begin() + begin, v.begin() + std::min<int64_t>(end, static_cast<int64_t>(v.size()))};
}

fs::path OutputFolder(const FinetuneOptions& o) {
  if (!o.out.empty()) return o.out;
  if (const char* dir = std::getenv("ORCHARD_RUN_DIR"); dir != nullptr && *dir != '\0') return dir;
  return "orchard-train-out";
}

// What a run trains on: the images, their split, and derived facts.
struct Data {
  ImageSet set;
  Split split;
  torch::Tensor train_labels;
  torch::Tensor val_labels;
};

Result<Data> LoadData(const FinetuneOptions& o) {
  auto start = Clock::now();
  Result<ImageSet> set = LoadDataset(o.data, Part::kTrain);
  if (!set.ok()) return set.status();
  Data data;
  data.set = std::move(set).value();
  SplitOptions split;
  split.labels_per_class = o.labels_per_class;
  split.val_per_class = o.val_per_class;
  split.val_fraction = o.val_fraction;
  split.seed = static_cast<uint64_t>(o.split_seed);
  Result<Split> s = SplitDataset(data.set.labels, static_cast<int>(data.set.class_names.size()),
                                 split);
  if (!s.ok()) return s.status();
  data.split = std::move(s).value();
  if (data.split.train.empty() || data.split.val.empty()) {
    return Status::InvalidArgument("--data=" + o.data + ": the split leaves " +
                                   std::to_string(data.split.train.size()) + " training and " +
                                   std::to_string(data.split.val.size()) +
                                   " validation images; both need at least one");
  }
  data.train_labels = LabelsOf(data.set, data.split.train);
  data.val_labels = LabelsOf(data.set, data.split.val);
  std::string line = "data: " + o.data + ": " + std::to_string(data.set.images.size()) +
                     " images in " + std::to_string(data.set.class_names.size()) +
                     " classes (" + Fixed(Seconds(start), 2) + " s); training on " +
                     std::to_string(data.split.train.size()) + ", validating on " +
                     std::to_string(data.split.val.size());
  Log(line);
  if (data.set.skipped > 0) {
    std::string examples;
    for (const std::string& e : data.set.skipped_examples) examples += "\n  " + e;
    Log("data: skipped " + std::to_string(data.set.skipped) + " unreadable image(s):" + examples);
  }
  return data;
}

// Backbone features of `indices`, computed in fixed chunks, in eval mode.
torch::Tensor ComputeFeatures(Network& net, const ImageSet& set,
                              const std::vector<int64_t>& indices,
                              const PreprocessOptions& prep, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  net.SetTraining(false, false);
  std::vector<torch::Tensor> chunks;
  for (int64_t begin = 0; begin < static_cast<int64_t>(indices.size()); begin += kEvalChunk) {
    torch::Tensor x = MakeBatch(set, Slice(indices, begin, begin + kEvalChunk), prep).to(device);
    chunks.push_back(net.Features(x).to(torch::kCPU));
  }
  return torch::cat(chunks).contiguous();
}

// Features of the training and validation images for a frozen backbone:
// from the shared cache when allowed, computing only the missing rows.
struct FrozenFeatures {
  torch::Tensor train;
  torch::Tensor val;
};

Result<FrozenFeatures> PrepareFrozenFeatures(Network& net, const FinetuneOptions& o,
                                             const Data& data, const PreprocessOptions& prep,
                                             const torch::Device& device) {
  auto start = Clock::now();
  std::vector<int64_t> rows = data.split.train;
  rows.insert(rows.end(), data.split.val.begin(), data.split.val.end());
  torch::Tensor all;
  int64_t computed = static_cast<int64_t>(rows.size());
  if (o.cache_features) {
    nlohmann::json key = {{"backbone", net.identity()},
                          {"data", data.set.fingerprint},
                          {"image_size", o.image_size},
                          {"mean", prep.normalization.mean},
                          {"std", prep.normalization.std},
                          {"pooling", "global-average"},
                          {"resize", "bilinear-antialias"}};
    fs::path dir = (o.cache_dir.empty() ? DefaultCacheDir() : fs::path(o.cache_dir)) / "features";
    Result<FeatureCache> cache =
        FeatureCache::Open(dir, Sha256Hex(key.dump()), static_cast<int64_t>(data.set.images.size()),
                           net.feature_dim());
    if (!cache.ok()) return cache.status();
    Result<std::vector<int64_t>> missing = cache.value().Missing(rows);
    if (!missing.ok()) return missing.status();
    computed = static_cast<int64_t>(missing.value().size());
    if (computed > 0) {
      torch::Tensor fresh = ComputeFeatures(net, data.set, missing.value(), prep, device);
      ORCHARD_RETURN_IF_ERROR(cache.value().Write(missing.value(), fresh.data_ptr<float>()));
    }
    all = torch::empty({static_cast<int64_t>(rows.size()), net.feature_dim()}, torch::kFloat32);
    ORCHARD_RETURN_IF_ERROR(cache.value().Read(rows, all.data_ptr<float>()));
    Log("features: " + std::to_string(rows.size()) + " images, " +
        std::to_string(static_cast<int64_t>(rows.size()) - computed) + " from the cache, " +
        std::to_string(computed) + " computed (" + Fixed(Seconds(start), 2) + " s; " +
        cache.value().path().string() + ")");
  } else {
    all = ComputeFeatures(net, data.set, rows, prep, device);
    Log("features: " + std::to_string(rows.size()) + " images computed (" +
        Fixed(Seconds(start), 2) + " s; --cache_features=false)");
  }
  const auto n_train = static_cast<int64_t>(data.split.train.size());
  return FrozenFeatures{all.slice(0, 0, n_train).to(device), all.slice(0, n_train).to(device)};
}

std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(const FinetuneOptions& o,
                                                       const std::vector<torch::Tensor>& head,
                                                       const std::vector<torch::Tensor>& backbone) {
  namespace optim = torch::optim;
  auto options_for = [&](double lr) -> std::unique_ptr<optim::OptimizerOptions> {
    if (o.optimizer == "sgd") {
      return std::make_unique<optim::SGDOptions>(
          optim::SGDOptions(lr).momentum(o.momentum).weight_decay(o.weight_decay));
    }
    if (o.optimizer == "adamw") {
      return std::make_unique<optim::AdamWOptions>(optim::AdamWOptions(lr).weight_decay(o.weight_decay));
    }
    return std::make_unique<optim::AdamOptions>(optim::AdamOptions(lr).weight_decay(o.weight_decay));
  };
  std::vector<optim::OptimizerParamGroup> groups;
  groups.emplace_back(head, options_for(o.lr));
  if (!backbone.empty()) groups.emplace_back(backbone, options_for(o.backbone_lr));
  if (o.optimizer == "sgd") return std::make_unique<optim::SGD>(groups, optim::SGDOptions(o.lr));
  if (o.optimizer == "adamw") return std::make_unique<optim::AdamW>(groups, optim::AdamWOptions(o.lr));
  return std::make_unique<optim::Adam>(groups, optim::AdamOptions(o.lr));
}

// The learning-rate multiplier before optimiser step `step` (0-based) of `total`.
double ScheduleFactor(const FinetuneOptions& o, int64_t epoch, int64_t step, int64_t total) {
  if (o.schedule == "cosine") {
    return 0.5 * (1.0 + std::cos(M_PI * static_cast<double>(step) / static_cast<double>(total)));
  }
  if (o.schedule == "step") return std::pow(o.gamma, static_cast<double>(epoch / o.step_size));
  return 1.0;
}

// The settings a checkpoint must agree with to be resumed.
nlohmann::json ResumeKey(const FinetuneOptions& o, const Network& net, const Data& data) {
  return {{"backbone", net.identity()}, {"unfreeze", o.unfreeze},
          {"classes", data.set.class_names}, {"data", data.set.fingerprint},
          {"optimizer", o.optimizer}, {"labels_per_class", o.labels_per_class},
          {"val_per_class", o.val_per_class}, {"split_seed", o.split_seed}};
}

// Loss and accuracy over a validation or test set.
struct Score {
  double loss = 0;
  double acc = 0;
};

// Evaluates features (frozen) or images; nullopt when a stop was requested.
std::optional<Score> Evaluate(Network& net, const std::function<torch::Tensor(int64_t, int64_t)>& logits_of,
                              const torch::Tensor& labels) {
  torch::NoGradGuard no_grad;
  net.SetTraining(false, false);
  const int64_t n = labels.size(0);
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t begin = 0; begin < n; begin += kEvalChunk) {
    if (StopRequested()) return std::nullopt;
    const int64_t end = std::min(n, begin + kEvalChunk);
    torch::Tensor logits = logits_of(begin, end).to(torch::kCPU);
    torch::Tensor y = labels.slice(0, begin, end);
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    correct += logits.argmax(1).eq(y).sum().item<int64_t>();
  }
  return Score{loss_sum / static_cast<double>(n), static_cast<double>(correct) / static_cast<double>(n)};
}

// OUT/predictions/val.jsonl: for each validation image, in split order, the
// record `orchard-train infer` writes for it (top min(5, classes) labels),
// computed by this network in eval mode, not by the exported module.
Status WritePredictions(Network& net, const Data& data, const PreprocessOptions& prep,
                        const torch::Device& device, const fs::path& out) {
  torch::NoGradGuard no_grad;
  net.SetTraining(false, false);
  const fs::path dir = out / "predictions";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir.string() + ": " + ec.message());
  const auto classes = static_cast<int64_t>(data.set.class_names.size());
  const int64_t k = std::min<int64_t>(5, classes);
  RecordWriter writer(RecordFormat::kJsonl, data.set.class_names, k, false, 0);
  std::string text;
  const std::vector<int64_t>& val = data.split.val;
  for (int64_t begin = 0; begin < static_cast<int64_t>(val.size()); begin += kEvalChunk) {
    const std::vector<int64_t> chunk = Slice(val, begin, begin + kEvalChunk);
    torch::Tensor logits = net.Head(net.Features(MakeBatch(data.set, chunk, prep).to(device)));
    auto [top, where] = torch::softmax(logits.to(torch::kCPU), 1).topk(k, 1);
    top = top.contiguous();
    where = where.contiguous();
    for (size_t i = 0; i < chunk.size(); ++i) {
      std::vector<Prediction> predictions;
      for (int64_t j = 0; j < k; ++j) {
        predictions.push_back({where[static_cast<int64_t>(i)][j].item<int64_t>(),
                               top[static_cast<int64_t>(i)][j].item<float>()});
      }
      text += writer.TopK(data.set.sources[static_cast<size_t>(chunk[i])], predictions);
    }
  }
  const fs::path file = dir / "val.jsonl";
  std::ofstream f(file, std::ios::binary);
  f << text;
  f.close();
  if (!f) return Status::IoError("cannot write " + file.string());
  Log("predictions: " + file.string() + " (" + std::to_string(val.size()) + " validation images)");
  return Status::Ok();
}

// The whole run after options are known; errors become messages in main.
Result<int> Finetune(const FinetuneOptions& o, const nlohmann::json& flags_json) {
  const auto run_start = Clock::now();
  if (o.threads > 0) torch::set_num_threads(static_cast<int>(o.threads));
  Result<torch::Device> device_or = ResolveDevice(o.device);
  if (!device_or.ok()) return device_or.status();
  const torch::Device device = device_or.value();
  const fs::path out = OutputFolder(o);
  std::error_code ec;
  fs::create_directories(out / "checkpoints", ec);
  if (ec) return Status::IoError("cannot create " + (out / "checkpoints").string() + ": " + ec.message());

  Result<Data> data_or = LoadData(o);
  if (!data_or.ok()) return data_or.status();
  Data data = std::move(data_or).value();
  // Read the test part now: a dataset without one is refused before training, not after.
  std::optional<ImageSet> test;
  if (o.eval_test) {
    Result<ImageSet> loaded = LoadDataset(o.data, Part::kTest, o.test_limit);
    if (!loaded.ok()) return Status::InvalidArgument("--eval_test: " + loaded.status().message());
    test = std::move(loaded).value();
  }

  NetworkOptions net_options;
  net_options.backbone = o.backbone;
  net_options.pretrained = o.pretrained;
  net_options.weights = o.weights;
  net_options.cache_dir = o.cache_dir;
  net_options.cut = o.cut;
  net_options.num_classes = static_cast<int64_t>(data.set.class_names.size());
  net_options.dropout = o.dropout;
  net_options.seed = static_cast<uint64_t>(o.seed);
  Result<std::unique_ptr<Network>> net_or = Network::Create(net_options);
  if (!net_or.ok()) return net_or.status();
  Network& net = *net_or.value();
  net.SetUnfrozen(o.unfreeze);
  net.To(device);
  const std::vector<std::string> units = net.UnitNames();
  const int64_t unfrozen = o.unfreeze < 0 ? static_cast<int64_t>(units.size())
                                          : std::min<int64_t>(o.unfreeze, static_cast<int64_t>(units.size()));
  int64_t trainable = 0;
  for (const auto& p : net.BackboneTrainableParameters()) trainable += p.numel();
  for (const auto& p : net.HeadParameters()) trainable += p.numel();
  Log("network: " + net.identity() + ", " + std::to_string(net.feature_dim()) + " features, " +
      std::to_string(unfrozen) + " of " + std::to_string(units.size()) +
      " backbone units trained" + (unfrozen > 0 ? " (from " + units[units.size() - unfrozen] + ")" : "") +
      ", " + std::to_string(trainable) + " trainable parameters, device " + device.str());

  PreprocessOptions prep;
  prep.image_size = o.image_size;
  prep.normalization = o.mean.empty() ? net.default_normalization() : Normalization{o.mean, o.std};
  prep.crop_padding = o.augment_crop;
  prep.flip = o.augment_flip;
  // A frozen backbone without augmentation sees each image the same way in
  // every epoch: its features are computed once (and shared through the cache).
  const bool frozen_features = net.BackboneFrozen() && !prep.augments();
  FrozenFeatures features;
  if (frozen_features) {
    Result<FrozenFeatures> f = PrepareFrozenFeatures(net, o, data, prep, device);
    if (!f.ok()) return f.status();
    features = std::move(f).value();
    // Exact statistics of the training features, as linear probes standardise.
    net.FixFeatureStatistics(features.train.mean(0), features.train.var(0, /*unbiased=*/false));
  } else if (net.BackboneFrozen()) {
    Log("features: computed every epoch (augmentation changes the images), no cache");
  }

  std::unique_ptr<torch::optim::Optimizer> optimizer =
      MakeOptimizer(o, net.HeadParameters(), net.BackboneTrainableParameters());
  std::vector<double> base_lr;
  for (auto& group : optimizer->param_groups()) base_lr.push_back(group.options().get_lr());

  const nlohmann::json resume_key = ResumeKey(o, net, data);
  Progress p;
  if (!o.resume_from.empty()) {
    Result<Progress> loaded = LoadCheckpoint(o.resume_from, net, *optimizer, resume_key, device);
    if (!loaded.ok()) return loaded.status();
    p = loaded.value();
    Log("resume: " + o.resume_from + " at epoch " + std::to_string(p.epoch + 1) + ", batch " +
        std::to_string(p.batch) + ", step " + std::to_string(p.step));
  }

  const auto n_train = static_cast<int64_t>(data.split.train.size());
  const int64_t batches = (n_train + o.batch - 1) / o.batch;
  const int64_t total_steps = batches * o.epochs;
  const bool watch_acc = o.early_stop_metric == "val_acc";
  const fs::path last_checkpoint = out / "checkpoints" / "last.pt";
  const fs::path best_weights = out / "checkpoints" / "best.pt";
  Reporter reporter;
  auto stop_now = [&]() -> Result<int> {
    ORCHARD_RETURN_IF_ERROR(SaveCheckpoint(last_checkpoint, net, *optimizer, p, resume_key));
    Log("stopped by SIGTERM: checkpoint " + last_checkpoint.string() + " (epoch " +
        std::to_string(p.epoch + 1) + ", batch " + std::to_string(p.batch) + ")");
    return kExitStopped;
  };
  auto logits_of_val = [&](int64_t begin, int64_t end) {
    if (frozen_features) return net.Head(features.val.slice(0, begin, end));
    torch::Tensor x = MakeBatch(data.set, Slice(data.split.val, begin, end), prep).to(device);
    return net.Head(net.Features(x));
  };
  nlohmann::json last_metrics;

  while (p.epoch < o.epochs) {
    const int64_t epoch = p.epoch;  // 0-based; reported as epoch + 1
    const std::vector<int64_t> order = Shuffled(n_train, MixSeed(o.seed, epoch, 0x5u));
    net.SetTraining(true, o.bn == "train");
    auto train_start = Clock::now();
    for (; p.batch < batches; ++p.batch) {
      if (StopRequested()) {
        p.train_seconds += Seconds(train_start);
        return stop_now();
      }
      std::vector<int64_t> positions = Slice(order, p.batch * o.batch, (p.batch + 1) * o.batch);
      torch::Tensor where = torch::tensor(positions, torch::kInt64);
      torch::Tensor y = data.train_labels.index_select(0, where).to(device);
      // Dropout draws from a seed of its own per batch (see finetune.h).
      torch::manual_seed(MixSeed(o.seed, epoch, static_cast<uint64_t>(p.batch) + 1));
      torch::Tensor feats;
      if (frozen_features) {
        feats = features.train.index_select(0, where.to(device));
      } else {
        std::vector<int64_t> images;
        for (int64_t pos : positions) images.push_back(data.split.train[static_cast<size_t>(pos)]);
        torch::Tensor x = MakeBatch(data.set, images, prep,
                                    MixSeed(o.seed, epoch, static_cast<uint64_t>(p.batch) + 0x10000))
                              .to(device);
        torch::AutoGradMode grad(!net.BackboneFrozen());  // no graph through a frozen backbone
        feats = net.Features(x);
      }
      torch::Tensor logits = net.Head(feats);
      torch::Tensor loss = torch::nn::functional::cross_entropy(
          logits, y, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(o.label_smoothing));
      const double factor = ScheduleFactor(o, epoch, p.step, total_steps);
      for (size_t g = 0; g < base_lr.size(); ++g) {
        optimizer->param_groups()[g].options().set_lr(base_lr[g] * factor);
      }
      optimizer->zero_grad();
      loss.backward();
      optimizer->step();
      ++p.step;
      const auto count = static_cast<int64_t>(positions.size());
      p.loss_sum += loss.item<double>() * static_cast<double>(count);
      p.correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      p.seen += count;
    }
    p.train_seconds += Seconds(train_start);

    std::optional<Score> val = Evaluate(net, logits_of_val, data.val_labels);
    if (!val) return stop_now();
    const double watched = watch_acc ? val->acc : val->loss;
    const bool improved = std::isnan(p.best) || (watch_acc ? watched > p.best : watched < p.best);
    // The learning rates of the epoch's last step.
    const double factor = ScheduleFactor(o, epoch, std::max<int64_t>(p.step - 1, 0), total_steps);
    std::vector<Reporter::Metric> metrics = {
        {"train_loss", p.loss_sum / static_cast<double>(p.seen)},
        {"train_acc", static_cast<double>(p.correct) / static_cast<double>(p.seen)},
        {"val_loss", val->loss},
        {"val_acc", val->acc},
        {"lr", base_lr[0] * factor},
        {"images_per_sec", static_cast<double>(p.seen) / std::max(p.train_seconds, 1e-9)},
        {"epoch_seconds", p.train_seconds},
    };
    if (base_lr.size() > 1) {
      metrics.push_back({"backbone_lr", base_lr[1] * factor});
    }
    reporter.LogValues(p.step, epoch + 1, metrics);
    last_metrics = nlohmann::json::object();
    for (const auto& [name, value] : metrics) last_metrics[std::string(name)] = value;

    if (improved) {
      p.best = watched;
      p.best_epoch = epoch + 1;
      p.bad_epochs = 0;
      ORCHARD_RETURN_IF_ERROR(SaveBestWeights(best_weights, net, {epoch + 1, last_metrics}));
    } else {
      ++p.bad_epochs;
    }
    p.epoch += 1;
    p.batch = 0;
    p.loss_sum = 0;
    p.correct = 0;
    p.seen = 0;
    p.train_seconds = 0;
    ORCHARD_RETURN_IF_ERROR(SaveCheckpoint(last_checkpoint, net, *optimizer, p, resume_key));
    if (o.patience > 0 && p.bad_epochs >= o.patience && p.epoch < o.epochs) {
      Log("early stop: " + o.early_stop_metric + " has not improved for " +
          std::to_string(p.bad_epochs) + " epochs (best " + Fixed(p.best, 4) + " at epoch " +
          std::to_string(p.best_epoch) + ")");
      break;
    }
  }

  // The model to export and test: the best epoch's weights, or the last.
  std::string which = "final";
  int64_t export_epoch = p.epoch;
  nlohmann::json export_metrics = last_metrics;
  if (o.export_model == "best" && fs::exists(best_weights)) {
    Result<BestWeights> best = LoadBestWeights(best_weights, net);
    if (!best.ok()) return best.status();
    export_epoch = best.value().epoch;
    export_metrics = best.value().metrics;
    which = "best";
  }
  reporter.LogValues(p.step, std::nullopt,
                     {{std::string("best_") + o.early_stop_metric, p.best},
                      {"best_epoch", static_cast<double>(p.best_epoch)}});
  if (o.export_model != "none") {
    BundleSource source{&o, &data.set, &data.split, prep, flags_json, export_metrics, which,
                        export_epoch};
    Result<double> diff = ExportBundle(net, out, source);
    if (!diff.ok()) return diff.status();
    Log("export: " + (out / "model" / "model.pt").string() + " (" + which + " weights, epoch " +
        std::to_string(export_epoch) + "; TorchScript matches the network to " +
        Fixed(diff.value(), 8) + ")");
  }
  if (o.write_predictions) {
    // The exported weights, on the device the export left them (the CPU).
    const torch::Device where = o.export_model != "none" ? torch::Device(torch::kCPU) : device;
    ORCHARD_RETURN_IF_ERROR(WritePredictions(net, data, prep, where, out));
  }
  if (test) {
    std::vector<int64_t> all(test->images.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    net.To(device);
    torch::Tensor labels = LabelsOf(*test, all);
    std::optional<Score> score = Evaluate(
        net,
        [&](int64_t begin, int64_t end) {
          return net.Head(net.Features(MakeBatch(*test, Slice(all, begin, end), prep).to(device)));
        },
        labels);
    if (!score) return stop_now();
    reporter.LogValues(p.step, std::nullopt, {{"test_loss", score->loss}, {"test_acc", score->acc}});
    Log("test: " + std::to_string(all.size()) + " images, accuracy " + Fixed(score->acc, 4) +
        " (" + which + " weights)");
  }
  Log("done in " + Fixed(Seconds(run_start), 1) + " s; best " + o.early_stop_metric + " " +
      Fixed(p.best, 4) + " at epoch " + std::to_string(p.best_epoch) + "; output in " + out.string());
  return kExitOk;
}

}  // namespace

void RequestStop() { g_stop.store(true, std::memory_order_relaxed); }
bool StopRequested() { return g_stop.load(std::memory_order_relaxed); }

Result<c10::Device> ResolveDevice(const std::string& flag) {
  const bool cuda = torch::cuda::is_available();
  if (flag == "cuda" && !cuda) {
    return Status::InvalidArgument("--device=cuda: no CUDA device is available (this libtorch "
                                   "has no CUDA or no GPU is visible); use --device=cpu or auto");
  }
  if (flag == "cuda" || (flag == "auto" && cuda)) return torch::Device(torch::kCUDA, 0);
  return torch::Device(torch::kCPU);
}

int RunFinetune(const FinetuneOptions& options, const nlohmann::json& flags_json) {
  try {
    Result<int> code = Finetune(options, flags_json);
    if (!code.ok()) {
      std::fprintf(stderr, "orchard-train: %s\n", code.status().message().c_str());
      return kExitFailed;
    }
    return code.value();
  } catch (const std::exception& e) {
    // libtorch reports misuse (out of memory, a bad tensor shape in a user's
    // TorchScript model) by exceptions; their first line says what.
    std::fprintf(stderr, "orchard-train: %s\n", ErrorSummary(e).c_str());
    return kExitFailed;
  }
}

}  // namespace orchard::trainer
