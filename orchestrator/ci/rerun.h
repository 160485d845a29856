// Planning a re-run of a recorded run (`orchard rerun`).
//
// A rerun executes the recorded command with the recorded flags and seed,
// from the run's own content-addressed code snapshot (materialised into a
// fresh folder, every file's hash checked) or, with --code DIR, from another
// source tree. The working folder keeps its place relative to the source
// root: a run started in ROOT/sub runs again in NEW/sub. Arguments of the
// recorded command that are absolute paths inside the snapshot root are
// pointed at the same file under the new root.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "flags/status.h"
#include "orchestrator/ci/materialise.h"
#include "orchestrator/ci/verify.h"
#include "orchestrator/store/run_store.h"

namespace orchard::ci {

struct RerunPlan {
  std::vector<std::string> command;
  std::string cwd;         // where the trainer runs
  std::string source_dir;  // the root of the code it runs
  // Set when the code came from the recorded snapshot (no --code).
  std::optional<MaterialisedCode> code;
  std::vector<std::string> warnings;
};

// `work_dir` (an existing empty folder) receives the snapshot when
// `code_dir` is empty. NotFound when the run has no snapshot and no
// `code_dir` is given; InvalidArgument when `code_dir` is not a folder.
Result<RerunPlan> PlanRerun(store::RunReader& store, const store::Run& original,
                            const std::string& code_dir, const std::string& work_dir);

// A run with every metric point and its code snapshot (with contents).
Result<RunRecord> LoadRunRecord(store::RunReader& store, const std::string& run_id);

}  // namespace orchard::ci
