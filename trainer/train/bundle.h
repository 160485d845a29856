// The export bundle (DESIGN.md): model/model.pt, a self-contained TorchScript
// module (float RGB in [0, 1] -> logits, normalisation inside), and
// model/bundle.json describing what it takes and gives and where it came
// from. The export is checked: the written module, loaded back, must compute
// what the network computes.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <nlohmann/json.hpp>
#include "flags/status.h"
#include "trainer/data/image_set.h"
#include "trainer/train/network.h"
#include "trainer/train/options.h"
#include "trainer/train/preprocess.h"

namespace orchard::trainer {

// What bundle.json records besides the network.
struct BundleSource {
  const FinetuneOptions* options = nullptr;
  const ImageSet* data = nullptr;
  const Split* split = nullptr;  // its first validation images check the export
  PreprocessOptions preprocess;
  nlohmann::json flags;    // every flag value
  nlohmann::json metrics;  // of the exported epoch
  std::string weights;     // "best" or "final"
  int64_t epoch = 0;
};

// Writes OUT/model/model.pt and OUT/model/bundle.json (moving the network to
// the CPU and into eval mode); returns the largest difference between the
// exported module and the network on the check images.
Result<double> ExportBundle(Network& net, const std::filesystem::path& out,
                            const BundleSource& source);

}  // namespace orchard::trainer
