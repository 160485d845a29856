// Reads a TensorFlow.js layers model (what tensorflowjs_converter writes from
// a Keras model): model.json (modelTopology + weightsManifest) and the binary
// weight shards it lists, beside it. Weights may be float32, int32, or
// quantised to uint8 / uint16 / float16 ("quantization": {"dtype", "min",
// "scale"}: value = min + scale * q; float16 by IEEE half conversion).
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "flags/status.h"
#include "trainer/model/mobilenet_v2.h"

namespace orchard::trainer {

struct TfjsModel {
  nlohmann::json topology;  // modelTopology, as written
  KerasWeights weights;     // dequantised, float32 (int32 kept as int32)
  std::string sha256;       // over model.json and the shards, in manifest order
};

// Errors name the file and the problem: unreadable or invalid JSON, no
// weightsManifest, a shard missing or shorter than its manifest says, an
// unknown dtype or quantisation dtype, a shape with a negative dimension.
Result<TfjsModel> ReadTfjsLayersModel(const std::filesystem::path& model_json);

// The layer names of a Keras functional model topology, in order.
std::vector<std::string> TopologyLayerNames(const nlohmann::json& topology);

}  // namespace orchard::trainer
