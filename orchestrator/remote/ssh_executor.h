// The SSH executor: trials and inference workers on a set of nodes over
// plain ssh (docs/executors.md, "SSH nodes"). No shared filesystem and
// nothing installed on the nodes beyond sh, tar, setsid and the trainer.
//
// Per node: GPU slots from the inventory (or CPU slots), one shared
// connection, a content-addressed copy of each code snapshot. A job's
// stdout/stderr arrive in the local journals as printed; Collect() brings
// the node's run folder back. A node whose job is lost is marked down
// (NodeLost) and probed again in the background, after 30 s and then at
// growing intervals (at most 5 min); when it answers it takes jobs again
// and whatever its lost jobs left running is killed.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "flags/status.h"
#include "orchestrator/exec/executor.h"

namespace orchard::remote {

// `config` is the `ssh:` value: a nodes-file path (relative to
// options.base_dir), a list of hosts, or {nodes, defaults}. Connects to
// every node first (in parallel): an error when none answers, naming each
// node and why; nodes that fail are down until they answer a probe.
Result<std::unique_ptr<exec::Executor>> MakeSshExecutor(const nlohmann::json& config,
                                                        const exec::ExecutorOptions& options);

}  // namespace orchard::remote
