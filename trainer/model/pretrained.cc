#include "trainer/model/pretrained.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "orchestrator/util/sha256.h"
#include "trainer/model/run_command.h"
#include "trainer/model/tfjs_model.h"

namespace orchard::trainer {

namespace fs = std::filesystem;

namespace {

constexpr char kNsfwjsModelDir[] = "node_modules/nsfwjs/dist/models/mobilenet_v2";
constexpr char kNsfwjsModel[] = "model.min.js";
constexpr char kConverter[] = "trainer/tools/nsfwjs-to-tfjs.js";

bool IsNsfwjsFolder(const fs::path& dir) { return fs::is_regular_file(dir / kNsfwjsModel); }
bool IsTfjsFolder(const fs::path& dir) { return fs::is_regular_file(dir / "model.json"); }

// The weights folder named by the options, or the first one found where npm installs it.
Result<fs::path> FindWeights(const PretrainedOptions& options) {
  if (!options.weights.empty()) {
    if (!fs::is_directory(options.weights)) {
      return Status::NotFound("pretrained weights folder " + options.weights.string() +
                              " does not exist");
    }
    return options.weights;
  }
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("ORCHARD_NSFWJS_DIR"); env && *env) {
    candidates.push_back(env);
  }
  std::error_code ec;
  for (fs::path dir = fs::current_path(ec); !ec && !dir.empty(); dir = dir.parent_path()) {
    candidates.push_back(dir / kNsfwjsModelDir);
    if (dir == dir.root_path()) break;
  }
  candidates.push_back(fs::path(ORCHARD_SOURCE_DIR) / kNsfwjsModelDir);
  for (const fs::path& c : candidates) {
    if (IsNsfwjsFolder(c) || IsTfjsFolder(c)) return c;
  }
  std::string looked;
  for (const fs::path& c : candidates) looked += "\n  " + c.string();
  return Status::NotFound(
      "pretrained MobileNetV2 weights (npm package nsfwjs) not found; looked in:" + looked +
      "\ninstall them with `npm ci --ignore-scripts` in " + ORCHARD_SOURCE_DIR +
      ", or name the folder with $ORCHARD_NSFWJS_DIR");
}

// SHA-256 over the names and contents of the folder's files (not recursive,
// in name order): the cache key of everything derived from them.
Result<std::string> HashFolder(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) files.push_back(it->path());
  }
  if (ec) return Status::IoError("cannot list " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  Sha256 hash;
  for (const fs::path& f : files) {
    auto digest = Sha256File(f.string());
    if (!digest.ok()) return digest.status();
    hash.Update(f.filename().string() + '\0' + *digest + '\n');
  }
  return hash.FinalHex();
}

// Converts nsfwjs's JavaScript wrappers into a TF.js layers model folder
// under the cache, once per content hash; returns its model.json.
Result<fs::path> ConvertNsfwjs(const fs::path& source, const fs::path& cache_dir,
                               const std::string& hash) {
  const fs::path out = cache_dir / "tfjs" / ("nsfwjs-mobilenet_v2-" + hash.substr(0, 16));
  if (IsTfjsFolder(out)) return out / "model.json";  // the converter writes model.json last
  const fs::path script = fs::path(ORCHARD_SOURCE_DIR) / kConverter;
  if (!fs::is_regular_file(script))
    return Status::NotFound("converter " + script.string() + " is missing");
  if (FindOnPath("node").empty()) {
    return Status::NotFound(
        "node (Node.js) is not on PATH; it is needed once to convert " +
        (source / kNsfwjsModel).string() +
        " (apt-get install nodejs), or pass a folder holding a TF.js model.json");
  }
  auto run = RunCommand({"node", script.string(), source.string(), out.string()});
  if (!run.ok()) return run.status().WithContext("converting " + source.string() + " with node");
  if (!IsTfjsFolder(out)) {
    return Status::Internal("node " + script.string() + " wrote no " +
                            (out / "model.json").string());
  }
  return out / "model.json";
}

std::string SafeFileName(std::string identity) {
  for (char& c : identity) {
    if (c == '/' || c == '@') c = '-';
  }
  return identity;
}

// Writes the archive under a unique temporary name and renames it over the
// final one: concurrent trainers each write a whole file, and readers never
// see a partial one.
Status SaveArchive(MobileNetV2& net, const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec)
    return Status::IoError("cannot create " + path.parent_path().string() + ": " + ec.message());
  const fs::path temp = path.string() + ".tmp-" + std::to_string(getpid());
  try {
    torch::save(net, temp.string());
  } catch (const c10::Error& e) {
    fs::remove(temp, ec);
    return Status::IoError("cannot write " + temp.string() + ": " + e.what_without_backtrace());
  }
  fs::rename(temp, path, ec);
  if (ec)
    return Status::IoError("cannot rename " + temp.string() + " to " + path.string() + ": " +
                           ec.message());
  return Status::Ok();
}

}  // namespace

fs::path DefaultCacheDir() {
  if (const char* dir = std::getenv("ORCHARD_CACHE_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return fs::path(xdg) / "orchard";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/tmp") / ".cache" / "orchard";
}

Result<Pretrained> LoadPretrainedMobileNetV2(const PretrainedOptions& options) {
  ORCHARD_RETURN_IF_ERROR(MobileNetV2Impl::ValidateOptions(options.model));
  auto source = FindWeights(options);
  if (!source.ok()) return source.status();
  const bool nsfwjs = IsNsfwjsFolder(*source);
  if (!nsfwjs && !IsTfjsFolder(*source)) {
    return Status::NotFound(source->string() + " holds neither nsfwjs's " + kNsfwjsModel +
                            " nor a TF.js model.json (run `npm ci --ignore-scripts` in " +
                            ORCHARD_SOURCE_DIR + " to install nsfwjs)");
  }
  auto hash = HashFolder(*source);
  if (!hash.ok()) return hash.status();

  Pretrained out;
  out.source = *source;
  out.identity = std::string(nsfwjs ? "nsfwjs-mobilenet_v2" : "tfjs-mobilenet_v2") + "@" +
                 hash->substr(0, 12) + "/" + options.model.last_unit;
  out.net = MobileNetV2(options.model);
  const fs::path cache_dir = options.cache_dir.empty() ? DefaultCacheDir() : options.cache_dir;
  const fs::path archive = cache_dir / "backbones" / (SafeFileName(out.identity) + ".pt");
  if (fs::is_regular_file(archive)) {
    try {
      torch::load(out.net, archive.string());
      out.from_cache = true;
      return out;
    } catch (const c10::Error&) {
      // A damaged archive: rebuild it below from the weights, into a fresh network.
      out.net = MobileNetV2(options.model);
    }
  }

  fs::path model_json = *source / "model.json";
  if (nsfwjs) {
    auto converted = ConvertNsfwjs(*source, cache_dir, *hash);
    if (!converted.ok()) return converted.status();
    model_json = *converted;
  }
  auto model = ReadTfjsLayersModel(model_json);
  if (!model.ok()) return model.status();
  ORCHARD_RETURN_IF_ERROR(
      out.net->LoadKerasWeights(model->weights).WithContext(model_json.string()));
  ORCHARD_RETURN_IF_ERROR(SaveArchive(out.net, archive));
  return out;
}

}  // namespace orchard::trainer
