// FlagSet: declares a program's flags and parses its command line.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "flags/flag.h"
#include "flags/flag_value.h"
#include "flags/status.h"

namespace orchard::flags {

// FlagSet is the small API a trainer uses to declare and read its flags:
//
//   FlagSet fs("orchard-train", "Fine-tunes a network.");
//   fs.Float("lr", 0.01, "learning rate").Range(1e-6, 10);
//   fs.Choice("optimizer", "sgd", {"sgd", "adam"}, "optimizer");
//   Status s = fs.Parse(argc, argv);
//   if (!s.ok()) { std::cerr << s.message() << "\n"; return 2; }
//   if (fs.help_requested()) { std::cout << fs.Help(); return 0; }
//   double lr = fs.GetFloat("lr");
//
// Command line rules (see docs/flags.md):
//   --name=value, --name value   any flag (the value must not start with "--")
//   --name, --no-name            bool flags only (true / false)
//   --                           ends the flags; the rest is positional
//   -h, --help                   sets help_requested(); Parse returns OK
//   anything else not starting with "-" + letter, or "--", is positional.
// Unknown flags, a flag given twice, a missing value and a value of the
// wrong type, out of range or not among the choices are InvalidArgument
// errors naming the flag, e.g. `unknown flag --learning_rate (did you mean
// --lr?)`. Parse is all-or-nothing: on error the values stay as they were.
//
// The typed getters (GetInt, ...) REQUIRE a declared flag of that type and
// abort with a message otherwise: asking for the wrong type is a bug in the
// program, not bad input. Get() is the checked alternative.
//
// Owns its Flags; references returned by the declaring methods stay valid
// for the FlagSet's lifetime. Not thread-safe while declaring or parsing;
// const methods may run concurrently afterwards.
class FlagSet {
 public:
  FlagSet(std::string program, std::string description);
  FlagSet(const FlagSet&) = delete;
  FlagSet& operator=(const FlagSet&) = delete;
  FlagSet(FlagSet&&) = default;
  FlagSet& operator=(FlagSet&&) = default;

  // Declare a flag; chain .Range(min, max) on Int and Float flags. A bad
  // declaration (invalid or duplicate name, "help", default out of range,
  // default not among the choices) makes Validate() and Parse() fail.
  Flag& Int(std::string name, int64_t default_value, std::string help);
  Flag& Float(std::string name, double default_value, std::string help);
  Flag& Bool(std::string name, bool default_value, std::string help);
  Flag& Bool(std::string name, const char* default_value, std::string help) = delete;
  Flag& String(std::string name, std::string default_value, std::string help);
  Flag& Choice(std::string name, std::string default_value, std::vector<std::string> choices,
               std::string help);

  // OK when every declaration is coherent and names are unique.
  Status Validate() const;

  // Parses argv[1..argc-1] (argv[0] is the program). Each call starts from
  // the defaults again.
  Status Parse(int argc, const char* const* argv);
  // Parses `args`, which do not include the program name.
  Status Parse(const std::vector<std::string>& args);

  // Sets one flag from text as if given on the command line (the flag then
  // counts as explicitly set); the value is checked the same way.
  Status Set(std::string_view name, std::string_view text);

  bool help_requested() const { return help_requested_; }
  // Non-flag arguments, in order, including everything after "--".
  const std::vector<std::string>& positional() const { return positional_; }

  // The declaration named `name`, or nullptr.
  const Flag* Find(std::string_view name) const;
  // All declarations, in declaration order.
  std::vector<const Flag*> flags() const;

  // True when `name` was given on the command line (or via Set); false for
  // flags left at their default and for undeclared names.
  bool IsSet(std::string_view name) const;

  // The current value; NotFound for an undeclared name.
  Result<FlagValue> Get(std::string_view name) const;
  int64_t GetInt(std::string_view name) const;
  double GetFloat(std::string_view name) const;
  bool GetBool(std::string_view name) const;
  // For string and choice flags.
  const std::string& GetString(std::string_view name) const;

  // Usage line, description and an aligned table of the flags: name, type,
  // default, range or choices, help.
  std::string Help() const;
  // The current values: {"lr": 0.01, "epochs": 5, ...}.
  nlohmann::json ToJson() const;
  // The declarations, so a tool can discover a program's flags:
  // {"program": ..., "description": ..., "flags": [Flag::Describe(), ...]}.
  nlohmann::json Describe() const;

 private:
  // What Parse builds before committing it.
  struct Parsed {
    std::vector<FlagValue> values;
    std::vector<bool> given;
    std::vector<std::string> positional;
  };

  Flag& Declare(std::unique_ptr<Flag> flag);
  // Index of the flag named `name`, or -1.
  int IndexOf(std::string_view name) const;
  // Handles the argument args[*i] that starts with "--"; may consume the next.
  Status ParseLongFlag(const std::vector<std::string>& args, size_t* i, Parsed* out) const;
  Status UnknownFlag(std::string_view arg_name) const;
  // The flag at `index` for a typed getter; aborts unless its value type is `type`.
  const FlagValue& ValueForGetter(std::string_view name, ValueType type,
                                  std::string_view getter) const;

  std::string program_;
  std::string description_;
  std::vector<std::unique_ptr<Flag>> flags_;       // declaration order
  std::map<std::string, size_t, std::less<>> index_;  // name -> first declaration
  std::vector<FlagValue> values_;                  // parallel to flags_
  std::vector<bool> given_;                        // parallel to flags_
  std::vector<std::string> positional_;
  bool help_requested_ = false;
};

}  // namespace orchard::flags
