#include "trainer/train/infer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/script.h>
#include <torch/torch.h>

#include "flags/reporter.h"
#include "orchestrator/util/sha256.h"
#include "trainer/data/image_set.h"
#include "trainer/train/finetune.h"
#include "trainer/train/network.h"
#include "trainer/train/preprocess.h"

namespace orchard::trainer {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kBundleVersion = 1;

void Log(const std::string& line) {
  std::fprintf(stderr, "orchard-train infer: %s\n", line.c_str());
  std::fflush(stderr);
}

// A bundle's model, loaded and checked, and what bundle.json says about it.
struct Model {
  torch::jit::Module module;
  std::vector<std::string> classes;
  int64_t height = 0;
  int64_t width = 0;
  int64_t feature_dim = 0;  // with --features
  torch::Device device = torch::kCPU;
};

Result<int64_t> PositiveInt(const nlohmann::json& card, const char* section, const char* key) {
  if (!card.contains(section) || !card[section].is_object() || !card[section].contains(key) ||
      !card[section][key].is_number_integer() || card[section][key].get<int64_t>() <= 0) {
    return Status::Corruption(std::string("bundle.json: ") + section + "." + key +
                              " is missing or not a positive integer");
  }
  return card[section][key].get<int64_t>();
}

// Every file the card lists must hash to what it recorded.
Status CheckFiles(const fs::path& dir, const nlohmann::json& card, const std::string& model_file) {
  if (!card.contains("files") || !card["files"].is_object()) {
    return Status::Corruption("bundle.json has no \"files\" table of hashes");
  }
  if (!card["files"].contains(model_file)) {
    return Status::Corruption("bundle.json: \"files\" has no hash for " + model_file);
  }
  for (const auto& [name, entry] : card["files"].items()) {
    const fs::path rel(name);
    if (name.empty() || rel.is_absolute() ||
        std::find(rel.begin(), rel.end(), fs::path("..")) != rel.end()) {
      return Status::Corruption("bundle.json: \"files\" names \"" + name + "\", outside the bundle");
    }
    if (!entry.is_object() || !entry.contains("sha256") || !entry["sha256"].is_string()) {
      return Status::Corruption("bundle.json: files." + name + " has no sha256");
    }
    Result<std::string> actual = Sha256File((dir / rel).string());
    if (!actual.ok()) return Status::NotFound("bundle file " + name + ": " + actual.status().message());
    const std::string expected = entry["sha256"].get<std::string>();
    if (actual.value() != expected) {
      return Status::Corruption("bundle file " + name + " does not match its recorded hash "
                                "(tampered or corrupt): expected sha256 " + expected + ", found " +
                                actual.value());
    }
  }
  return Status::Ok();
}

// Reads and checks the bundle, loads the model once, checks what it gives on
// one blank image. Every error here is a bad bundle (exit 2).
Result<Model> LoadModel(const InferOptions& o, const torch::Device& device) {
  const fs::path dir = o.bundle;
  const fs::path card_path = dir / "bundle.json";
  std::ifstream in(card_path);
  if (!in) return Status::NotFound(card_path.string() + ": cannot open (is " + o.bundle + " a bundle?)");
  nlohmann::json card;
  try {
    card = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    return Status::Corruption(card_path.string() + ": not valid JSON: " + ErrorSummary(e));
  }
  if (!card.is_object() || !card.contains("format") || card["format"] != "orchard-bundle") {
    return Status::Corruption(card_path.string() + ": not an Orchard bundle (format is not "
                              "\"orchard-bundle\")");
  }
  if (!card.contains("version") || !card["version"].is_number_integer()) {
    return Status::Corruption(card_path.string() + ": no version");
  }
  if (card["version"].get<int64_t>() != kBundleVersion) {
    return Status::Corruption(card_path.string() + ": bundle version " + card["version"].dump() +
                              ", this worker reads version " + std::to_string(kBundleVersion));
  }
  Model model;
  model.device = device;
  if (!card.contains("classes") || !card["classes"].is_array() || card["classes"].empty()) {
    return Status::Corruption("bundle.json: \"classes\" is missing or empty");
  }
  for (const auto& name : card["classes"]) {
    if (!name.is_string()) return Status::Corruption("bundle.json: a class name is not a string");
    model.classes.push_back(name.get<std::string>());
  }
  Result<int64_t> height = PositiveInt(card, "input", "height");
  if (!height.ok()) return height.status();
  Result<int64_t> width = PositiveInt(card, "input", "width");
  if (!width.ok()) return width.status();
  model.height = height.value();
  model.width = width.value();
  std::string model_file = "model.pt";
  if (card.contains("model") && card["model"].is_object() && card["model"].contains("file") &&
      card["model"]["file"].is_string()) {
    model_file = card["model"]["file"].get<std::string>();
  }
  ORCHARD_RETURN_IF_ERROR(CheckFiles(dir, card, model_file));

  try {
    model.module = torch::jit::load((dir / model_file).string(), device);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(model_file + " is not a TorchScript model: " + ErrorSummary(e));
  }
  model.module.eval();
  const bool has_features = model.module.find_method("features").has_value();
  if (o.features && !has_features) {
    return Status::InvalidArgument(model_file + " has no features() method (the bundle was written "
                                   "before embeddings were exported): --features needs a bundle "
                                   "exported again from its run");
  }
  try {
    if (o.freeze) {
      // Folds BatchNorm into convolutions and constants into the graph, and
      // on the CPU prepacks convolutions for MKL-DNN; features() must
      // survive it. Measured on the example's MobileNetV2 (block_10, 64 px,
      // 2 threads, model only): batch 1 ~320 -> ~680 images/s, batch 64
      // ~990 -> ~1190; outputs within 1e-6 (docs/inference.md).
      std::vector<std::string> keep;
      if (has_features) keep.push_back("features");
      model.module = torch::jit::freeze(model.module, keep);
      if (device.is_cpu()) model.module = torch::jit::optimize_for_inference(model.module, keep);
    }
    // One blank image: the output shapes must fit the card.
    c10::InferenceMode inference;
    torch::Tensor blank = torch::zeros({1, 3, model.height, model.width}).to(device);
    torch::Tensor logits = model.module.forward({blank}).toTensor();
    const auto classes = static_cast<int64_t>(model.classes.size());
    if (logits.dim() != 2 || logits.size(0) != 1 || logits.size(1) != classes) {
      return Status::InvalidArgument(model_file + " gives outputs of shape " + c10::str(logits.sizes()) +
                                     " for one image, but bundle.json names " +
                                     std::to_string(classes) + " classes");
    }
    if (o.features) {
      torch::Tensor f = model.module.run_method("features", blank).toTensor();
      if (f.dim() != 2 || f.size(0) != 1) {
        return Status::InvalidArgument(model_file + ": features() gives shape " + c10::str(f.sizes()) +
                                       " for one image, not [1, D]");
      }
      model.feature_dim = f.size(1);
      if (card.contains("output") && card["output"].is_object() && card["output"].contains("features") &&
          card["output"]["features"] != model.feature_dim) {
        return Status::InvalidArgument(model_file + ": features() gives " +
                                       std::to_string(model.feature_dim) + " values, bundle.json says " +
                                       card["output"]["features"].dump());
      }
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument(model_file + " does not run on a [1, 3, " +
                                   std::to_string(model.height) + ", " + std::to_string(model.width) +
                                   "] image: " + ErrorSummary(e));
  }
  return model;
}

// One input after decoding: the image tensor, or why there is none.
struct Decoded {
  torch::Tensor pixels;  // [3, H, W] in [0, 1]
  std::string error;
};

// Reads, decodes and resizes `paths` on `threads` threads, at most `window`
// ahead of the consumer, and hands the results out in order. The threads
// stop and are joined when the pipeline is destroyed.
class DecodePipeline {
 public:
  DecodePipeline(std::vector<fs::path> paths, int64_t height, int64_t width, int64_t threads,
                 size_t window)
      : paths_(std::move(paths)), height_(height), width_(width), window_(window) {
    for (int64_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
    // Work() changes libtorch's thread count first thing; wait for that, so
    // it never runs beside the model (it also clears MKL-DNN's caches).
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return started_ == threads_.size(); });
  }
  ~DecodePipeline() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  DecodePipeline(const DecodePipeline&) = delete;
  DecodePipeline& operator=(const DecodePipeline&) = delete;

  // The next input's result, in order; blocks until it is decoded.
  // REQUIRES: fewer calls than paths.
  Decoded Next() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return ready_.count(next_take_) > 0; });
    auto it = ready_.find(next_take_);
    Decoded d = std::move(it->second);
    ready_.erase(it);
    ++next_take_;
    cv_.notify_all();
    return d;
  }

 private:
  void Work() {
    // One image is too small to share out: each decoder is one thread. A
    // fresh thread takes libtorch's process-wide count the first time it
    // runs an op; the model's thread has taken its own already.
    at::set_num_threads(1);
    c10::InferenceMode inference;
    std::unique_lock lock(mu_);
    ++started_;
    cv_.notify_all();
    while (true) {
      cv_.wait(lock, [&] {
        return stopping_ || next_claim_ >= paths_.size() || next_claim_ < next_take_ + window_;
      });
      if (stopping_ || next_claim_ >= paths_.size()) return;
      const size_t i = next_claim_++;
      lock.unlock();
      Decoded d = Decode(paths_[i]);
      lock.lock();
      ready_.emplace(i, std::move(d));
      cv_.notify_all();
    }
  }

  Decoded Decode(const fs::path& path) const {
    Decoded d;
    if (path.empty()) {
      d.error = "empty path";
      return d;
    }
    Result<Image> image = ReadImageFile(path);
    if (!image.ok()) {
      d.error = image.status().message();
      return d;
    }
    try {
      d.pixels = ImageTensor(image.value(), height_, width_);
    } catch (const std::exception& e) {
      d.error = "cannot resize: " + ErrorSummary(e);
    }
    return d;
  }

  const std::vector<fs::path> paths_;
  const int64_t height_;
  const int64_t width_;
  const size_t window_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t started_ = 0;
  size_t next_claim_ = 0;
  size_t next_take_ = 0;
  std::map<size_t, Decoded> ready_;
  bool stopping_ = false;
};

