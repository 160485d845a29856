#include "flags/flag_value.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <system_error>

namespace orchard::flags {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  }
  return true;
}

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

[[noreturn]] void WrongType(ValueType wanted, ValueType actual) {
  std::fprintf(stderr, "orchard::flags::FlagValue: asked for %s, holds %s\n",
               std::string(ValueTypeName(wanted)).c_str(),
               std::string(ValueTypeName(actual)).c_str());
  std::abort();
}

// from_chars does not take a leading '+'; users do write "+5".
std::string_view StripPlus(std::string_view text) {
  if (text.size() > 1 && text[0] == '+' && text[1] != '-' && text[1] != '+') {
    text.remove_prefix(1);
  }
  return text;
}

Result<FlagValue> ParseInt(std::string_view text) {
  std::string_view digits = StripPlus(text);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec == std::errc::result_out_of_range) {
    return Status::InvalidArgument("integer out of range, got " + Quote(text));
  }
  if (ec != std::errc() || ptr != digits.data() + digits.size() || digits.empty()) {
    return Status::InvalidArgument("expected an integer, got " + Quote(text));
  }
  return FlagValue::Int(v);
}

Result<FlagValue> ParseFloat(std::string_view text) {
  std::string_view number = StripPlus(text);
  double v = 0;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), v);
  bool whole = ec != std::errc::invalid_argument && ptr == number.data() + number.size() &&
               !number.empty();
  if (whole && ec == std::errc::result_out_of_range) {
    return Status::InvalidArgument("number out of range of a double, got " + Quote(text));
  }
  if (!whole) return Status::InvalidArgument("expected a number (float), got " + Quote(text));
  if (!std::isfinite(v)) {  // from_chars reads "inf" and "nan"
    return Status::InvalidArgument("expected a finite number, got " + Quote(text));
  }
  return FlagValue::Float(v);
}

Result<FlagValue> ParseBool(std::string_view text) {
  for (std::string_view t : {"true", "1", "yes", "on"}) {
    if (EqualsIgnoreCase(text, t)) return FlagValue::Bool(true);
  }
  for (std::string_view f : {"false", "0", "no", "off"}) {
    if (EqualsIgnoreCase(text, f)) return FlagValue::Bool(false);
  }
  return Status::InvalidArgument("expected a boolean (true or false), got " + Quote(text));
}

// The scalar grammar of ParseScalar: [+-]? int-part? ('.' digits*)? exponent?
// with int-part "0" or [1-9][0-9]*, and at least one digit before the
// exponent. Sets *is_float when there is a '.' or an exponent.
bool MatchNumber(std::string_view s, bool* is_float) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t int_start = i;
  while (i < s.size() && IsDigit(s[i])) ++i;
  size_t int_digits = i - int_start;
  if (int_digits > 1 && s[int_start] == '0') return false;  // leading zero
  size_t frac_digits = 0;
  *is_float = false;
  if (i < s.size() && s[i] == '.') {
    *is_float = true;
    ++i;
    size_t frac_start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    frac_digits = i - frac_start;
  }
  if (int_digits + frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    *is_float = true;
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp_start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i == exp_start) return false;
  }
  return i == s.size();
}

}  // namespace

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kInt: return "int";
    case ValueType::kFloat: return "float";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
  }
  return "?";
}

Result<FlagValue> FlagValue::Parse(ValueType type, std::string_view text) {
  switch (type) {
    case ValueType::kInt: return ParseInt(text);
    case ValueType::kFloat: return ParseFloat(text);
    case ValueType::kBool: return ParseBool(text);
    case ValueType::kString: return FlagValue::String(std::string(text));
  }
  return Status::Internal("unknown value type");
}

