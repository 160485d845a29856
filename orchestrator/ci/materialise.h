// Materialising a recorded code snapshot into a folder, for `orchard rerun`.
//
// The store keeps code content-addressed (a blob per sha256); before a rerun
// trusts it, every file's content is hashed again: a blob whose bytes no
// longer hash to its name was changed inside the store (tampering, or a
// damaged file) and is reported, never silently used as if it were the
// recorded code.
#pragma once

#include <string>
#include <vector>

#include "flags/status.h"
#include "orchestrator/store/types.h"

namespace orchard::ci {

struct MaterialisedCode {
  std::string root;                   // the folder written
  int files = 0;
  std::vector<std::string> tampered;  // one line per file whose content fails its hash
  // What the folder really holds, as a snapshot (contents included): the
  // recorded manifest when nothing was tampered, else one whose hashes are
  // those of the bytes written.
  store::Snapshot written;
};

// Writes each file of `snapshot` (loaded with contents) under `dest`, which
// must exist, with its recorded mode. A path that would leave `dest`
// (absolute, "..") is Corruption and nothing more is written. IoError when a
// file cannot be written. A file whose content does not match its sha256 is
// written as stored and listed in `tampered`.
Result<MaterialisedCode> MaterialiseSnapshot(const store::Snapshot& snapshot,
                                             const std::string& dest);

}  // namespace orchard::ci
