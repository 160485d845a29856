#include "orchestrator/ci/rerun.h"

#include <filesystem>

#include "orchestrator/capture/git_info.h"

namespace fs = std::filesystem;

namespace orchard::ci {

namespace {

// The run's cwd relative to the snapshot root, or nullopt when it lies outside.
std::optional<fs::path> RelativeCwd(const std::string& cwd, const std::string& root) {
  if (root.empty() || cwd.empty()) return fs::path();
  fs::path rel = fs::path(cwd).lexically_normal().lexically_relative(fs::path(root).lexically_normal());
  if (rel.empty()) return std::nullopt;
  if (rel == ".") return fs::path();
  if (*rel.begin() == "..") return std::nullopt;
  return rel;
}

}  // namespace

Result<RerunPlan> PlanRerun(store::RunReader& store, const store::Run& original,
                            const std::string& code_dir, const std::string& work_dir) {
  RerunPlan plan;
  if (original.command.empty()) {
    return Status::InvalidArgument("run " + original.id + " has no recorded command");
  }
  std::optional<store::Snapshot> snap;
  if (!original.snapshot_id.empty()) {
    auto s = store.GetSnapshot(original.snapshot_id, /*with_content=*/code_dir.empty());
    if (!s.ok()) return s.status();
    snap = std::move(s).value();
  }
  std::string old_root = snap ? snap->root : original.cwd;
  std::string new_root;
  if (!code_dir.empty()) {
    std::error_code ec;
    if (!fs::is_directory(code_dir, ec)) {
      return Status::InvalidArgument("--code " + code_dir + ": not a folder");
    }
    new_root = fs::absolute(code_dir, ec).lexically_normal().string();
    if (new_root.size() > 1 && new_root.back() == '/') new_root.pop_back();
    // Snapshots are rooted at the git top-level: so is the tree given here,
    // so that the working folder maps the same way.
    if (auto top = capture::GitTopLevel(new_root)) new_root = *top;
  } else {
    if (!snap) {
      return Status::NotFound("run " + original.id +
                              " has no code snapshot (it was recorded with --no-snapshot or "
                              "its snapshot failed); rerun it with --code DIR");
    }
    auto written = MaterialiseSnapshot(*snap, work_dir);
    if (!written.ok()) return written.status();
    plan.code = std::move(written).value();
    new_root = work_dir;
    if (snap->skipped.is_array() && !snap->skipped.empty()) {
      plan.warnings.push_back(std::to_string(snap->skipped.size()) +
                              " file(s) were left out of the recorded snapshot (binary, large "
                              "or ignored) and are not in the rerun's folder; see orchard show " +
                              original.id);
    }
  }
  plan.source_dir = new_root;
  auto rel = RelativeCwd(original.cwd, old_root);
  if (!rel) {
    plan.warnings.push_back("the run's working folder " + original.cwd +
                            " was outside its code root " + old_root + "; running in " + new_root);
    plan.cwd = new_root;
  } else {
    plan.cwd = rel->empty() ? new_root : (fs::path(new_root) / *rel).string();
    std::error_code ec;
    if (!fs::is_directory(plan.cwd, ec)) {
      if (plan.code) {
        fs::create_directories(plan.cwd, ec);  // a folder the snapshot had no file in
      } else {
        plan.warnings.push_back("the run's working folder " + rel->string() + " is not in " +
                                new_root + "; running in " + new_root);
        plan.cwd = new_root;
      }
    }
  }
  std::string prefix = old_root.empty() ? "" : old_root + "/";
  for (const auto& arg : original.command) {
    if (!prefix.empty() && arg.rfind(prefix, 0) == 0) {
      plan.command.push_back(new_root + "/" + arg.substr(prefix.size()));
    } else {
      plan.command.push_back(arg);
    }
  }
  return plan;
}

Result<RunRecord> LoadRunRecord(store::RunReader& store, const std::string& run_id) {
  RunRecord rec;
  auto run = store.GetRun(run_id);
  if (!run.ok()) return run.status();
  rec.run = std::move(run).value();
  auto series = store.GetMetricSeries(run_id, "");
  if (!series.ok()) return series.status();
  rec.series = std::move(series).value();
  if (!rec.run.snapshot_id.empty()) {
    auto snap = store.GetSnapshot(rec.run.snapshot_id, true);
    if (snap.ok()) rec.snapshot = std::move(snap).value();
  }
  return rec;
}

}  // namespace orchard::ci
