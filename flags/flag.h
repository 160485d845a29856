// Flag declarations: what a trainer accepts, and which values are valid.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "flags/flag_value.h"
#include "flags/status.h"

namespace orchard::flags {

// The declared type of a flag. A choice holds a string from a fixed list.
enum class FlagType { kInt, kFloat, kBool, kString, kChoice };

// "int", "float", "bool", "string" or "choice".
std::string_view FlagTypeName(FlagType type);
// Parses FlagTypeName's output; NotFound for anything else.
Result<FlagType> FlagTypeFromName(std::string_view name);
// The type of the values a flag of `type` holds (kChoice -> kString).
ValueType ValueTypeOf(FlagType type);

// True when `name` matches [A-Za-z_][A-Za-z0-9_.-]*.
bool IsValidFlagName(std::string_view name);

// Flag is one declaration: name, type, default, optional inclusive range
// (int and float), allowed choices (choice) and help text. It is a value type;
// FlagSet owns the Flags it declares and hands out references for chaining:
//   fs.Float("lr", 0.01, "learning rate").Range(1e-6, 10);
// Mistakes in a declaration (a bad name, a default outside the range, Range()
// on a string flag, ...) do not abort: Validate() reports them, and
// FlagSet::Parse returns that error before reading any argument.
class Flag {
 public:
  // `choices` is used only by kChoice flags.
  Flag(std::string name, FlagType type, FlagValue default_value, std::string help,
       std::vector<std::string> choices = {});

  // Restricts an int or float flag to [min, max], both inclusive.
  Flag& Range(double min, double max);

  const std::string& name() const { return name_; }
  FlagType type() const { return type_; }
  ValueType value_type() const { return ValueTypeOf(type_); }
  const FlagValue& default_value() const { return default_value_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& choices() const { return choices_; }
  bool has_range() const { return range_.has_value(); }
  double min() const { return range_ ? range_->first : 0; }
  double max() const { return range_ ? range_->second : 0; }

  // OK when the declaration is coherent; otherwise InvalidArgument naming
  // the flag and the problem.
  Status Validate() const;

  // Reads `text` as a value of this flag: type, then range or choices.
  // Errors read like `--lr=abc: expected a number (float), got "abc"`,
  // `--lr=20: out of range [1e-06, 10]`, or
  // `--optimizer=rmsprop: expected one of sgd, adam, adamw`.
  Result<FlagValue> ParseValue(std::string_view text) const;

  // OK when `value` has this flag's value type and lies in its range or
  // among its choices. The message has no "--name=value: " prefix.
  Status Check(const FlagValue& value) const;

  // "[1e-06, 10]" for a range, "{sgd, adam}" for choices, "" otherwise.
  std::string ConstraintText() const;

  // The declaration as JSON: {"name", "type", "default", "help"} plus
  // "min"/"max" when there is a range and "choices" for a choice flag.
  nlohmann::json Describe() const;

 private:
  std::string name_;
  FlagType type_;
  FlagValue default_value_;
  std::string help_;
  std::vector<std::string> choices_;
  std::optional<std::pair<double, double>> range_;
  std::string misuse_;  // a declaration mistake found by a setter
};

}  // namespace orchard::flags
