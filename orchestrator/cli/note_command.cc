// orchard note RUN [TEXT...] [--append] [--clear]
#include <iostream>
#include <memory>

#include "orchestrator/cli/commands.h"
#include "orchestrator/cli/view_format.h"

namespace orchard::cli {

namespace {

// Notes are free text, but not unbounded.
constexpr size_t kMaxNoteBytes = 64 * 1024;

struct NoteOptions {
  std::string run;
  std::vector<std::string> text;
  bool append = false;
  bool clear = false;
};

Status DoNote(Context& ctx, const NoteOptions& opt) {
  auto store = ctx.OpenStore(/*create=*/false);
  if (!store.ok()) return store.status();
  auto id = (*store)->ResolveRunId(opt.run);
  if (!id.ok()) return id.status();
  auto run = (*store)->GetRun(*id);
  if (!run.ok()) return run.status();
  if (opt.clear) {
    if (!opt.text.empty() || opt.append) {
      return Status::InvalidArgument("--clear takes no text and no --append");
    }
    return (*store)->SetNotes(*id, "");
  }
  if (opt.text.empty()) {
    if (opt.append) return Status::InvalidArgument("--append needs the text to append");
    if (!run->notes.empty()) {
      std::cout << Printable(run->notes) << (run->notes.back() == '\n' ? "" : "\n");
    }
    return Status::Ok();
  }
  std::string text;
  for (const auto& w : opt.text) text += (text.empty() ? "" : " ") + w;
  if (opt.append && !run->notes.empty()) {
    text = run->notes + (run->notes.back() == '\n' ? "" : "\n") + text;
  }
  if (text.size() > kMaxNoteBytes) {
    return Status::InvalidArgument("notes longer than " + std::to_string(kMaxNoteBytes / 1024) +
                                   " KiB");
  }
  return (*store)->SetNotes(*id, text);
}

}  // namespace

void AddNoteCommand(CLI::App& app, Context& ctx, Action& action) {
  auto opt = std::make_shared<NoteOptions>();
  app.description(
      "Sets a run's notes to TEXT (several words are joined with spaces), appends a line "
      "with --append, or prints the notes when no TEXT is given.");
  app.add_option("run", opt->run, "The run (id, unique prefix or name)")->required();
  app.add_option("text", opt->text, "The notes");
  app.add_flag("--append,-a", opt->append, "Add TEXT as a new line after the notes");
  app.add_flag("--clear", opt->clear, "Remove the notes");
  app.callback([&ctx, &action, opt] { action = [&ctx, opt] { return DoNote(ctx, *opt); }; });
}

}  // namespace orchard::cli