Result<FlagValue> FlagValue::FromJson(ValueType type, const nlohmann::json& json) {
  switch (type) {
    case ValueType::kInt:
      if (json.is_number_integer() && !json.is_number_unsigned()) {
        return FlagValue::Int(json.get<int64_t>());
      }
      if (json.is_number_unsigned() &&
          json.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return FlagValue::Int(static_cast<int64_t>(json.get<uint64_t>()));
      }
      break;
    case ValueType::kFloat:
      if (json.is_number()) {
        double v = json.get<double>();
        if (std::isfinite(v)) return FlagValue::Float(v);
      }
      break;
    case ValueType::kBool:
      if (json.is_boolean()) return FlagValue::Bool(json.get<bool>());
      break;
    case ValueType::kString:
      if (json.is_string()) return FlagValue::String(json.get<std::string>());
      break;
  }
  return Status::InvalidArgument("expected a JSON " + std::string(ValueTypeName(type)) +
                                 ", got " + json.dump());
}

int64_t FlagValue::AsInt() const {
  if (type() != ValueType::kInt) WrongType(ValueType::kInt, type());
  return std::get<int64_t>(value_);
}

double FlagValue::AsFloat() const {
  if (type() != ValueType::kFloat) WrongType(ValueType::kFloat, type());
  return std::get<double>(value_);
}

bool FlagValue::AsBool() const {
  if (type() != ValueType::kBool) WrongType(ValueType::kBool, type());
  return std::get<bool>(value_);
}

const std::string& FlagValue::AsString() const {
  if (type() != ValueType::kString) WrongType(ValueType::kString, type());
  return std::get<std::string>(value_);
}

std::string FlagValue::ToText() const {
  switch (type()) {
    case ValueType::kInt: return std::to_string(AsInt());
    case ValueType::kFloat: return FormatDouble(AsFloat());
    case ValueType::kBool: return AsBool() ? "true" : "false";
    case ValueType::kString: return AsString();
  }
  return "";
}

nlohmann::json FlagValue::ToJson() const {
  switch (type()) {
    case ValueType::kInt: return AsInt();
    case ValueType::kFloat: return AsFloat();
    case ValueType::kBool: return AsBool();
    case ValueType::kString: return AsString();
  }
  return nullptr;
}

std::string FormatDouble(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  // Shortest round-trip digits in scientific form, e.g. "-1.2345e+02".
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  if (ec != std::errc()) return "nan";  // unreachable: 64 bytes always suffice
  std::string_view sci(buf, static_cast<size_t>(end - buf));
  std::string sign;
  if (sci.front() == '-') {
    sign = "-";
    sci.remove_prefix(1);
  }
  size_t e_pos = sci.find('e');
  std::string digits(sci.substr(0, e_pos));
  if (digits.size() > 1) digits.erase(1, 1);  // drop the '.'
  int exponent = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());

  std::string out;
  if (exponent < -4 || exponent >= 16) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp_buf[16];
    std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", exponent < 0 ? '-' : '+',
                  exponent < 0 ? -exponent : exponent);
    out += exp_buf;
  } else if (exponent < 0) {
    out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  } else {
    size_t int_len = static_cast<size_t>(exponent) + 1;
    if (digits.size() <= int_len) {
      out = digits + std::string(int_len - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
  }
  return sign + out;
}

nlohmann::json ParseScalar(std::string_view text) {
  bool is_float = false;
  if (MatchNumber(text, &is_float)) {
    if (!is_float) {
      Result<FlagValue> v = ParseInt(text);
      if (v.ok()) return v->AsInt();
    } else {
      Result<FlagValue> v = ParseFloat(text);
      if (v.ok()) return v->AsFloat();
    }
    return std::string(text);  // out of range: keep the exact text
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  return std::string(text);
}

std::string FormatScalar(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number_unsigned()) return std::to_string(value.get<uint64_t>());
  if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
  if (value.is_number_float()) return FormatDouble(value.get<double>());
  return value.dump();
}

std::string FormatFlagsCompact(const nlohmann::json& flags, int float_digits) {
  std::string out;
  if (!flags.is_object()) return out;
  for (const auto& [name, value] : flags.items()) {
    if (!out.empty()) out += ' ';
    out += name + "=";
    if (value.is_number_float() && float_digits > 0) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.*g", float_digits, value.get<double>());
      out += buf;
    } else {
      out += FormatScalar(value);
    }
  }
  return out;
}

}  // namespace orchard::flags
