#include "orchestrator/capture/code_snapshot.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <utility>

#include "orchestrator/capture/git_info.h"
#include "orchestrator/capture/ignore_rules.h"
#include "orchestrator/util/sha256.h"
#include "orchestrator/util/unified_diff.h"

namespace orchard::capture {
namespace fs = std::filesystem;

namespace {

// Directories a walk never enters (besides any hidden one).
bool IsSkippedDirName(const std::string& name) {
  return name == "node_modules" || name == "__pycache__" || name == "venv" ||
         name.rfind("build", 0) == 0 || (!name.empty() && name[0] == '.');
}

bool IsInside(const fs::path& root, const fs::path& p) {
  auto r = root.begin(), q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (q == p.end() || *r != *q) return false;
  }
  return true;
}

// Collects files under the caps and records why others were left out.
class Collector {
 public:
  Collector(const fs::path& root, const SnapshotOptions& options, store::Snapshot* snap)
      : root_(root), options_(options), snap_(snap) {}

  bool full() const { return snap_->files.size() >= options_.max_files; }

  void Skip(const std::string& path, const std::string& reason) {
    if (skipped_listed_ < options_.max_skipped_listed) {
      snap_->skipped.push_back({{"path", path}, {"reason", reason}});
      ++skipped_listed_;
    } else {
      ++skipped_unlisted_;
    }
  }

  // Considers one candidate regular file (or symlink to one), `rel` being
  // its '/'-separated path under the root.
  void Add(const std::string& rel) {
    if (full()) {
      Skip(rel, "file count limit (" + std::to_string(options_.max_files) + ") reached");
      return;
    }
    fs::path full_path = root_ / rel;
    std::error_code ec;
    fs::file_status st = fs::symlink_status(full_path, ec);
    if (ec || !fs::exists(st)) {
      Skip(rel, "missing");
      return;
    }
    if (fs::is_symlink(st)) {
      fs::path target = fs::weakly_canonical(full_path, ec);
      if (ec || !IsInside(root_, target)) {
        Skip(rel, "symlink out of the root");
        return;
      }
      st = fs::status(full_path, ec);
      if (ec) {
        Skip(rel, "broken symlink");
        return;
      }
    }
    if (!fs::is_regular_file(st)) {
      Skip(rel, fs::is_directory(st) ? "directory (submodule?)" : "not a regular file");
      return;
    }
    uintmax_t size = fs::file_size(full_path, ec);
    if (ec) {
      Skip(rel, "cannot stat: " + ec.message());
      return;
    }
    if (size > options_.max_file_bytes) {
      Skip(rel, "larger than " + std::to_string(options_.max_file_bytes) + " bytes");
      return;
    }
    if (total_ + size > options_.max_total_bytes) {
      Skip(rel, "total size limit (" + std::to_string(options_.max_total_bytes) + " bytes) reached");
      return;
    }
    std::string content;
    if (Status s = ReadFile(full_path, size, &content); !s.ok()) {
      Skip(rel, s.message());
      return;
    }
    if (LooksBinary(content)) {
      Skip(rel, "binary");
      return;
    }
    total_ += content.size();
    store::SnapshotFile file;
    file.path = rel;
    file.sha256 = Sha256Hex(content);
    file.mode = (st.permissions() & fs::perms::owner_exec) != fs::perms::none ? 0755 : 0644;
    file.content = std::move(content);
    snap_->files.push_back(std::move(file));
  }

  void Finish() {
    if (skipped_unlisted_ > 0) {
      snap_->skipped.push_back(
          {{"path", ""}, {"reason", std::to_string(skipped_unlisted_) + " more skipped, not listed"}});
    }
    std::sort(snap_->files.begin(), snap_->files.end(),
              [](const store::SnapshotFile& a, const store::SnapshotFile& b) { return a.path < b.path; });
  }

 private:
  // Reads at most max_file_bytes + 1 so a file growing under us stays bounded.
  Status ReadFile(const fs::path& path, uintmax_t expected, std::string* out) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f) return Status::IoError(std::string("cannot open: ") + std::strerror(errno));
    out->resize(std::min<uintmax_t>(expected, options_.max_file_bytes) + 1);
    size_t n = std::fread(out->data(), 1, out->size(), f.get());
    if (std::ferror(f.get())) return Status::IoError("read error");
    if (n > options_.max_file_bytes) {
      return Status::IoError("larger than " + std::to_string(options_.max_file_bytes) + " bytes");
    }
    out->resize(n);
    return Status::Ok();
  }

  fs::path root_;
  const SnapshotOptions& options_;
  store::Snapshot* snap_;
  uintmax_t total_ = 0;
  size_t skipped_listed_ = 0;
  size_t skipped_unlisted_ = 0;
};

// Lists candidate paths with git; false when git cannot list them.
bool ListWithGit(const fs::path& root, const SnapshotOptions& options,
                 std::vector<std::string>* paths, bool* truncated) {
  CommandSpec spec;
  spec.argv = {"git", "--no-optional-locks", "ls-files", "-z", "--cached", "--others",
               "--exclude-standard"};
  spec.cwd = root.string();
  // Enough for max_walk_entries paths of typical length.
  spec.max_output = std::max<size_t>(options.max_walk_entries, options.max_files) * 256;
  spec.timeout_s = 30;
  Result<CommandResult> r = options.run(spec);
  if (!r.ok() || (r->exit_code != 0 && !r->truncated)) return false;
  *truncated = r->truncated || r->timed_out;
  std::string_view out = r->out;
  size_t start = 0;
  while (start < out.size()) {
    size_t nul = out.find('\0', start);
    if (nul == std::string_view::npos) break;  // a cut-off last entry
    std::string path(out.substr(start, nul - start));
    // --cached lists a path once per conflict stage; keep one.
    if (paths->empty() || paths->back() != path) paths->push_back(std::move(path));
    start = nul + 1;
  }
  return true;
}