// Counts and the progress records of a worker.
class Progress {
 public:
  void Add(int64_t images, int64_t errors) {
    if (!started_) start_ = last_ = Clock::now();
    started_ = true;
    images_ += images;
    errors_ += errors;
  }
  // At most once a second unless forced (the end of a shard).
  void Report(bool force) {
    const auto now = Clock::now();
    if (!force && now - last_ < std::chrono::seconds(1)) return;
    last_ = now;
    const double seconds = started_ ? std::chrono::duration<double>(now - start_).count() : 0.0;
    reporter_.LogValues(images_, std::nullopt,
                        {{"images", static_cast<double>(images_)},
                         {"errors", static_cast<double>(errors_)},
                         {"images_per_sec", seconds > 0 ? static_cast<double>(images_) / seconds : 0.0}});
  }

 private:
  Reporter reporter_;
  bool started_ = false;
  Clock::time_point start_;
  Clock::time_point last_;
  int64_t images_ = 0;
  int64_t errors_ = 0;
};

// A held flock on OUT.lock. The file stays: unlinking it while locked would
// let a later worker lock a fresh file beside one still holding the old.
class ShardLock {
 public:
  static Result<ShardLock> Acquire(const fs::path& out) {
    fs::path path = out;
    path += ".lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::IoError("cannot open " + path.string() + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return Status::AlreadyExists("another worker is writing " + out.string() + " (" +
                                     path.string() + " is locked)");
      }
      return Status::IoError("cannot lock " + path.string() + ": " + std::strerror(err));
    }
    return ShardLock(fd);
  }
  ShardLock(ShardLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ShardLock& operator=(ShardLock&&) = delete;
  ~ShardLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }

 private:
  explicit ShardLock(int fd) : fd_(fd) {}
  int fd_;
};

