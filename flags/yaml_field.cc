#include "flags/yaml_field.h"

#include <algorithm>
#include <set>
#include <utility>

#include "flags/flag_value.h"
#include "flags/suggest.h"

namespace orchard::flags {
namespace {

// yaml-cpp marks are 0-based; null nodes built for an empty value carry the
// position of whatever follows, or -1, so callers pass the key's line.
int LineOf(const YAML::Node& node, int fallback) {
  if (!node || node.IsNull()) return fallback;
  int line = node.Mark().line;
  return line >= 0 ? line + 1 : fallback;
}

bool IsPlain(const YAML::Node& node) {
  // "?" is the non-specific tag of a plain scalar, "!" that of a quoted or
  // block scalar.
  const std::string& tag = node.Tag();
  return tag != "!" && tag != "tag:yaml.org,2002:str";
}

std::string JoinQuoted(const std::vector<std::string>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
    out += words[i];
  }
  return out;
}

}  // namespace

YamlField::YamlField(YAML::Node node, const std::string* source)
    : node_(std::move(node)), source_(source) {
  line_ = LineOf(node_, 1);
  key_line_ = line_;
}

YamlField YamlField::Child(YAML::Node node, std::string path, std::string key,
                           int key_line) const {
  YamlField f;
  f.node_ = std::move(node);
  f.source_ = source_;
  f.path_ = std::move(path);
  f.key_ = std::move(key);
  f.key_line_ = key_line;
  f.line_ = LineOf(f.node_, key_line);
  return f;
}

Status YamlField::Error(std::string_view message) const { return ErrorAt(line_, message); }

Status YamlField::ErrorAt(int line, std::string_view message) const {
  std::string msg = *source_ + ":" + std::to_string(line) + ": ";
  if (!path_.empty()) msg += path_ + ": ";
  msg += message;
  return Status::InvalidArgument(std::move(msg));
}

std::string YamlField::Describe() const {
  if (IsNull()) return "an empty value";
  if (node_.IsSequence()) return "a list";
  if (node_.IsMap()) return "a map";
  return "'" + node_.Scalar() + "'";
}

std::string YamlField::Text() const { return node_.IsScalar() ? node_.Scalar() : ""; }

Result<std::vector<YamlField>> YamlField::Entries(const std::vector<std::string>& allowed) const {
  if (!node_.IsMap()) return Error("expected a map, got " + Describe());
  std::vector<YamlField> out;
  std::set<std::string> seen;
  for (const auto& kv : node_) {  // a value: it->first would dangle
    const YAML::Node k = kv.first;
    const YAML::Node v = kv.second;
    int key_line = LineOf(k, line_);
    if (!k.IsScalar()) return ErrorAt(key_line, "a key must be a plain name");
    const std::string& key = k.Scalar();
    std::string path = path_.empty() ? key : path_ + "." + key;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string msg = "unknown key '" + key + "'";
      std::string guess = SuggestClosest(key, allowed);
      if (!guess.empty()) {
        msg += " (did you mean '" + guess + "'?)";
      } else {
        msg += " (expected " + JoinQuoted(allowed) + ")";
      }
      return ErrorAt(key_line, msg);
    }
    if (!seen.insert(key).second) {
      return Child(v, path, key, key_line).ErrorAt(key_line, "duplicate key");
    }
    out.push_back(Child(v, std::move(path), key, key_line));
  }
  return out;
}

Result<std::vector<YamlField>> YamlField::Items() const {
  if (!node_.IsSequence()) return Error("expected a list, got " + Describe());
  std::vector<YamlField> out;
  size_t i = 0;
  for (const YAML::Node& item : node_) {
    out.push_back(Child(item, path_ + "[" + std::to_string(i) + "]", key_, LineOf(item, line_)));
    ++i;
  }
  return out;
}

Result<nlohmann::json> YamlField::Scalar() const {
  if (IsNull()) return nlohmann::json(nullptr);
  if (!node_.IsScalar()) return Error("expected a single value, got " + Describe());
  const std::string& text = node_.Scalar();
  if (!IsPlain(node_)) return nlohmann::json(text);
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nlohmann::json(nullptr);
  }
  return ParseScalar(text);
}

Result<int64_t> YamlField::Int() const {
  Result<nlohmann::json> v = Scalar();
  if (!v.ok()) return v.status();
  if (!v->is_number_integer()) return Error("expected an integer, got " + Describe());
  return v->get<int64_t>();
}

Result<double> YamlField::Number() const {
  Result<nlohmann::json> v = Scalar();
  if (!v.ok()) return v.status();
  if (!v->is_number()) return Error("expected a number, got " + Describe());
  return v->get<double>();
}

Result<std::string> YamlField::String() const {
  if (!node_.IsScalar() || node_.Scalar().empty()) {
    return Error("expected a name, got " + Describe());
  }
  return node_.Scalar();
}

Result<bool> YamlField::Bool() const {
  Result<nlohmann::json> v = Scalar();
  if (!v.ok()) return v.status();
  if (!v->is_boolean()) return Error("expected true or false, got " + Describe());
  return v->get<bool>();
}

Result<nlohmann::json> YamlField::ToJson() const {
  if (node_.IsSequence()) {
    Result<std::vector<YamlField>> items = Items();
    if (!items.ok()) return items.status();
    nlohmann::json out = nlohmann::json::array();
    for (const YamlField& item : *items) {
      Result<nlohmann::json> v = item.ToJson();
      if (!v.ok()) return v.status();
      out.push_back(std::move(*v));
    }
    return out;
  }
  if (node_.IsMap()) {
    Result<std::vector<YamlField>> entries = Entries();
    if (!entries.ok()) return entries.status();
    nlohmann::json out = nlohmann::json::object();
    for (const YamlField& e : *entries) {
      Result<nlohmann::json> v = e.ToJson();
      if (!v.ok()) return v.status();
      out[e.key()] = std::move(*v);
    }
    return out;
  }
  return Scalar();
}

}  // namespace orchard::flags
