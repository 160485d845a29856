// MakeExecutor: the executor a tuning spec or a command line names —
// `local`, `{ssh: NODES_FILE | [hosts]}` or `{slurm: {...}}` (docs/executors.md).
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "flags/status.h"
#include "orchestrator/exec/executor.h"

namespace orchard::remote {

Result<std::unique_ptr<exec::Executor>> MakeExecutor(const nlohmann::json& config,
                                                     const exec::ExecutorOptions& options);

// "local", "slurm", "slurm:PARTITION", "ssh:NODES_FILE" (the --executor
// option) -> the spec's JSON form; an error names the accepted forms.
Result<nlohmann::json> ParseExecutorOption(const std::string& text);

}  // namespace orchard::remote
