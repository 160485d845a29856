#include "trainer/model/tfjs_model.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "orchestrator/util/sha256.h"

namespace orchard::trainer {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path.string());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return Status::IoError("cannot read " + path.string());
  return bytes.str();
}

// Bytes per stored value of a weight's storage dtype (its quantisation dtype
// when quantised); 0 when unknown.
size_t StoredSize(const std::string& dtype) {
  if (dtype == "float32" || dtype == "int32") return 4;
  if (dtype == "uint16" || dtype == "float16") return 2;
  if (dtype == "uint8") return 1;
  return 0;
}

template <typename Q>
torch::Tensor Dequantise(const char* bytes, int64_t count, double min, double scale, bool to_int) {
  std::vector<Q> q(count);
  std::memcpy(q.data(), bytes, count * sizeof(Q));
  if (to_int) {
    auto out = torch::empty({count}, torch::kInt32);
    auto* p = out.data_ptr<int32_t>();
    for (int64_t i = 0; i < count; ++i) p[i] = static_cast<int32_t>(std::round(q[i] * scale + min));
    return out;
  }
  auto out = torch::empty({count}, torch::kFloat32);
  auto* p = out.data_ptr<float>();
  // In double, then rounded once to float32, exactly as tfjs-core's decodeWeights.
  for (int64_t i = 0; i < count; ++i) p[i] = static_cast<float>(q[i] * scale + min);
  return out;
}

// Decodes one weight from `bytes` (little-endian, as TF.js writes them).
Result<torch::Tensor> DecodeWeight(const json& spec, const std::string& name,
                                   const std::vector<int64_t>& shape, int64_t count,
                                   const char* bytes) {
  const std::string dtype = spec.at("dtype").get<std::string>();
  if (!spec.contains("quantization")) {
    const auto type = dtype == "float32" ? torch::kFloat32 : torch::kInt32;
    auto out = torch::empty({count}, type);
    std::memcpy(out.data_ptr(), bytes, count * 4);
    return out.reshape(shape);
  }
  const json& q = spec.at("quantization");
  const std::string qtype = q.at("dtype").get<std::string>();
  if (qtype == "float16") {
    if (dtype != "float32") {
      return Status::Corruption("weight " + name + ": float16 quantisation of " + dtype);
    }
    auto half = torch::empty({count}, torch::kFloat16);
    std::memcpy(half.data_ptr(), bytes, count * 2);
    return half.to(torch::kFloat32).reshape(shape);
  }
  if (!q.contains("min") || !q.contains("scale")) {
    return Status::Corruption("weight " + name + ": " + qtype +
                              " quantisation without min and scale");
  }
  const double min = q.at("min").get<double>();
  const double scale = q.at("scale").get<double>();
  const bool to_int = dtype == "int32";
  torch::Tensor out = qtype == "uint8" ? Dequantise<uint8_t>(bytes, count, min, scale, to_int)
                                       : Dequantise<uint16_t>(bytes, count, min, scale, to_int);
  return out.reshape(shape);
}

// Decodes the weights of one manifest group, whose shards are concatenated.
Status ReadGroup(const json& group, const fs::path& dir, Sha256* hash, KerasWeights* weights) {
  std::string data;
  std::string shard_names;
  for (const json& p : group.at("paths")) {
    const fs::path shard = dir / p.get<std::string>();
    auto bytes = ReadFile(shard);
    if (!bytes.ok()) return bytes.status().WithContext("weight shard");
    hash->Update(*bytes);
    data += *bytes;
    shard_names += (shard_names.empty() ? "" : " + ") + shard.filename().string();
  }
  size_t offset = 0;
  for (const json& spec : group.at("weights")) {
    const std::string name = spec.at("name").get<std::string>();
    const std::string dtype = spec.at("dtype").get<std::string>();
    if (dtype != "float32" && dtype != "int32") {
      return Status::Corruption("weight " + name + ": unsupported dtype '" + dtype + "'");
    }
    std::string stored = dtype;
    if (spec.contains("quantization")) {
      stored = spec.at("quantization").at("dtype").get<std::string>();
      if (stored != "uint8" && stored != "uint16" && stored != "float16") {
        return Status::Corruption("weight " + name + ": unknown quantization dtype '" + stored +
                                  "'");
      }
    }
    if (!spec.at("shape").is_array()) {
      return Status::Corruption("weight " + name + ": shape is not an array");
    }
    std::vector<int64_t> shape;
    int64_t count = 1;
    for (const json& d : spec.at("shape")) {
      const int64_t n = d.get<int64_t>();
      // The bound keeps the byte count from overflowing; no real weight is near it.
      if (n < 0 || n > (int64_t{1} << 40) || (n > 0 && count > (int64_t{1} << 40) / n)) {
        return Status::Corruption("weight " + name + ": invalid shape " + spec.at("shape").dump());
      }
      shape.push_back(n);
      count *= n;
    }
    const size_t size = static_cast<size_t>(count) * StoredSize(stored);
    if (offset + size > data.size()) {
      return Status::Corruption("weight " + name + " needs bytes " + std::to_string(offset) + ".." +
                                std::to_string(offset + size) + " but " + shard_names +
                                " hold only " + std::to_string(data.size()) + " (shard too short)");
    }
    auto tensor = DecodeWeight(spec, name, shape, count, data.data() + offset);
    if (!tensor.ok()) return tensor.status();
    if (!weights->emplace(name, std::move(*tensor)).second) {
      return Status::Corruption("weight " + name + " appears twice in the manifest");
    }
    offset += size;
  }
  return Status::Ok();
}

}  // namespace

Result<TfjsModel> ReadTfjsLayersModel(const fs::path& model_json) {
  const std::string where = model_json.string();
  auto text = ReadFile(model_json);
  if (!text.ok()) return text.status();
  TfjsModel model;
  Sha256 hash;
  hash.Update(*text);
  try {
    const json root = json::parse(*text);
    if (!root.is_object() || !root.contains("weightsManifest") ||
        !root["weightsManifest"].is_array()) {
      return Status::Corruption(where + ": no weightsManifest (not a TF.js layers model)");
    }
    if (root.contains("modelTopology")) model.topology = root["modelTopology"];
    for (const json& group : root["weightsManifest"]) {
      ORCHARD_RETURN_IF_ERROR(
          ReadGroup(group, model_json.parent_path(), &hash, &model.weights).WithContext(where));
    }
  } catch (const json::exception& e) {
    // Parse errors, and manifests whose fields are missing or of the wrong type.
    return Status::Corruption(where + ": invalid model.json: " + e.what());
  }
  model.sha256 = hash.FinalHex();
  return model;
}

std::vector<std::string> TopologyLayerNames(const json& topology) {
  // Either Keras's model JSON itself or TF.js's wrapper around it.
  const json& model = topology.contains("model_config") ? topology["model_config"] : topology;
  std::vector<std::string> names;
  if (!model.is_object() || !model.contains("config")) return names;
  const json& config = model["config"];
  // Functional and newer Sequential models: {"layers": [...]}; old Sequential: [...].
  const json& layers = config.is_object() && config.contains("layers") ? config["layers"] : config;
  if (!layers.is_array()) return names;
  for (const json& layer : layers) {
    if (layer.contains("name") && layer["name"].is_string()) {
      names.push_back(layer["name"]);
    } else if (layer.contains("config") && layer["config"].contains("name") &&
               layer["config"]["name"].is_string()) {
      names.push_back(layer["config"]["name"]);
    }
  }
  return names;
}

}  // namespace orchard::trainer
