#include "orchestrator/remote/executors.h"

#include "orchestrator/remote/slurm_executor.h"
#include "orchestrator/remote/ssh_executor.h"

namespace orchard::remote {

Result<std::unique_ptr<exec::Executor>> MakeExecutor(const nlohmann::json& config,
                                                     const exec::ExecutorOptions& options) {
  if (config.is_null() || config == "local") return exec::MakeLocalExecutor(options);
  if (config.is_object() && config.size() == 1) {
    const std::string& kind = config.begin().key();
    if (kind == "slurm") return MakeSlurmExecutor(config.begin().value(), options);
    if (kind == "ssh") return MakeSshExecutor(config.begin().value(), options);
    if (kind == "local") return exec::MakeLocalExecutor(options);
  }
  return Status::InvalidArgument(
      "executor: expected local, {ssh: NODES_FILE} or {slurm: {...}}, got " + config.dump());
}

Result<nlohmann::json> ParseExecutorOption(const std::string& text) {
  if (text == "local") return nlohmann::json("local");
  if (text == "slurm") return nlohmann::json{{"slurm", nlohmann::json::object()}};
  if (text.rfind("slurm:", 0) == 0 && text.size() > 6) {
    return nlohmann::json{{"slurm", {{"partition", text.substr(6)}}}};
  }
  if (text.rfind("ssh:", 0) == 0 && text.size() > 4) return nlohmann::json{{"ssh", text.substr(4)}};
  return Status::InvalidArgument("--executor " + text +
                                 ": expected local, slurm, slurm:PARTITION or ssh:NODES_FILE");
}

}  // namespace orchard::remote
