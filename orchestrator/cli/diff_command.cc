// orchard diff RUN RUN [--stat] [--color auto|always|never]
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "flags/flag_value.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/cli/table.h"
#include "orchestrator/cli/view_format.h"
#include "orchestrator/util/unified_diff.h"

namespace orchard::cli {

namespace {

struct DiffCmdOptions {
  std::vector<std::string> runs;
  bool stat = false;
  bool no_source = false;
  std::string color = "auto";
};

using FileMap = std::map<std::string, std::string>;

// A run's source files (path -> content), or nullopt when it has no snapshot.
Result<std::optional<FileMap>> LoadFiles(store::RunReader& reader, const store::Run& run) {
  if (run.snapshot_id.empty()) return std::optional<FileMap>();
  auto snap = reader.GetSnapshot(run.snapshot_id, /*with_content=*/true);
  if (!snap.ok()) return snap.status().WithContext("snapshot of run " + run.id);
  FileMap files;
  for (auto& f : snap->files) files[f.path] = std::move(f.content);
  return std::optional<FileMap>(std::move(files));
}

std::string Label(const store::Run& r) {
  return r.id + (r.name.empty() ? "" : " (" + Printable(r.name) + ")");
}

// "-name=value" / "+name=value" for each flag that differs, in name order.
std::string FlagDiff(const store::Run& a, const store::Run& b) {
  std::string body;
  std::map<std::string, std::pair<const nlohmann::json*, const nlohmann::json*>> all;
  for (const auto& [k, v] : a.flags.items()) all[k].first = &v;
  for (const auto& [k, v] : b.flags.items()) all[k].second = &v;
  for (const auto& [name, pair] : all) {
    const auto& [va, vb] = pair;
    if (va && vb && *va == *vb) continue;
    if (va) body += "-" + Printable(name) + "=" + Printable(flags::FormatScalar(*va)) + "\n";
    if (vb) body += "+" + Printable(name) + "=" + Printable(flags::FormatScalar(*vb)) + "\n";
  }
  if (body.empty()) return "";
  return "--- a/flags\t" + Label(a) + "\n+++ b/flags\t" + Label(b) + "\n" + body;
}

int CountLines(const std::string& s) {
  if (s.empty()) return 0;
  int n = 0;
  for (char c : s) n += c == '\n';
  return n + (s.back() != '\n');
}

// One line per changed file: "path | +A -D" (or "binary", "new", "deleted").
std::string DiffStat(const FileMap& a, const FileMap& b) {
  std::map<std::string, std::pair<const std::string*, const std::string*>> all;
  for (const auto& [p, c] : a) all[p].first = &c;
  for (const auto& [p, c] : b) all[p].second = &c;
  Table t({"file", "added", "removed", "note"});
  int total_add = 0, total_del = 0, files = 0;
  for (const auto& [path, pair] : all) {
    const auto& [ca, cb] = pair;
    if (ca && cb && *ca == *cb) continue;
    ++files;
    std::string note = !ca ? "new" : !cb ? "deleted" : "";
    if ((ca && LooksBinary(*ca)) || (cb && LooksBinary(*cb))) {
      t.AddRow({path, nullptr, nullptr, note.empty() ? "binary" : note + ", binary"});
      continue;
    }
    int add = 0, del = 0;
    if (!ca) {
      add = CountLines(*cb);
    } else if (!cb) {
      del = CountLines(*ca);
    } else {
      std::string d;
      if (UnifiedDiff(*ca, *cb, "a", "b", DiffOptions{.context = 0}, &d) ==
          DiffOutcome::kTooLarge) {
        t.AddRow({path, nullptr, nullptr, "too large to diff"});
        continue;
      }
      std::istringstream lines(d);
      std::string line;
      int n = 0;
      while (std::getline(lines, line)) {
        if (n++ < 2) continue;  // the ---/+++ header
        if (!line.empty() && line[0] == '+') ++add;
        if (!line.empty() && line[0] == '-') ++del;
      }
    }
    total_add += add;
    total_del += del;
    t.AddRow({path, add, del, note});
  }
  if (files == 0) return "";
  std::ostringstream out;
  t.Print(out, Format::kTable);
  out << files << " file" << (files == 1 ? "" : "s") << " changed, " << total_add
      << " lines added, " << total_del << " removed\n";
  return out.str();
}

bool UseColor(const std::string& mode) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  const char* term = std::getenv("TERM");
  return isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR") && term &&
         std::string(term) != "dumb";
}

std::string Colorize(const std::string& text) {
  std::istringstream lines(text);
  std::ostringstream out;
  std::string line;
  while (std::getline(lines, line)) {
    const char* color = nullptr;
    if (line.rfind("diff --git", 0) == 0 || line.rfind("--- ", 0) == 0 ||
        line.rfind("+++ ", 0) == 0) {
      color = "\033[1m";
    } else if (line.rfind("@@", 0) == 0) {
      color = "\033[36m";
    } else if (!line.empty() && line[0] == '+') {
      color = "\033[32m";
    } else if (!line.empty() && line[0] == '-') {
      color = "\033[31m";
    }
    if (color) {
      out << color << line << "\033[0m\n";
    } else {
      out << line << "\n";
    }
  }
  return out.str();
}

std::string CommitNote(const store::Run& a, const store::Run& b) {
  auto show = [](const store::Run& r) {
    if (r.code_commit.empty()) return std::string("(no commit)");
    std::string s = r.code_commit.substr(0, 12);
    if (r.code_dirty && *r.code_dirty) s += " (dirty)";
    return s;
  };
  if (a.code_commit == b.code_commit && a.code_dirty == b.code_dirty) return "";
  return "commit: " + show(a) + " -> " + show(b) + "\n";
}

Status DoDiff(Context& ctx, const DiffCmdOptions& opt) {
  auto format = ctx.OutputFormat();
  if (!format.ok()) return format.status();
  if (opt.runs.size() != 2) return Status::InvalidArgument("diff takes exactly two runs");
  auto store = ctx.OpenStore(/*create=*/false);
  if (!store.ok()) return store.status();
  store::RunReader& reader = **store;
  std::vector<store::Run> runs;
  for (const auto& ref : opt.runs) {
    auto id = reader.ResolveRunId(ref);
    if (!id.ok()) return id.status();
    auto run = reader.GetRun(*id);
    if (!run.ok()) return run.status();
    runs.push_back(std::move(run).value());
  }
  const store::Run& a = runs[0];
  const store::Run& b = runs[1];

  std::string notes;  // about missing snapshots
  std::string source;
  if (!opt.no_source) {
    auto fa = LoadFiles(reader, a);
    if (!fa.ok()) return fa.status();
    auto fb = LoadFiles(reader, b);
    if (!fb.ok()) return fb.status();
    for (const auto* pair : {&*fa, &*fb}) {
      if (!pair->has_value()) {
        notes += "# run " + (pair == &*fa ? a.id : b.id) + " has no code snapshot\n";
      }
    }
    if (fa->has_value() && fb->has_value()) {
      source = opt.stat ? DiffStat(**fa, **fb) : DiffFileMaps(**fa, **fb);
    }
  }
  std::string flag_diff = FlagDiff(a, b);
  std::string commit = CommitNote(a, b);

  if (*format == Format::kJson) {
    nlohmann::json j;
    j["a"] = a.id;
    j["b"] = b.id;
    nlohmann::json fl = nlohmann::json::object();
    for (const auto& [k, v] : a.flags.items()) {
      if (!b.flags.contains(k) || b.flags[k] != v) fl[k] = {{"a", v}, {"b", nullptr}};
    }
    for (const auto& [k, v] : b.flags.items()) {
      if (!a.flags.contains(k) || a.flags[k] != v) {
        fl[k] = {{"a", a.flags.contains(k) ? a.flags[k] : nlohmann::json(nullptr)}, {"b", v}};
      }
    }
    j["flags"] = fl;
    j["commit"] = {{"a", a.code_commit}, {"b", b.code_commit}};
    j[opt.stat ? "stat" : "source_diff"] = source;
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return Status::Ok();
  }

  std::string out = flag_diff + source;
  if (out.empty() && commit.empty() && notes.empty()) {
    std::cerr << "runs " << a.id << " and " << b.id << " have the same flags and code\n";
    return Status::Ok();
  }
  if (opt.stat) out = flag_diff + (source.empty() ? "" : "\n" + source);
  std::cout << (UseColor(opt.color) ? Colorize(out) : out) << notes << commit;
  return Status::Ok();
}

}  // namespace

void AddDiffCommand(CLI::App& app, Context& ctx, Action& action) {
  auto opt = std::make_shared<DiffCmdOptions>();
  app.description(
      "Shows how the second run differs from the first: flags as -name=value / +name=value "
      "lines, then a unified diff of their code snapshots (git style), then the git commits "
      "when they differ.");
  app.add_option("runs", opt->runs, "Two runs (id, unique prefix or name)")->required()->expected(2);
  app.add_flag("--stat", opt->stat, "List the changed files with line counts, not the diff");
  app.add_flag("--no-source", opt->no_source, "Only the flags and commits");
  app.add_option("--color", opt->color, "Colour the diff: auto (on a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.callback([&ctx, &action, opt] { action = [&ctx, opt] { return DoDiff(ctx, *opt); }; });
}

}  // namespace orchard::cli
