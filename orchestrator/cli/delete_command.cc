// orchard delete RUN... | --filter EXPR  [--yes] [--force]
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "orchestrator/cli/commands.h"
#include "orchestrator/cli/table.h"
#include "orchestrator/cli/view_format.h"
#include "orchestrator/query/compiler/sql.h"
#include "orchestrator/util/clock.h"

namespace orchard::cli {

namespace {

namespace fs = std::filesystem;

struct DeleteOptions {
  std::vector<std::string> runs;
  std::string filter;
  bool yes = false;
  bool force = false;
};

Result<std::vector<store::Run>> SelectRuns(store::RunReader& reader, const DeleteOptions& opt) {
  std::vector<store::Run> runs;
  if (!opt.runs.empty()) {
    auto ids = ResolveRuns(reader, opt.runs);
    if (!ids.ok()) return ids.status();
    for (const auto& id : *ids) {
      auto run = reader.GetRun(id);
      if (!run.ok()) return run.status();
      runs.push_back(std::move(run).value());
    }
    return runs;
  }
  auto where = query::CompileFilter(opt.filter, NowSeconds());
  if (!where.ok()) return where.status();
  store::RunQuery q;
  q.where_sql = where->sql;
  q.params = where->params;
  return reader.ListRuns(q);
}

// Removes the run's folder: home.RunDir(id), and only when that is a direct
// child of the runs folder. A stored run_dir is never followed (it could
// point anywhere), and a symlink is removed, not what it points to.
Status RemoveRunDir(const store::Home& home, const store::Run& run) {
  const std::string& id = run.id;
  if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos ||
      id.find('\\') != std::string::npos) {
    return Status::Internal("run id '" + Printable(id) + "' is not a folder name; folder kept");
  }
  std::error_code ec;
  fs::path runs_dir = fs::weakly_canonical(home.runs_dir, ec);
  if (ec) return Status::IoError("cannot resolve " + home.runs_dir + ": " + ec.message());
  fs::path dir = runs_dir / id;
  if (dir.parent_path() != runs_dir) {
    return Status::Internal("run folder " + dir.string() + " is outside " + runs_dir.string());
  }
  for (const char* stream : {"stdout", "stderr"}) fs::remove(home.JournalPath(id, stream), ec);
  ec.clear();
  if (!fs::exists(fs::symlink_status(dir, ec))) return Status::Ok();
  fs::remove_all(dir, ec);
  if (ec) return Status::IoError("cannot remove " + dir.string() + ": " + ec.message());
  return Status::Ok();
}

bool Confirm(size_t n) {
  std::cerr << "Delete " << n << " run" << (n == 1 ? "" : "s") << "? [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES" || answer == "Yes";
}

Status DoDelete(Context& ctx, const DeleteOptions& opt) {
  if (opt.runs.empty() == opt.filter.empty()) {
    return Status::InvalidArgument(opt.runs.empty()
                                       ? "name the runs to delete, or select them with --filter"
                                       : "give runs or --filter, not both");
  }
  auto home = ctx.Home();
  if (!home.ok()) return home.status();
  auto store = ctx.OpenStore(/*create=*/false);
  if (!store.ok()) return store.status();
  auto runs = SelectRuns(**store, opt);
  if (!runs.ok()) return runs.status();
  if (runs->empty()) {
    std::cerr << "no runs match the filter; nothing deleted\n";
    return Status::Ok();
  }

  Table t({"id", "name", "status", "started", "flags"});
  std::vector<std::string> active;
  for (const auto& r : *runs) {
    t.AddRow({r.id, r.name, store::ToString(r.status),
              r.started_at ? FormatTime(*r.started_at) : "", CompactFlags(r.flags)});
    if (!store::IsTerminal(r.status)) active.push_back(r.id);
  }
  std::cerr << "These runs and their folders will be deleted:\n";
  t.Print(std::cerr, Format::kTable);
  if (!active.empty() && !opt.force) {
    std::string list;
    for (const auto& id : active) list += (list.empty() ? "" : ", ") + id;
    return Status::InvalidArgument("not deleting: " + list + (active.size() == 1 ? " is" : " are") +
                                   " still queued or running (stop it first, or --force)");
  }
  if (!opt.yes) {
    if (!isatty(STDIN_FILENO)) {
      return Status::InvalidArgument(
          "not deleting without confirmation: stdin is not a terminal; add --yes to delete");
    }
    if (!Confirm(runs->size())) return Status::Cancelled("nothing deleted");
  }
  size_t deleted = 0;
  for (const auto& r : *runs) {
    Status s = (*store)->DeleteRun(r.id);
    if (!s.ok()) return s.WithContext("deleting run " + r.id + " (" + std::to_string(deleted) +
                                      " deleted before it)");
    ++deleted;
    Status d = RemoveRunDir(*home, r);
    if (!d.ok()) std::cerr << "orchard: run " << r.id << ": " << d.message() << "\n";
    std::cout << "deleted " << r.id << "\n";
  }
  std::cerr << "deleted " << deleted << " run" << (deleted == 1 ? "" : "s") << "\n";
  return Status::Ok();
}

}  // namespace

void AddDeleteCommand(CLI::App& app, Context& ctx, Action& action) {
  auto opt = std::make_shared<DeleteOptions>();
  app.description(
      "Deletes runs: their records (metrics, logs, artifacts index, tags) and their folder "
      "under the store's runs/ folder. Lists them and asks first; without a terminal it "
      "refuses unless --yes is given. Queued or running runs are kept unless --force.");
  app.add_option("runs", opt->runs, "Runs (id, unique prefix or name)");
  app.add_option("--filter", opt->filter, "Delete the runs this filter selects");
  app.add_flag("--yes,-y", opt->yes, "Do not ask for confirmation");
  app.add_flag("--force", opt->force, "Also delete queued and running runs");
  app.callback([&ctx, &action, opt] { action = [&ctx, opt] { return DoDelete(ctx, *opt); }; });
}

}  // namespace orchard::cli