Result<std::vector<std::string>> ReadLines(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path.string() + ": " + std::strerror(errno));
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  if (in.bad()) return Status::IoError("cannot read " + path.string());
  return lines;
}

struct Shard {
  fs::path list;
  fs::path out;
};

Result<std::vector<Shard>> ReadShards(const InferOptions& o) {
  if (o.shards.empty()) return std::vector<Shard>{{o.inputs, o.output}};
  Result<std::vector<std::string>> lines = ReadLines(o.shards);
  if (!lines.ok()) return Status::InvalidArgument("--shards: " + lines.status().message());
  std::vector<Shard> shards;
  for (size_t i = 0; i < lines->size(); ++i) {
    const std::string& line = (*lines)[i];
    if (line.empty()) continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos || tab == 0 || tab + 1 == line.size()) {
      return Status::InvalidArgument("--shards: " + o.shards + ":" + std::to_string(i + 1) +
                                     ": expected LIST<TAB>OUT");
    }
    shards.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return shards;
}

// Records for one batch of decoded inputs, in order.
std::string RunBatch(Model& model, const InferOptions& o, const RecordWriter& writer,
                     const std::vector<std::string>& inputs, const std::vector<Decoded>& items,
                     int64_t* errors) {
  std::vector<torch::Tensor> images;
  for (const Decoded& d : items) {
    if (d.error.empty()) images.push_back(d.pixels);
  }
  torch::Tensor values;  // features [n, D] or top-k probabilities [n, K]
  torch::Tensor indices;
  if (!images.empty()) {
    torch::Tensor x = torch::stack(images).to(model.device);
    if (o.features) {
      values = model.module.run_method("features", x).toTensor().to(torch::kCPU, torch::kFloat32);
    } else {
      torch::Tensor logits = model.module.forward({x}).toTensor().to(torch::kFloat32);
      const int64_t k = std::min<int64_t>(o.top_k, static_cast<int64_t>(model.classes.size()));
      auto [top, where] = torch::softmax(logits, 1).topk(k, 1);
      values = top.to(torch::kCPU);
      indices = where.to(torch::kCPU);
    }
    values = values.contiguous();
  }
  std::string text;
  int64_t row = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].error.empty()) {
      ++*errors;
      text += writer.Error(inputs[i], items[i].error);
      continue;
    }
    if (o.features) {
      text += writer.Features(inputs[i], values[row].data_ptr<float>());
    } else {
      std::vector<Prediction> top;
      const auto* p = values[row].data_ptr<float>();
      const auto* idx = indices[row].data_ptr<int64_t>();
      for (int64_t j = 0; j < values.size(1); ++j) top.push_back({idx[j], p[j]});
      text += writer.TopK(inputs[i], top);
    }
    ++row;
  }
  return text;
}