// A bounded, iterative walk. Directories are visited in name order.
void Walk(const fs::path& root, const SnapshotOptions& options, const IgnoreRules& rules,
          Collector* collector) {
  struct Pending {
    std::string rel;  // "" for the root
    int depth;
  };
  std::vector<Pending> stack = {{"", 0}};
  size_t examined = 0;
  while (!stack.empty()) {
    Pending dir = std::move(stack.back());
    stack.pop_back();
    std::error_code ec;
    fs::directory_iterator it(dir.rel.empty() ? root : root / dir.rel,
                              fs::directory_options::skip_permission_denied, ec);
    if (ec) {
      collector->Skip(dir.rel, "cannot list: " + ec.message());
      continue;
    }
    std::vector<std::pair<std::string, bool>> entries;  // name, is real directory
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (++examined > options.max_walk_entries) {
        collector->Skip(dir.rel, "walk stopped after " + std::to_string(options.max_walk_entries) +
                                     " entries");
        return;
      }
      std::error_code sec;
      bool is_dir = it->is_directory(sec) && !it->is_symlink(sec);
      entries.emplace_back(it->path().filename().string(), is_dir);
    }
    std::sort(entries.begin(), entries.end());
    std::vector<Pending> subdirs;
    for (const auto& [name, is_dir] : entries) {
      std::string rel = dir.rel.empty() ? name : dir.rel + "/" + name;
      if (rules.MatchesSelf(rel, is_dir)) continue;
      if (is_dir) {
        if (IsSkippedDirName(name)) continue;
        if (dir.depth + 1 > options.max_depth) {
          collector->Skip(rel, "deeper than " + std::to_string(options.max_depth) + " levels");
          continue;
        }
        subdirs.push_back({rel, dir.depth + 1});
      } else {
        if (collector->full()) {
          collector->Skip(dir.rel.empty() ? "." : dir.rel, "file count limit (" +
                                                               std::to_string(options.max_files) +
                                                               ") reached; walk stopped");
          return;
        }
        std::error_code sec;
        if (fs::is_directory(root / rel, sec) && fs::is_symlink(fs::symlink_status(root / rel, sec))) {
          collector->Skip(rel, "symlinked directory");
          continue;
        }
        collector->Add(rel);
      }
    }
    // Push in reverse so the walk proceeds in name order.
    for (auto it2 = subdirs.rbegin(); it2 != subdirs.rend(); ++it2) stack.push_back(std::move(*it2));
  }
}

IgnoreRules LoadIgnoreRules(const fs::path& root) {
  std::error_code ec;
  fs::path file = root / kOrchardIgnoreFile;
  if (!fs::is_regular_file(file, ec)) return IgnoreRules();
  uintmax_t size = fs::file_size(file, ec);
  if (ec || size > (1 << 20)) return IgnoreRules();
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!f) return IgnoreRules();
  std::string text(size, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), f.get()));
  return IgnoreRules(text);
}

}  // namespace

std::string SnapshotId(const std::vector<store::SnapshotFile>& files) {
  std::vector<const store::SnapshotFile*> sorted;
  for (const auto& f : files) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(),
            [](const store::SnapshotFile* a, const store::SnapshotFile* b) { return a->path < b->path; });
  Sha256 h;
  char mode[16];
  for (const store::SnapshotFile* f : sorted) {
    h.Update(f->path);
    h.Update("\0", 1);
    h.Update(f->sha256);
    h.Update("\0", 1);
    int n = std::snprintf(mode, sizeof mode, "%o", f->mode);
    h.Update(mode, n);
    h.Update("\n", 1);
  }
  return h.FinalHex();
}

Result<store::Snapshot> CaptureCodeSnapshot(const std::string& dir, const SnapshotOptions& options) {
  std::error_code ec;
  fs::path start = fs::canonical(dir, ec);
  if (ec) return Status::NotFound("cannot snapshot " + dir + ": " + ec.message());
  if (!fs::is_directory(start, ec)) return Status::InvalidArgument("not a directory: " + dir);

  fs::path root = start;
  std::vector<std::string> git_paths;
  bool git_mode = false, git_truncated = false;
  if (options.use_git) {
    if (std::optional<std::string> top = GitTopLevel(start.string(), options.run)) {
      fs::path top_path = fs::canonical(*top, ec);
      if (!ec && ListWithGit(top_path, options, &git_paths, &git_truncated)) {
        root = top_path;
        git_mode = true;
      }
    }
  }

  store::Snapshot snap;
  snap.root = root.string();
  const IgnoreRules rules = LoadIgnoreRules(root);
  Collector collector(root, options, &snap);
  if (git_mode) {
    for (const std::string& rel : git_paths) {
      if (rel == ".orchard" || rel.rfind(".orchard/", 0) == 0) continue;  // our own store
      if (rules.IsIgnored(rel, false)) continue;
      collector.Add(rel);
    }
    if (git_truncated) collector.Skip("", "git ls-files output cut at its limit");
  } else {
    Walk(root, options, rules, &collector);
  }
  collector.Finish();
  snap.id = SnapshotId(snap.files);
  return snap;
}

}  // namespace orchard::capture
