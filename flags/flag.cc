#include "flags/flag.h"

#include <cmath>
#include <set>
#include <utility>

namespace orchard::flags {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A range bound as people write it: "10" rather than FormatDouble's "10.0".
std::string FormatBound(double v) {
  std::string text = FormatDouble(v);
  if (text.size() > 2 && text.compare(text.size() - 2, 2, ".0") == 0) {
    text.resize(text.size() - 2);
  }
  return text;
}

// Whole numbers that an int64 holds exactly; int ranges must use them.
bool IsInt64Bound(double v) {
  return std::isfinite(v) && v == std::trunc(v) && v >= -9.2e18 && v <= 9.2e18;
}

std::string JoinChoices(const std::vector<std::string>& choices) {
  std::string out;
  for (const std::string& c : choices) {
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

}  // namespace

std::string_view FlagTypeName(FlagType type) {
  switch (type) {
    case FlagType::kInt: return "int";
    case FlagType::kFloat: return "float";
    case FlagType::kBool: return "bool";
    case FlagType::kString: return "string";
    case FlagType::kChoice: return "choice";
  }
  return "?";
}

Result<FlagType> FlagTypeFromName(std::string_view name) {
  for (FlagType t : {FlagType::kInt, FlagType::kFloat, FlagType::kBool, FlagType::kString,
                     FlagType::kChoice}) {
    if (FlagTypeName(t) == name) return t;
  }
  return Status::NotFound("unknown flag type \"" + std::string(name) +
                          "\" (expected int, float, bool, string or choice)");
}

ValueType ValueTypeOf(FlagType type) {
  switch (type) {
    case FlagType::kInt: return ValueType::kInt;
    case FlagType::kFloat: return ValueType::kFloat;
    case FlagType::kBool: return ValueType::kBool;
    case FlagType::kString:
    case FlagType::kChoice: return ValueType::kString;
  }
  return ValueType::kString;
}

bool IsValidFlagName(std::string_view name) {
  if (name.empty() || !(IsAlpha(name[0]) || name[0] == '_')) return false;
  for (char c : name) {
    if (!(IsAlpha(c) || IsDigit(c) || c == '_' || c == '.' || c == '-')) return false;
  }
  return true;
}

Flag::Flag(std::string name, FlagType type, FlagValue default_value, std::string help,
           std::vector<std::string> choices)
    : name_(std::move(name)),
      type_(type),
      default_value_(std::move(default_value)),
      help_(std::move(help)),
      choices_(std::move(choices)) {}

Flag& Flag::Range(double min, double max) {
  if (type_ != FlagType::kInt && type_ != FlagType::kFloat) {
    misuse_ = "Range() needs an int or float flag, not " + std::string(FlagTypeName(type_));
  }
  range_ = std::make_pair(min, max);
  return *this;
}

Status Flag::Validate() const {
  auto fail = [this](const std::string& what) {
    return Status::InvalidArgument("flag declaration --" + name_ + ": " + what);
  };
  if (!IsValidFlagName(name_)) {
    return Status::InvalidArgument("flag declaration: invalid name \"" + name_ +
                                   "\" (expected [A-Za-z_][A-Za-z0-9_.-]*)");
  }
  if (!misuse_.empty()) return fail(misuse_);
  if (range_) {
    if (!std::isfinite(range_->first) || !std::isfinite(range_->second)) {
      return fail("range bounds must be finite");
    }
    if (range_->first > range_->second) return fail("empty range " + ConstraintText());
    if (type_ == FlagType::kInt &&
        (!IsInt64Bound(range_->first) || !IsInt64Bound(range_->second))) {
      return fail("an int range needs whole-number bounds, got " + ConstraintText());
    }
  }
  if (type_ == FlagType::kChoice) {
    if (choices_.empty()) return fail("a choice flag needs at least one choice");
    std::set<std::string_view> seen;
    for (const std::string& c : choices_) {
      if (!seen.insert(c).second) return fail("choice \"" + c + "\" listed twice");
    }
  } else if (!choices_.empty()) {
    return fail("only a choice flag can list choices");
  }
  if (Status s = Check(default_value_); !s.ok()) {
    return fail("default " + default_value_.ToText() + ": " + s.message());
  }
  return Status::Ok();
}

Status Flag::Check(const FlagValue& value) const {
  if (value.type() != value_type()) {
    return Status::InvalidArgument("expected a " + std::string(ValueTypeName(value_type())) +
                                   ", got a " + std::string(ValueTypeName(value.type())));
  }
  if (range_) {
    // long double holds every int64 exactly on the platforms we build for.
    long double v = type_ == FlagType::kInt ? static_cast<long double>(value.AsInt())
                                            : static_cast<long double>(value.AsFloat());
    if (v < range_->first || v > range_->second) {
      return Status::InvalidArgument("out of range " + ConstraintText());
    }
  }
  if (type_ == FlagType::kChoice) {
    for (const std::string& c : choices_) {
      if (c == value.AsString()) return Status::Ok();
    }
    return Status::InvalidArgument("expected one of " + JoinChoices(choices_));
  }
  return Status::Ok();
}

Result<FlagValue> Flag::ParseValue(std::string_view text) const {
  std::string prefix = "--" + name_ + "=" + std::string(text) + ": ";
  Result<FlagValue> value = FlagValue::Parse(value_type(), text);
  if (!value.ok()) return Status::InvalidArgument(prefix + value.status().message());
  if (Status s = Check(*value); !s.ok()) return Status::InvalidArgument(prefix + s.message());
  return value;
}

std::string Flag::ConstraintText() const {
  if (range_) return "[" + FormatBound(range_->first) + ", " + FormatBound(range_->second) + "]";
  if (type_ == FlagType::kChoice) return "{" + JoinChoices(choices_) + "}";
  return "";
}

nlohmann::json Flag::Describe() const {
  nlohmann::json out = {{"name", name_},
                        {"type", FlagTypeName(type_)},
                        {"default", default_value_.ToJson()},
                        {"help", help_}};
  if (range_) {
    if (type_ == FlagType::kInt && IsInt64Bound(range_->first) && IsInt64Bound(range_->second)) {
      out["min"] = static_cast<int64_t>(range_->first);
      out["max"] = static_cast<int64_t>(range_->second);
    } else {
      out["min"] = range_->first;
      out["max"] = range_->second;
    }
  }
  if (type_ == FlagType::kChoice) out["choices"] = choices_;
  return out;
}

}  // namespace orchard::flags
