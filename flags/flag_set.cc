#include "flags/flag_set.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <utility>

#include "flags/suggest.h"

namespace orchard::flags {
namespace {

constexpr std::string_view kNoPrefix = "no-";

bool IsHelpArg(std::string_view arg) { return arg == "--help" || arg == "-h"; }

// "-x..." with a letter or '_' after one dash: a flag someone typed with one
// dash. "-5", "-.5" and "-" stay positional.
bool LooksLikeShortFlag(std::string_view arg) {
  if (arg.size() < 2 || arg[0] != '-') return false;
  char c = arg[1];
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

// What a value of this flag looks like, for "missing value" messages.
std::string Expected(const Flag& flag) {
  switch (flag.type()) {
    case FlagType::kInt: return "an integer";
    case FlagType::kFloat: return "a number (float)";
    case FlagType::kBool: return "true or false";
    case FlagType::kString: return "a string";
    case FlagType::kChoice: return "one of " + flag.ConstraintText();
  }
  return "a value";
}

[[noreturn]] void GetterFailure(std::string_view getter, std::string_view name,
                                const std::string& why) {
  std::fprintf(stderr, "orchard::flags::FlagSet::%.*s(\"%.*s\"): %s\n",
               static_cast<int>(getter.size()), getter.data(), static_cast<int>(name.size()),
               name.data(), why.c_str());
  std::abort();
}

std::string HelpDefault(const Flag& flag) {
  std::string text = flag.default_value().ToText();
  return text.empty() ? "\"\"" : text;
}

}  // namespace

FlagSet::FlagSet(std::string program, std::string description)
    : program_(std::move(program)), description_(std::move(description)) {}

Flag& FlagSet::Int(std::string name, int64_t default_value, std::string help) {
  return Declare(std::make_unique<Flag>(std::move(name), FlagType::kInt,
                                        FlagValue::Int(default_value), std::move(help)));
}

Flag& FlagSet::Float(std::string name, double default_value, std::string help) {
  return Declare(std::make_unique<Flag>(std::move(name), FlagType::kFloat,
                                        FlagValue::Float(default_value), std::move(help)));
}

Flag& FlagSet::Bool(std::string name, bool default_value, std::string help) {
  return Declare(std::make_unique<Flag>(std::move(name), FlagType::kBool,
                                        FlagValue::Bool(default_value), std::move(help)));
}

Flag& FlagSet::String(std::string name, std::string default_value, std::string help) {
  return Declare(std::make_unique<Flag>(std::move(name), FlagType::kString,
                                        FlagValue::String(std::move(default_value)),
                                        std::move(help)));
}

Flag& FlagSet::Choice(std::string name, std::string default_value,
                      std::vector<std::string> choices, std::string help) {
  return Declare(std::make_unique<Flag>(std::move(name), FlagType::kChoice,
                                        FlagValue::String(std::move(default_value)),
                                        std::move(help), std::move(choices)));
}

Flag& FlagSet::Declare(std::unique_ptr<Flag> flag) {
  index_.emplace(flag->name(), flags_.size());  // keeps the first of duplicates
  values_.push_back(flag->default_value());
  given_.push_back(false);
  flags_.push_back(std::move(flag));
  return *flags_.back();
}

Status FlagSet::Validate() const {
  std::set<std::string_view> seen;
  for (const auto& flag : flags_) {
    ORCHARD_RETURN_IF_ERROR(flag->Validate());
    if (flag->name() == "help") {
      return Status::InvalidArgument("flag declaration --help: the name is reserved");
    }
    if (!seen.insert(flag->name()).second) {
      return Status::InvalidArgument("flag declaration --" + flag->name() + ": declared twice");
    }
  }
  return Status::Ok();
}

int FlagSet::IndexOf(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : static_cast<int>(it->second);
}

const Flag* FlagSet::Find(std::string_view name) const {
  int i = IndexOf(name);
  return i < 0 ? nullptr : flags_[static_cast<size_t>(i)].get();
}

std::vector<const Flag*> FlagSet::flags() const {
  std::vector<const Flag*> out;
  for (const auto& flag : flags_) out.push_back(flag.get());
  return out;
}

Status FlagSet::Parse(int argc, const char* const* argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return Parse(args);
}

Status FlagSet::Parse(const std::vector<std::string>& args) {
  ORCHARD_RETURN_IF_ERROR(Validate());
  Parsed parsed;
  for (const auto& flag : flags_) parsed.values.push_back(flag->default_value());
  parsed.given.assign(flags_.size(), false);

  // Help wins over every other argument, even invalid ones.
  auto end = std::find(args.begin(), args.end(), "--");
  bool help = std::any_of(args.begin(), end, [](const std::string& a) { return IsHelpArg(a); });
  if (!help) {
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if (arg == "--") {
        parsed.positional.insert(parsed.positional.end(), args.begin() + static_cast<long>(i) + 1,
                                 args.end());
        break;
      }
      if (arg.starts_with("--")) {
        ORCHARD_RETURN_IF_ERROR(ParseLongFlag(args, &i, &parsed));
      } else if (LooksLikeShortFlag(arg)) {
        std::string_view name = std::string_view(arg).substr(1);
        name = name.substr(0, name.find('='));
        std::string hint = Find(name) ? " (flags take two dashes: did you mean --" +
                                            std::string(name) + "?)"
                                      : " (flags take two dashes)";
        return Status::InvalidArgument("unknown flag " + arg + hint);
      } else {
        parsed.positional.push_back(arg);
      }
    }
  }
  values_ = std::move(parsed.values);
  given_ = std::move(parsed.given);
  positional_ = std::move(parsed.positional);
  help_requested_ = help;
  return Status::Ok();
}

Status FlagSet::ParseLongFlag(const std::vector<std::string>& args, size_t* i,
                              Parsed* out) const {
  std::string_view body = std::string_view(args[*i]).substr(2);
  size_t eq = body.find('=');
  bool has_value = eq != std::string_view::npos;
  std::string_view name = body.substr(0, eq);
  std::string_view text = has_value ? body.substr(eq + 1) : std::string_view();
  if (name.empty()) return Status::InvalidArgument("malformed flag " + args[*i]);

  int index = IndexOf(name);
  bool negated = false;
  if (index < 0 && name.starts_with(kNoPrefix)) {
    index = IndexOf(name.substr(kNoPrefix.size()));
    if (index < 0) return UnknownFlag(name);
    const Flag& base = *flags_[static_cast<size_t>(index)];
    if (base.type() != FlagType::kBool) {
      return Status::InvalidArgument("--" + std::string(name) + ": --" + base.name() +
                                     " is not a bool flag, so it has no --no- form");
    }
    if (has_value) {
      return Status::InvalidArgument("--" + std::string(name) + " takes no value, got \"" +
                                     std::string(text) + "\"");
    }
    negated = true;
  }
  if (index < 0) return UnknownFlag(name);

  size_t k = static_cast<size_t>(index);
  const Flag& flag = *flags_[k];
  if (out->given[k]) {
    return Status::InvalidArgument("--" + flag.name() + " given more than once");
  }
  std::string value_text;
  if (negated) {
    value_text = "false";
  } else if (has_value) {
    value_text = std::string(text);
  } else if (flag.type() == FlagType::kBool) {
    value_text = "true";
  } else if (*i + 1 < args.size() && !args[*i + 1].starts_with("--")) {
    value_text = args[++*i];
  } else {
    return Status::InvalidArgument("missing value for --" + flag.name() + " (expected " +
                                   Expected(flag) + ")");
  }
  if (value_text.empty() && flag.type() != FlagType::kString) {
    return Status::InvalidArgument("missing value for --" + flag.name() + " (expected " +
                                   Expected(flag) + ")");
  }
  Result<FlagValue> value = flag.ParseValue(value_text);
  if (!value.ok()) return value.status();
  out->values[k] = std::move(value).value();
  out->given[k] = true;
  return Status::Ok();
}

Status FlagSet::UnknownFlag(std::string_view arg_name) const {
  std::vector<std::string> names;
  for (const auto& flag : flags_) {
    names.push_back(flag->name());
    if (flag->type() == FlagType::kBool) names.push_back(std::string(kNoPrefix) + flag->name());
  }
  std::string message = "unknown flag --" + std::string(arg_name);
  std::string suggestion = SuggestClosest(arg_name, names);
  if (!suggestion.empty()) message += " (did you mean --" + suggestion + "?)";
  return Status::InvalidArgument(message);
}

Status FlagSet::Set(std::string_view name, std::string_view text) {
  int index = IndexOf(name);
  if (index < 0) return UnknownFlag(name);
  size_t k = static_cast<size_t>(index);
  Result<FlagValue> value = flags_[k]->ParseValue(text);
  if (!value.ok()) return value.status();
  values_[k] = std::move(value).value();
  given_[k] = true;
  return Status::Ok();
}

bool FlagSet::IsSet(std::string_view name) const {
  int i = IndexOf(name);
  return i >= 0 && given_[static_cast<size_t>(i)];
}

Result<FlagValue> FlagSet::Get(std::string_view name) const {
  int i = IndexOf(name);
  if (i < 0) return Status::NotFound("no flag --" + std::string(name) + " is declared");
  return values_[static_cast<size_t>(i)];
}

const FlagValue& FlagSet::ValueForGetter(std::string_view name, ValueType type,
                                         std::string_view getter) const {
  int i = IndexOf(name);
  if (i < 0) GetterFailure(getter, name, "no such flag is declared");
  const Flag& flag = *flags_[static_cast<size_t>(i)];
  if (flag.value_type() != type) {
    GetterFailure(getter, name,
                  "--" + flag.name() + (flag.type() == FlagType::kInt ? " is an " : " is a ") +
                      std::string(FlagTypeName(flag.type())) + " flag");
  }
  return values_[static_cast<size_t>(i)];
}

int64_t FlagSet::GetInt(std::string_view name) const {
  return ValueForGetter(name, ValueType::kInt, "GetInt").AsInt();
}

double FlagSet::GetFloat(std::string_view name) const {
  return ValueForGetter(name, ValueType::kFloat, "GetFloat").AsFloat();
}

bool FlagSet::GetBool(std::string_view name) const {
  return ValueForGetter(name, ValueType::kBool, "GetBool").AsBool();
}

const std::string& FlagSet::GetString(std::string_view name) const {
  return ValueForGetter(name, ValueType::kString, "GetString").AsString();
}

std::string FlagSet::Help() const {
  std::vector<std::vector<std::string>> rows = {{"FLAG", "TYPE", "DEFAULT", "ALLOWED", "HELP"}};
  for (const auto& flag : flags_) {
    rows.push_back({"--" + flag->name(), std::string(FlagTypeName(flag->type())),
                    HelpDefault(*flag), flag->ConstraintText(), flag->help()});
  }
  rows.push_back({"-h, --help", "", "", "", "show this help"});
  std::vector<size_t> width(4, 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }

  std::string out = "Usage: " + program_ + " [flags] [args...]\n";
  if (!description_.empty()) out += "\n" + description_ + "\n";
  out += "\nFlags:\n";
  for (const auto& row : rows) {
    std::string line = " ";
    for (size_t c = 0; c < row.size(); ++c) {
      line += " " + row[c];
      if (c < width.size()) line += std::string(width[c] - row[c].size() + 1, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  out += "\nValues: --name=value or --name value. Bool flags: --name, --no-name,\n"
         "--name=true|false. \"--\" ends the flags.\n";
  return out;
}

nlohmann::json FlagSet::ToJson() const {
  nlohmann::json out = nlohmann::json::object();
  for (size_t i = 0; i < flags_.size(); ++i) out[flags_[i]->name()] = values_[i].ToJson();
  return out;
}

nlohmann::json FlagSet::Describe() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& flag : flags_) list.push_back(flag->Describe());
  return {{"program", program_}, {"description", description_}, {"flags", list}};
}

}  // namespace orchard::flags
