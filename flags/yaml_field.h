// YamlField: one node of a parsed YAML document together with where it came
// from (file, line, key path), and typed reads that report mistakes as
//   "tune.yaml:7: search.lr: expected a number, got 'abc'".
// It is the adapter between yaml-cpp and the rest of flags/: it never lets a
// yaml-cpp exception escape and returns Status values instead.
//
// Scalars are typed the way a flag value is (flags/flag_value.h ParseScalar):
// a plain `32` is an integer, `1.0e-4` and `1e-4` are floats, true/false
// (also True/TRUE/False/FALSE) are booleans, `~`, `null` and an empty value
// are null, and everything else is a string. A quoted or block scalar
// ('32', "32", |, >) and one tagged !!str are always strings. YAML 1.1's
// yes/no/on/off are strings, not booleans (YAML 1.2 core schema).
//
// Thread-compatible value type; `source` must outlive the field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "flags/status.h"

namespace orchard::flags {

class YamlField {
 public:
  // The document root; `source` names the file in messages.
  YamlField(YAML::Node node, const std::string* source);

  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }   // "search.lr"; "" at the root
  const std::string& key() const { return key_; }     // last path component
  int line() const { return line_; }                  // 1-based line of the value
  int key_line() const { return key_line_; }          // 1-based line of the key

  bool IsNull() const { return !node_ || node_.IsNull(); }
  bool IsScalar() const { return node_.IsScalar(); }
  bool IsList() const { return node_.IsSequence(); }
  bool IsMap() const { return node_.IsMap(); }

  // The same value reported under another key path (e.g. a distribution's
  // [low, high] under the dimension's name).
  YamlField WithPath(std::string path) const {
    YamlField f = *this;
    f.path_ = std::move(path);
    return f;
  }

  // "SOURCE:LINE: PATH: message" at this value's line (or `line` if given).
  Status Error(std::string_view message) const;
  Status ErrorAt(int line, std::string_view message) const;

  // How the value reads in a message: 'text' for a scalar, "a list",
  // "a map" or "an empty value".
  std::string Describe() const;
  // The scalar's text as written (no quotes); "" for non-scalars.
  std::string Text() const;

  // The entries of a map, in document order. Fails when this is not a map,
  // when a key is not a scalar or appears twice, and, when `allowed` is
  // not empty, on a key outside it: "unknown key 'serach' (did you mean
  // 'search'?)".
  Result<std::vector<YamlField>> Entries(const std::vector<std::string>& allowed = {}) const;
  // The items of a list ("path[i]"). Fails when this is not a list.
  Result<std::vector<YamlField>> Items() const;

  // Typed scalar reads; each fails with "expected ..., got ...".
  Result<nlohmann::json> Scalar() const;     // a JSON scalar (null allowed)
  Result<int64_t> Int() const;
  Result<double> Number() const;             // an integer or a float, finite
  Result<std::string> String() const;        // any non-empty scalar, as written
  Result<bool> Bool() const;
  // The whole subtree as JSON: maps become objects (duplicate keys fail),
  // lists arrays, scalars as Scalar().
  Result<nlohmann::json> ToJson() const;

 private:
  YamlField() = default;
  YamlField Child(YAML::Node node, std::string path, std::string key, int key_line) const;

  YAML::Node node_;
  const std::string* source_ = nullptr;
  std::string path_;
  std::string key_;
  int line_ = 1;
  int key_line_ = 1;
};

}  // namespace orchard::flags
