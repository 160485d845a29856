#include "orchestrator/infer/job.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "orchestrator/infer/bundle.h"

namespace orchard::infer {

namespace fs = std::filesystem;

std::vector<ShardRange> PlanShards(int64_t n_inputs, int n_shards) {
  int64_t n = std::max<int64_t>(1, std::min<int64_t>(std::max(1, n_shards), n_inputs));
  std::vector<ShardRange> out;
  int64_t base = n_inputs / n, extra = n_inputs % n, first = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t count = base + (i < extra ? 1 : 0);
    out.push_back({static_cast<int>(i), first, count});
    first += count;
  }
  return out;
}

std::string ShardFileName(int index, const std::string& ext) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "shard-%04d.", index);
  return buf + ext;
}

nlohmann::json JobIdentity(const std::string& bundle_sha256, const InputSet& inputs,
                           const RecordOptions& options) {
  return {{"bundle_sha256", bundle_sha256},
          {"inputs_sha256", InputsHash(inputs)},
          {"inputs", inputs.paths.size()},
          {"root", inputs.root},
          {"options",
           {{"format", options.format}, {"top_k", options.top_k}, {"features", options.features}}}};
}

nlohmann::json Manifest::ToJson() const {
  nlohmann::json s = nlohmann::json::array();
  for (const auto& r : shards) {
    s.push_back({{"index", r.index},
                 {"first", r.first},
                 {"count", r.count},
                 {"list", ShardFileName(r.index, "list")},
                 {"out", ShardFileName(r.index, "out")}});
  }
  return {{"format", kManifestFormat}, {"version", 1},   {"job", job},
          {"bundle", bundle},          {"input", input}, {"output", output},
          {"created", created},        {"shards", s}};
}

Result<Manifest> Manifest::FromJson(const nlohmann::json& j, const std::string& name) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(name + ": " + why +
                                   " (not a work folder of this Orchard; --restart starts over)");
  };
  if (!j.is_object() || j.value("format", "") != kManifestFormat) return bad("not a job manifest");
  if (j.value("version", 0) != 1) return bad("unknown manifest version");
  Manifest m;
  try {
    m.job = j.at("job");
    m.bundle = j.value("bundle", "");
    m.input = j.value("input", "");
    m.output = j.value("output", "");
    m.created = j.value("created", 0.0);
    int64_t next = 0;
    for (const auto& s : j.at("shards")) {
      ShardRange r{s.at("index").get<int>(), s.at("first").get<int64_t>(),
                   s.at("count").get<int64_t>()};
      if (r.index != static_cast<int>(m.shards.size()) || r.first != next || r.count < 0) {
        return bad("shards are not contiguous ranges in order");
      }
      next += r.count;
      m.shards.push_back(r);
    }
    if (next != m.job.at("inputs").get<int64_t>()) return bad("shards do not cover the inputs");
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  return m;
}

Status WriteFileAtomic(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("cannot write " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      unlink(tmp.c_str());
      return Status::IoError("cannot write " + tmp + ": " + std::strerror(e));
    }
    done += static_cast<size_t>(n);
  }
  fsync(fd);
  close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    return Status::IoError("cannot rename " + tmp + " to " + path + ": " + std::strerror(e));
  }
  return Status::Ok();
}

Result<std::optional<Manifest>> ReadManifest(const std::string& work_dir) {
  std::string path = (fs::path(work_dir) / kManifestName).string();
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::optional<Manifest>();
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::IoError("cannot read " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  auto j = ParseJsonText(ss.str(), path);
  if (!j.ok()) {
    return Status::InvalidArgument(j.status().message() + " (--restart starts the job over)");
  }
  auto m = Manifest::FromJson(*j, path);
  if (!m.ok()) return m.status();
  return std::optional<Manifest>(std::move(m).value());
}

Status WriteManifest(const std::string& work_dir, const Manifest& m) {
  return WriteFileAtomic((fs::path(work_dir) / kManifestName).string(), m.ToJson().dump(2) + "\n");
}

std::string DescribeJobDifference(const nlohmann::json& recorded, const nlohmann::json& now) {
  auto get = [](const nlohmann::json& j, const char* k) {
    return j.is_object() && j.contains(k) ? j[k] : nlohmann::json();
  };
  std::vector<std::string> parts;
  if (get(recorded, "bundle_sha256") != get(now, "bundle_sha256")) {
    parts.push_back("the bundle differs (bundle.json sha256 " +
                    get(recorded, "bundle_sha256").dump() + " then, " +
                    get(now, "bundle_sha256").dump() + " now)");
  }
  if (get(recorded, "root") != get(now, "root")) {
    parts.push_back("the inputs' folder differs (" + get(recorded, "root").dump() + " then, " +
                    get(now, "root").dump() + " now)");
  } else if (get(recorded, "inputs_sha256") != get(now, "inputs_sha256")) {
    parts.push_back("the inputs differ (" + get(recorded, "inputs").dump() + " then, " +
                    get(now, "inputs").dump() + " now)");
  }
  if (get(recorded, "options") != get(now, "options")) {
    parts.push_back("the options differ (" + get(recorded, "options").dump() + " then, " +
                    get(now, "options").dump() + " now)");
  }
  if (parts.empty()) return "the job differs";
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

Status WriteShardLists(const std::string& work_dir, const InputSet& inputs,
                       const std::vector<ShardRange>& shards) {
  for (const auto& r : shards) {
    std::string text;
    for (int64_t i = r.first; i < r.first + r.count; ++i) text += inputs.paths[i] + "\n";
    ORCHARD_RETURN_IF_ERROR(
        WriteFileAtomic((fs::path(work_dir) / ShardFileName(r.index, "list")).string(), text));
  }
  return Status::Ok();
}

namespace {

bool OwnFile(const std::string& name) {
  static const std::regex kOwn(
      R"((manifest\.json(\.tmp)?|driver\.lock|shard-\d{4,}\.(list|out)(\.tmp|\.lock)?|worker-\d+-\d+\.(shards|stdout|stderr)))");
  return std::regex_match(name, kOwn);
}

}  // namespace

Result<std::vector<std::string>> ForeignFiles(const std::string& work_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(work_dir, ec)) return out;
  for (fs::directory_iterator it(work_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!OwnFile(name)) out.push_back(name);
  }
  if (ec) return Status::IoError("cannot list " + work_dir + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

Status ClearWorkFolder(const std::string& work_dir, bool remove_lock) {
  std::error_code ec;
  if (!fs::exists(work_dir, ec)) return Status::Ok();
  std::vector<fs::path> doomed;
  for (fs::directory_iterator it(work_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name == kLockName && !remove_lock) continue;
    if (OwnFile(name) && !it->is_directory(ec)) doomed.push_back(it->path());
  }
  if (ec) return Status::IoError("cannot list " + work_dir + ": " + ec.message());
  for (const auto& p : doomed) {
    if (!fs::remove(p, ec) && ec) return Status::IoError("cannot remove " + p.string() + ": " + ec.message());
  }
  if (remove_lock && fs::is_empty(work_dir, ec)) fs::remove(work_dir, ec);
  return Status::Ok();
}

}  // namespace orchard::infer
