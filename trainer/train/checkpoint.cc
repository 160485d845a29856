#include "trainer/train/checkpoint.h"

namespace orchard::trainer {
namespace {

namespace fs = std::filesystem;

constexpr char kCheckpointFormat[] = "orchard-train checkpoint 1";

Status WriteArchive(torch::serialize::OutputArchive& archive, const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  fs::path tmp = path;
  tmp += ".tmp";
  try {
    archive.save_to(tmp.string());
  } catch (const std::exception& e) {
    return Status::IoError("cannot write " + tmp.string() + ": " + ErrorSummary(e));
  }
  fs::rename(tmp, path, ec);
  if (ec) return Status::IoError("cannot rename to " + path.string() + ": " + ec.message());
  return Status::Ok();
}

void WriteState(torch::serialize::OutputArchive& archive, const Network& net) {
  c10::List<std::string> names;
  c10::List<at::Tensor> tensors;
  for (const auto& [name, tensor] : net.State()) {
    names.push_back(name);
    tensors.push_back(tensor.detach().to(torch::kCPU).clone());
  }
  archive.write("state_names", c10::IValue(names));
  archive.write("state_tensors", c10::IValue(tensors));
}

Status ReadState(torch::serialize::InputArchive& archive, Network& net, const fs::path& path) {
  c10::IValue names;
  c10::IValue tensors;
  if (!archive.try_read("state_names", names) || !archive.try_read("state_tensors", tensors)) {
    return Status::Corruption(path.string() + " holds no network state");
  }
  std::vector<std::pair<std::string, torch::Tensor>> state;
  const auto& name_list = names.toListRef();
  const auto& tensor_list = tensors.toListRef();
  for (size_t i = 0; i < name_list.size() && i < tensor_list.size(); ++i) {
    state.emplace_back(name_list[i].toStringRef(), tensor_list[i].toTensor());
  }
  Status s = net.LoadState(state);
  if (!s.ok()) return Status::InvalidArgument(path.string() + ": " + s.message());
  return Status::Ok();
}

}  // namespace

Status SaveCheckpoint(const fs::path& path, const Network& net, torch::optim::Optimizer& optimizer,
                      const Progress& p, const nlohmann::json& resume_key) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kCheckpointFormat)));
  archive.write("resume_key", c10::IValue(resume_key.dump()));
  archive.write("epoch", c10::IValue(p.epoch));
  archive.write("batch", c10::IValue(p.batch));
  archive.write("step", c10::IValue(p.step));
  archive.write("loss_sum", c10::IValue(p.loss_sum));
  archive.write("correct", c10::IValue(p.correct));
  archive.write("seen", c10::IValue(p.seen));
  archive.write("train_seconds", c10::IValue(p.train_seconds));
  archive.write("best", c10::IValue(p.best));
  archive.write("best_epoch", c10::IValue(p.best_epoch));
  archive.write("bad_epochs", c10::IValue(p.bad_epochs));
  WriteState(archive, net);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  return WriteArchive(archive, path);
}

Result<Progress> LoadCheckpoint(const fs::path& path, Network& net,
                                torch::optim::Optimizer& optimizer,
                                const nlohmann::json& resume_key, const torch::Device& device) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return Status::NotFound("--resume-from: no checkpoint at " + path.string());
  }
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string(), device);
  } catch (const std::exception& e) {
    return Status::Corruption("--resume-from: " + path.string() +
                              " is not a readable checkpoint: " + ErrorSummary(e));
  }
  c10::IValue v;
  if (!archive.try_read("format", v) || !v.isString() || v.toStringRef() != kCheckpointFormat) {
    return Status::Corruption("--resume-from: " + path.string() +
                              " is not an orchard-train checkpoint");
  }
  archive.read("resume_key", v);
  nlohmann::json saved = nlohmann::json::parse(v.toStringRef(), nullptr, false);
  for (const auto& [name, value] : resume_key.items()) {
    if (!saved.contains(name) || saved[name] != value) {
      return Status::InvalidArgument(
          "--resume-from: " + path.string() + " was written with another " + name + " (" +
          (saved.contains(name) ? saved[name].dump() : "none") + ", now " + value.dump() + ")");
    }
  }
  Progress p;
  auto read_int = [&](const char* key) { archive.read(key, v); return v.toInt(); };
  auto read_double = [&](const char* key) { archive.read(key, v); return v.toDouble(); };
  p.epoch = read_int("epoch");
  p.batch = read_int("batch");
  p.step = read_int("step");
  p.loss_sum = read_double("loss_sum");
  p.correct = read_int("correct");
  p.seen = read_int("seen");
  p.train_seconds = read_double("train_seconds");
  p.best = read_double("best");
  p.best_epoch = read_int("best_epoch");
  p.bad_epochs = read_int("bad_epochs");
  ORCHARD_RETURN_IF_ERROR(ReadState(archive, net, path));
  torch::serialize::InputArchive optimizer_archive;
  archive.read("optimizer", optimizer_archive);
  optimizer.load(optimizer_archive);
  return p;
}

Status SaveBestWeights(const fs::path& path, const Network& net, const BestWeights& best) {
  torch::serialize::OutputArchive archive;
  archive.write("epoch", c10::IValue(best.epoch));
  archive.write("metrics", c10::IValue(best.metrics.dump()));
  WriteState(archive, net);
  return WriteArchive(archive, path);
}

Result<BestWeights> LoadBestWeights(const fs::path& path, Network& net) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string());
  } catch (const std::exception& e) {
    return Status::Corruption("cannot read the best weights " + path.string() + ": " + ErrorSummary(e));
  }
  BestWeights best;
  c10::IValue v;
  if (!archive.try_read("epoch", v)) return Status::Corruption(path.string() + " has no epoch");
  best.epoch = v.toInt();
  if (!archive.try_read("metrics", v)) return Status::Corruption(path.string() + " has no metrics");
  best.metrics = nlohmann::json::parse(v.toStringRef(), nullptr, false);
  ORCHARD_RETURN_IF_ERROR(ReadState(archive, net, path));
  return best;
}

}  // namespace orchard::trainer
