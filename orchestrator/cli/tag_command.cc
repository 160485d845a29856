// orchard tag RUN... [--add TAG]... [--remove TAG]...   |   orchard tag RUN TAG
#include <iostream>
#include <memory>

#include "orchestrator/cli/commands.h"
#include "orchestrator/cli/view_format.h"

namespace orchard::cli {

namespace {

constexpr size_t kMaxTagChars = 100;

struct TagOptions {
  std::vector<std::string> words;  // runs, then (shorthand) one tag
  std::vector<std::string> add;
  std::vector<std::string> remove;
};

Status ValidateTag(const std::string& tag) {
  if (tag.empty()) return Status::InvalidArgument("a tag cannot be empty");
  size_t chars = 0;
  for (unsigned char c : tag) {
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidArgument("tag '" + Printable(tag) +
                                     "' has a control character; tags are one line of text");
    }
    chars += (c & 0xC0) != 0x80;
  }
  if (chars > kMaxTagChars) {
    return Status::InvalidArgument("tag '" + tag.substr(0, 20) + "...' is longer than " +
                                   std::to_string(kMaxTagChars) + " characters");
  }
  return Status::Ok();
}

Status DoTag(Context& ctx, const TagOptions& opt) {
  std::vector<std::string> refs = opt.words;
  std::vector<std::string> add = opt.add;
  if (opt.add.empty() && opt.remove.empty()) {
    if (refs.size() < 2) {
      return Status::InvalidArgument(
          "nothing to do: give --add TAG or --remove TAG, or `orchard tag RUN TAG`");
    }
    add.push_back(refs.back());  // the shorthand: the last word is the tag
    refs.pop_back();
  }
  if (refs.empty()) return Status::InvalidArgument("no run given");
  for (const auto& t : add) ORCHARD_RETURN_IF_ERROR(ValidateTag(t));
  for (const auto& t : opt.remove) {
    if (t.empty()) return Status::InvalidArgument("a tag cannot be empty");
  }
  auto store = ctx.OpenStore(/*create=*/false);
  if (!store.ok()) return store.status();
  auto ids = ResolveRuns(**store, refs);
  if (!ids.ok()) return ids.status();
  for (const auto& id : *ids) {
    if (!opt.remove.empty()) ORCHARD_RETURN_IF_ERROR((*store)->RemoveTags(id, opt.remove));
    if (!add.empty()) ORCHARD_RETURN_IF_ERROR((*store)->AddTags(id, add));
    auto run = (*store)->GetRun(id);
    if (!run.ok()) return run.status();
    std::cout << id << ": ";
    if (run->tags.empty()) std::cout << "(no tags)";
    for (size_t i = 0; i < run->tags.size(); ++i) {
      std::cout << (i ? ", " : "") << Printable(run->tags[i]);
    }
    std::cout << "\n";
  }
  return Status::Ok();
}

}  // namespace

void AddTagCommand(CLI::App& app, Context& ctx, Action& action) {
  auto opt = std::make_shared<TagOptions>();
  app.description(
      "Adds or removes tags on one or more runs, then prints each run's tags. "
      "`orchard tag RUN TAG` adds TAG to RUN. A tag is one line of at most 100 characters.");
  app.add_option("runs", opt->words, "Runs (id, unique prefix or name); with neither --add "
                                     "nor --remove, the last word is a tag to add")
      ->required();
  app.add_option("--add,-a", opt->add, "Tag to add (repeatable)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--remove,-r", opt->remove, "Tag to remove (repeatable)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.callback([&ctx, &action, opt] { action = [&ctx, opt] { return DoTag(ctx, *opt); }; });
}

}  // namespace orchard::cli
