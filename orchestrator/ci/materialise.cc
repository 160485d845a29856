#include "orchestrator/ci/materialise.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "orchestrator/capture/code_snapshot.h"
#include "orchestrator/ci/safe_path.h"
#include "orchestrator/util/sha256.h"

namespace fs = std::filesystem;

namespace orchard::ci {

namespace {

Status WriteFile(const std::string& path, const std::string& content, int mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                static_cast<mode_t>(mode & 0777));
  if (fd < 0) return Status::IoError("cannot create " + path + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      close(fd);
      return Status::IoError("cannot write " + path + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  fchmod(fd, static_cast<mode_t>(mode & 0777));  // umask must not drop the x bit
  if (close(fd) != 0) return Status::IoError("cannot write " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace

Result<MaterialisedCode> MaterialiseSnapshot(const store::Snapshot& snapshot,
                                             const std::string& dest) {
  MaterialisedCode out;
  out.root = dest;
  out.written.root = dest;
  out.written.skipped = snapshot.skipped;
  for (const auto& f : snapshot.files) {
    if (!IsSafeRelativePath(f.path)) {
      return Status::Corruption("code snapshot " + snapshot.id + " holds the path '" + f.path +
                                "', which would leave the folder; refusing to write it");
    }
  }
  for (const auto& f : snapshot.files) {
    fs::path target = fs::path(dest) / f.path;
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
      return Status::IoError("cannot create " + target.parent_path().string() + ": " +
                             ec.message());
    }
    ORCHARD_RETURN_IF_ERROR(WriteFile(target.string(), f.content, f.mode));
    ++out.files;
    std::string actual = Sha256Hex(f.content);
    store::SnapshotFile w = f;
    if (actual != f.sha256) {
      out.tampered.push_back(f.path + ": the stored content (" + std::to_string(f.content.size()) +
                             " bytes) hashes to " + actual.substr(0, 12) +
                             ", but the recorded snapshot says " + f.sha256.substr(0, 12));
      w.sha256 = actual;
    }
    out.written.files.push_back(std::move(w));
  }
  out.written.id = out.tampered.empty() ? snapshot.id : capture::SnapshotId(out.written.files);
  return out;
}

}  // namespace orchard::ci
