// Typed flag values and the text <-> value conversions shared by trainers
// and the orchestrator.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "flags/status.h"

namespace orchard::flags {

// The four value kinds a flag can hold. A `choice` flag holds a kString.
enum class ValueType { kInt, kFloat, kBool, kString };

// "int", "float", "bool" or "string".
std::string_view ValueTypeName(ValueType type);

// FlagValue is one typed scalar: an int64, a double, a bool or a string.
// It is a plain value type (copyable, comparable, thread-compatible).
//
// Text forms (Parse / ToText):
//   int    optional sign and decimal digits: "5", "-3", "+7". Not "5.0", "1e3".
//   float  a finite decimal number: "0.1", "1e-3", ".5", "-2", "+4E2".
//          "inf" and "nan" are rejected: no hyperparameter means infinity,
//          and JSON cannot store it.
//   bool   true/false, 1/0, yes/no, on/off (any letter case).
//   string any text, including "".
// ToText of a float is the shortest text that reads back to the same double,
// always with a '.' or an exponent so it still reads as a float:
// 0.1 -> "0.1", 1e-05 -> "1e-05", 10.0 -> "10.0", 1e+16 -> "1e+16".
//
// The typed accessors (AsInt, ...) REQUIRE type() to match; they abort with
// a message otherwise (a programming error, not bad input).
class FlagValue {
 public:
  FlagValue() : value_(std::string()) {}  // an empty string
  static FlagValue Int(int64_t v) { return FlagValue(v); }
  static FlagValue Float(double v) { return FlagValue(v); }
  static FlagValue Bool(bool v) { return FlagValue(v); }
  static FlagValue String(std::string v) { return FlagValue(std::move(v)); }

  // Reads `text` as a value of `type`. On failure the message says what was
  // expected and what was given, e.g. `expected an integer, got "0.5"`.
  static Result<FlagValue> Parse(ValueType type, std::string_view text);

  // Reads a JSON scalar as a value of `type`. A float accepts any JSON
  // number; an int accepts only a JSON integer that fits in int64.
  static Result<FlagValue> FromJson(ValueType type, const nlohmann::json& json);

  ValueType type() const { return static_cast<ValueType>(value_.index()); }
  int64_t AsInt() const;
  double AsFloat() const;
  bool AsBool() const;
  const std::string& AsString() const;

  // The canonical text form; Parse(type(), ToText()) gives back this value.
  std::string ToText() const;
  // A JSON scalar: number_integer, number_float, boolean or string.
  nlohmann::json ToJson() const;

  friend bool operator==(const FlagValue& a, const FlagValue& b) = default;

 private:
  // The variant's alternatives are in ValueType order.
  using Storage = std::variant<int64_t, double, bool, std::string>;
  explicit FlagValue(int64_t v) : value_(v) {}
  explicit FlagValue(double v) : value_(v) {}
  explicit FlagValue(bool v) : value_(v) {}
  explicit FlagValue(std::string v) : value_(std::move(v)) {}

  Storage value_;
};

// Shortest text that reads back to exactly `value`, in the style of Python's
// repr: fixed notation for exponents -4..15, scientific (two-digit minimum
// exponent) otherwise, and ".0" added to integral values. Non-finite values
// give "inf", "-inf" and "nan".
std::string FormatDouble(double value);

// Guesses the type of an untyped `--name=value` flag:
//   "3", "-12"                     -> integer (if it fits in int64)
//   "0.5", "1e-3", "-.5", "2."     -> float (if finite)
//   "true"/"True"/"TRUE", "false"  -> boolean
//   anything else                  -> string, unchanged
// Text whose integer part has a leading zero ("007", "00.5", "01e3") stays a
// string: it is almost always an identifier whose zeros matter. So do
// integers too big for int64, "inf", "nan", hex, and text with spaces.
nlohmann::json ParseScalar(std::string_view text);

// The inverse of ParseScalar for scalars: integers in decimal, floats with
// FormatDouble, booleans as true/false, strings unchanged. Other JSON values
// (null, arrays, objects) are given as their compact JSON text.
// For every int, finite float and bool x: ParseScalar(FormatScalar(x)) == x.
std::string FormatScalar(const nlohmann::json& value);

// A flag set on one line, "batch=64 lr=0.001 optimizer=adam", names in the
// object's (sorted) order. With float_digits > 0, floats are shortened to
// that many significant digits for display; 0 keeps them exact.
std::string FormatFlagsCompact(const nlohmann::json& flags, int float_digits = 0);

}  // namespace orchard::flags
