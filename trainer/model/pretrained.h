// The default pretrained backbone: nsfwjs@4.3.0's Keras MobileNetV2 (npm,
// MIT), whose layers below block_11_expand keep Keras's ImageNet weights
// (DESIGN.md). Found among the npm-installed packages, converted once from
// nsfwjs's JavaScript wrappers to a standard TF.js layers model (node), read
// with ReadTfjsLayersModel, and cached as a torch archive so later trials
// load it in milliseconds.
#pragma once
#include <filesystem>
#include <string>

#include "flags/status.h"
#include "trainer/model/mobilenet_v2.h"

namespace orchard::trainer {

struct PretrainedOptions {
  // The nsfwjs model folder (holding model.min.js and group1-shard1of1.min.js)
  // or a folder with a standard model.json; empty = search:
  // $ORCHARD_NSFWJS_DIR, then node_modules/nsfwjs/dist/models/mobilenet_v2
  // under the current folder's ancestors, then under ORCHARD_SOURCE_DIR.
  std::filesystem::path weights;
  // Where converted models and torch archives are kept; empty = DefaultCacheDir().
  std::filesystem::path cache_dir;
  MobileNetV2Options model;
};

// $ORCHARD_CACHE_DIR, else $XDG_CACHE_HOME/orchard, else $HOME/.cache/orchard.
std::filesystem::path DefaultCacheDir();

struct Pretrained {
  MobileNetV2 net{nullptr};
  // "nsfwjs-mobilenet_v2@<first 12 hex of the weights' sha256>/<last_unit>"
  // ("tfjs-mobilenet_v2@..." when read from a folder with a model.json): the
  // sha256 is over the weights folder's files (names and contents); identifies
  // the weights for feature-cache keys and export bundles.
  std::string identity;
  std::filesystem::path source;  // the folder the weights were read from
  bool from_cache = false;       // true when the torch archive was reused
};

// Loads the pretrained network cut at options.model.last_unit. Errors say
// what was looked for and where, and how to install it (npm ci); an invalid
// last_unit is InvalidArgument. The cache holds
//   <cache_dir>/tfjs/nsfwjs-mobilenet_v2-<hash>/   nsfwjs converted by node
//                                                 (trainer/tools/nsfwjs-to-tfjs.js)
//   <cache_dir>/backbones/<identity, '/' and '@' as '-'>.pt   torch archives
// node is needed only for the first conversion; a damaged archive is rebuilt.
// Safe when several trainers start at once (the cache is written to a
// temporary file and renamed).
Result<Pretrained> LoadPretrainedMobileNetV2(const PretrainedOptions& options);

}  // namespace orchard::trainer