enum class ShardEnd { kDone, kSkipped, kStopped };

Status SyncAndClose(std::FILE* f, const fs::path& path) {
  bool ok = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  ok = std::fclose(f) == 0 && ok;
  if (!ok) return Status::IoError("cannot write " + path.string() + ": " + std::strerror(errno));
  return Status::Ok();
}

Result<ShardEnd> RunShard(Model& model, const InferOptions& o, const Shard& shard,
                          Progress* progress) {
  Result<ShardLock> lock = ShardLock::Acquire(shard.out);
  if (!lock.ok()) return lock.status();
  // Another worker may have finished it before we took the lock.
  std::error_code ec;
  if (fs::exists(shard.out, ec)) return ShardEnd::kSkipped;
  Result<std::vector<std::string>> inputs = ReadLines(shard.list);
  if (!inputs.ok()) return inputs.status();
  std::vector<fs::path> paths;
  paths.reserve(inputs->size());
  for (const std::string& line : *inputs) {
    fs::path p(line);
    paths.push_back(line.empty() || p.is_absolute() || o.root.empty() ? p : fs::path(o.root) / p);
  }

  fs::path tmp = shard.out;
  tmp += ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return Status::IoError("cannot create " + tmp.string() + ": " + std::strerror(errno));
  auto abandon = [&] {
    std::fclose(f);
    fs::remove(tmp, ec);
  };
  const auto k = std::min<int64_t>(o.top_k, static_cast<int64_t>(model.classes.size()));
  RecordWriter writer(o.format, model.classes, k, o.features, model.feature_dim);
  std::string header = writer.Header();
  std::fwrite(header.data(), 1, header.size(), f);

  const size_t n = paths.size();
  const auto batch = static_cast<size_t>(o.batch);
  {
    DecodePipeline pipeline(paths, model.height, model.width, o.decoders,
                            2 * batch + static_cast<size_t>(o.decoders));
    c10::InferenceMode inference;
    for (size_t begin = 0; begin < n; begin += batch) {
      if (StopRequested()) {
        abandon();
        return ShardEnd::kStopped;
      }
      const size_t end = std::min(n, begin + batch);
      std::vector<Decoded> items;
      for (size_t i = begin; i < end; ++i) items.push_back(pipeline.Next());
      std::vector<std::string> names(inputs->begin() + static_cast<std::ptrdiff_t>(begin),
                                     inputs->begin() + static_cast<std::ptrdiff_t>(end));
      int64_t errors = 0;
      std::string text;
      try {
        text = RunBatch(model, o, writer, names, items, &errors);
      } catch (const std::exception& e) {
        abandon();
        return Status::Internal("the model failed on " + shard.list.string() + " lines " +
                                std::to_string(begin + 1) + "-" + std::to_string(end) + ": " +
                                ErrorSummary(e));
      }
      if (std::fwrite(text.data(), 1, text.size(), f) != text.size()) {
        const std::string reason = std::strerror(errno);
        abandon();
        return Status::IoError("cannot write " + tmp.string() + ": " + reason);
      }
      progress->Add(static_cast<int64_t>(end - begin), errors);
      progress->Report(false);
    }
  }
  if (StopRequested()) {
    abandon();
    return ShardEnd::kStopped;
  }
  Status closed = SyncAndClose(f, tmp);
  if (!closed.ok()) {
    fs::remove(tmp, ec);
    return closed;
  }
  fs::rename(tmp, shard.out, ec);
  if (ec) return Status::IoError("cannot rename " + tmp.string() + " to " + shard.out.string() + ": " + ec.message());
  // The rename itself must survive a crash.
  const fs::path parent = shard.out.has_parent_path() ? shard.out.parent_path() : fs::path(".");
  if (int dir = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return ShardEnd::kDone;
}

int Infer(const InferOptions& o) {
  const int threads = o.threads > 0 ? static_cast<int>(o.threads)
                                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  (void)at::get_num_threads();  // settles this thread's count before decoders change the default
  try {
    at::set_num_interop_threads(1);  // the model runs on this thread only
  } catch (const std::exception&) {
    // Already set in this process (tests run the worker more than once).
  }
  Result<torch::Device> device = ResolveDevice(o.device);
  if (!device.ok()) {
    Log(device.status().message());
    return kExitUsage;
  }
  Result<std::vector<Shard>> shards = ReadShards(o);
  if (!shards.ok()) {
    Log(shards.status().message());
    return kExitUsage;
  }
  const auto load_start = Clock::now();
  Result<Model> model = LoadModel(o, device.value());
  if (!model.ok()) {
    Log(o.bundle + ": " + model.status().message());
    return kExitUsage;
  }
  Log("loaded " + o.bundle + " on " + device->str() + " in " +
      std::to_string(std::chrono::duration<double>(Clock::now() - load_start).count()) + " s (" +
      std::to_string(model->classes.size()) + " classes, " + std::to_string(model->height) + "x" +
      std::to_string(model->width) + ", " + std::to_string(at::get_num_threads()) + " threads, " +
      std::to_string(o.decoders) + " decoders" + (o.freeze ? ", frozen" : "") + ")");
  Progress progress;
  for (const Shard& shard : shards.value()) {
    if (StopRequested()) return kExitStopped;
    std::error_code ec;
    if (fs::exists(shard.out, ec)) {
      Log(shard.out.string() + " exists: shard done, skipped");
      progress.Report(true);
      continue;
    }
    Result<ShardEnd> end = RunShard(model.value(), o, shard, &progress);
    if (!end.ok()) {
      Log(end.status().message());
      return kExitFailed;
    }
    if (end.value() == ShardEnd::kStopped) {
      Log("stopped by SIGTERM: " + shard.out.string() + " left unfinished (its .tmp removed)");
      return kExitStopped;
    }
    if (end.value() == ShardEnd::kSkipped) Log(shard.out.string() + " was finished by another worker");
    progress.Report(true);
  }
  return kExitOk;
}

}  // namespace

int RunInfer(const InferOptions& options) {
  try {
    return Infer(options);
  } catch (const std::exception& e) {
    Log(ErrorSummary(e));
    return kExitFailed;
  }
}

}  // namespace orchard::trainer
