// The search space of a tuning: one dimension per tuned flag.
//
// A dimension is either a list of values (lists make a grid, as in tfruns'
// `flags = list(lr = c(0.1, 0.01))`) or a distribution to draw from. Values
// are JSON scalars so they pass unchanged into a trainer's --name=value.
// Pure data; expansion lives in expand.h and the samplers in
// orchestrator/search/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace orchard::flags {

struct Dimension {
  enum class Kind {
    kList,         // values: every listed value (a grid axis)
    kUniform,      // low..high, float, uniform
    kLogUniform,   // low..high, float, uniform in log space (low > 0)
    kInt,          // low..high, integer, inclusive (log = true: log-uniform)
    kChoice,       // values: categorical, drawn at random (never a grid axis)
  };
  std::string name;
  Kind kind = Kind::kList;
  std::vector<nlohmann::json> values;  // kList, kChoice
  double low = 0, high = 0;            // kUniform, kLogUniform, kInt
  bool log = false;                    // kInt only
  int line = 0;                        // 1-based line in the spec, for messages

  // The spec's word for the kind: "list", "uniform", "loguniform", "int",
  // "choice".
  static std::string_view KindName(Kind kind) {
    switch (kind) {
      case Kind::kList: return "list";
      case Kind::kUniform: return "uniform";
      case Kind::kLogUniform: return "loguniform";
      case Kind::kInt: return "int";
      case Kind::kChoice: return "choice";
    }
    return "?";
  }
  // True for the kinds with a finite set of values (kList, kChoice).
  bool IsCategorical() const { return kind == Kind::kList || kind == Kind::kChoice; }
};

struct SearchSpace {
  std::vector<Dimension> dims;  // in the order the spec declares them

  // True when every dimension is a list: the space is a finite grid.
  bool IsGrid() const {
    for (const auto& d : dims) {
      if (d.kind != Dimension::Kind::kList) return false;
    }
    return true;
  }

  // The dimension named `name`, or nullptr.
  const Dimension* Find(std::string_view name) const {
    for (const auto& d : dims) {
      if (d.name == name) return &d;
    }
    return nullptr;
  }
};

}  // namespace orchard::flags
