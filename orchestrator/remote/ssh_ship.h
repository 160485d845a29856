// Shipping files to an SSH node, content-addressed: one ssh call asks which
// blobs the node lacks (none when the destination folder is already there),
// then the missing ones travel as tar streams (in batches of bounded size)
// together with the manifest, and the node builds the destination folder
// from its blob store (ssh_scripts.h). Used for a run's code snapshot
// (W/code/SNAPSHOT, once per node) and for a job's input files (its run
// folder: an inference worker's bundle, images and shard lists).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "flags/status.h"
#include "orchestrator/remote/ssh_connection.h"
#include "orchestrator/store/types.h"

namespace orchard::remote {

struct ShipEntry {
  std::string path;    // relative to the destination folder
  std::string sha256;  // of the content
  int mode = 0644;
  std::string local_file;  // where the content is read from ("": ask the loader)
};

struct ShipResult {
  bool already_there = false;  // the node had the destination folder
  int files = 0;
  int blobs_sent = 0;
  int64_t bytes_sent = 0;
};

// The content of an entry without a local file (a snapshot's blob).
using BlobLoader = std::function<Result<std::string>(const ShipEntry&)>;

// Makes W/`dest` hold `files`. With `link`, files are hard links to the
// node's blobs (read-only inputs); else copies (code a job may touch).
// On failure `*node_failed` tells the node's fault (unreachable, disk full)
// from ours (a bad entry, an unreadable local file, the store).
Result<ShipResult> ShipFiles(SshConnection& node, const std::string& dest,
                             const std::vector<ShipEntry>& files, const BlobLoader& load,
                             bool link, double timeout_s, bool* node_failed);

// The entries of a code snapshot (read from the store).
std::vector<ShipEntry> SnapshotEntries(const store::Snapshot& manifest);

// Entries for local files: each {local path, relative path} hashed; a
// folder brings every regular file under it. Errors name the file.
Result<std::vector<ShipEntry>> LocalEntries(
    const std::vector<std::pair<std::string, std::string>>& files);

// A POSIX ustar archive of regular files (name, content), mode 0644.
// REQUIRES: names shorter than 100 bytes.
std::string UstarArchive(const std::vector<std::pair<std::string, std::string>>& files);

// A path that is safe to write under a folder: relative, no "..", no
// newline or NUL, no blank at either end.
bool IsSafeRelativePath(const std::string& path);

}  // namespace orchard::remote
