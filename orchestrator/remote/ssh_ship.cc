#include "orchestrator/remote/ssh_ship.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "orchestrator/remote/ssh_scripts.h"
#include "orchestrator/util/sha256.h"

namespace fs = std::filesystem;

namespace orchard::remote {
namespace {

// A tar stream is built in memory: batches keep it bounded.
constexpr size_t kBatchBytes = 64 << 20;

void Octal(char* field, size_t width, uint64_t value) {
  // width-1 digits and a NUL, as ustar readers expect.
  snprintf(field, width, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(value));
}

bool IsSha256(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

Result<std::string> ReadLocal(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path + ": " + strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return Status::IoError("cannot read " + path);
  return s.str();
}

}  // namespace

std::string UstarArchive(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out;
  for (const auto& [name, content] : files) {
    char h[512];
    memset(h, 0, sizeof h);
    memcpy(h, name.data(), std::min<size_t>(name.size(), 99));
    Octal(h + 100, 8, 0644);
    Octal(h + 108, 8, 0);
    Octal(h + 116, 8, 0);
    Octal(h + 124, 12, content.size());
    Octal(h + 136, 12, 0);
    memset(h + 148, ' ', 8);  // the checksum counts its own field as spaces
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    snprintf(h + 148, 8, "%06o", sum);
    h[155] = ' ';
    out.append(h, sizeof h);
    out += content;
    out.append((512 - content.size() % 512) % 512, '\0');
  }
  out.append(1024, '\0');
  return out;
}

bool IsSafeRelativePath(const std::string& path) {
  if (path.empty() || path[0] == '/' ||
      path.find_first_of(std::string("\n\r\0", 3)) != std::string::npos) {
    return false;
  }
  std::istringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part == "..") return false;
  }
  // `read -r m h p` on the node trims the path's outer blanks.
  return !isspace(static_cast<unsigned char>(path.front())) &&
         !isspace(static_cast<unsigned char>(path.back()));
}

std::vector<ShipEntry> SnapshotEntries(const store::Snapshot& manifest) {
  std::vector<ShipEntry> out;
  for (const auto& f : manifest.files) out.push_back({f.path, f.sha256, f.mode, ""});
  return out;
}

Result<std::vector<ShipEntry>> LocalEntries(
    const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<ShipEntry> out;
  auto add = [&](const fs::path& local, const std::string& rel) -> Status {
    if (!IsSafeRelativePath(rel)) return Status::InvalidArgument("cannot ship " + local.string() + " to '" + rel + "' (not a plain relative path)");
    auto hash = Sha256File(local.string());
    if (!hash.ok()) return hash.status();
    struct stat st {};
    int mode = stat(local.c_str(), &st) == 0 && (st.st_mode & S_IXUSR) ? 0755 : 0644;
    out.push_back({rel, *hash, mode, local.string()});
    return Status::Ok();
  };
  for (const auto& [local, rel] : files) {
    std::error_code ec;
    if (fs::is_directory(local, ec)) {
      for (fs::recursive_directory_iterator it(local, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        std::string sub = fs::relative(it->path(), local, ec).generic_string();
        ORCHARD_RETURN_IF_ERROR(add(it->path(), rel + "/" + sub));
      }
      if (ec) return Status::IoError("cannot list " + local + ": " + ec.message());
    } else {
      ORCHARD_RETURN_IF_ERROR(add(local, rel));
    }
  }
  return out;
}

Result<ShipResult> ShipFiles(SshConnection& node, const std::string& dest,
                             const std::vector<ShipEntry>& files, const BlobLoader& load,
                             bool link, double timeout_s, bool* node_failed) {
  *node_failed = false;
  ShipResult result;
  result.files = static_cast<int>(files.size());
  std::map<std::string, const ShipEntry*> by_hash;
  std::set<std::string> paths;
  for (const auto& f : files) {
    if (!IsSafeRelativePath(f.path) || !IsSha256(f.sha256) || !paths.insert(f.path).second) {
      return Status::Corruption("cannot ship to " + dest + ": bad or repeated entry '" + f.path + "'");
    }
    by_hash.emplace(f.sha256, &f);
  }
  std::string list;
  for (const auto& [h, f] : by_hash) list += h + "\n";
  const std::string work = node.work();
  auto check = node.Run(scripts::Command(scripts::kShipCheck, {work, dest}), list, timeout_s);
  if (!check.ok()) return check.status();
  if (!check->ok() || (check->out.rfind("READY", 0) != 0 &&
                       check->out.find("END") == std::string::npos)) {
    *node_failed = true;
    return Status::IoError("cannot check the files on " + node.Describe() + ": " + check->Why());
  }
  if (check->out.rfind("READY", 0) == 0) {
    result.already_there = true;
    return result;
  }
  std::vector<const ShipEntry*> missing;
  std::istringstream lines(check->out);
  for (std::string line; std::getline(lines, line) && line != "END";) {
    if (auto it = by_hash.find(line); it != by_hash.end()) missing.push_back(it->second);
  }
  std::string manifest;
  for (const auto& f : files) {
    char mode[8];
    snprintf(mode, sizeof mode, "%o", f.mode & 07777);
    manifest += std::string(mode) + " " + f.sha256 + " " + f.path + "\n";
  }
  // Blobs in batches; the last batch carries the manifest, which builds `dest`.
  size_t next = 0;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> entries;
    size_t bytes = 0;
    while (next < missing.size() && (entries.empty() || bytes < kBatchBytes)) {
      const ShipEntry& f = *missing[next++];
      auto content = f.local_file.empty() ? load(f) : ReadLocal(f.local_file);
      if (!content.ok()) return content.status();
      bytes += content->size();
      result.bytes_sent += static_cast<int64_t>(content->size());
      entries.emplace_back("blobs/" + f.sha256, std::move(*content));
    }
    const bool last = next >= missing.size();
    if (last) entries.emplace_back("manifest", manifest);
    auto sent = node.Run(scripts::Command(scripts::kShipReceive, {work, dest, link ? "link" : "copy"}),
                         UstarArchive(entries), timeout_s);
    if (!sent.ok()) return sent.status();
    if (!sent->ok()) {
      *node_failed = true;
      return Status::IoError("cannot ship files to " + node.Describe() + " (" + dest + "): " + sent->Why());
    }
    if (last) break;
  }
  result.blobs_sent = static_cast<int>(missing.size());
  return result;
}

}  // namespace orchard::remote
