// Builders for the search-space and trial fixtures the search tests share.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "flags/search_space.h"
#include "orchestrator/search/trial.h"

namespace orchard::search::fixtures {

inline flags::Dimension Uniform(std::string name, double low, double high) {
  flags::Dimension d;
  d.name = std::move(name);
  d.kind = flags::Dimension::Kind::kUniform;
  d.low = low;
  d.high = high;
  return d;
}

inline flags::Dimension LogUniform(std::string name, double low, double high) {
  flags::Dimension d = Uniform(std::move(name), low, high);
  d.kind = flags::Dimension::Kind::kLogUniform;
  return d;
}

inline flags::Dimension Int(std::string name, int64_t low, int64_t high, bool log = false) {
  flags::Dimension d = Uniform(std::move(name), static_cast<double>(low), static_cast<double>(high));
  d.kind = flags::Dimension::Kind::kInt;
  d.log = log;
  return d;
}

inline flags::Dimension Choice(std::string name, std::vector<nlohmann::json> values) {
  flags::Dimension d;
  d.name = std::move(name);
  d.kind = flags::Dimension::Kind::kChoice;
  d.values = std::move(values);
  return d;
}

inline flags::Dimension List(std::string name, std::vector<nlohmann::json> values) {
  flags::Dimension d = Choice(std::move(name), std::move(values));
  d.kind = flags::Dimension::Kind::kList;
  return d;
}

inline TrialRecord Completed(int64_t number, nlohmann::json params, double value) {
  TrialRecord t;
  t.number = number;
  t.params = std::move(params);
  t.state = TrialRecord::State::kCompleted;
  t.value = value;
  return t;
}

inline TrialRecord Pruned(int64_t number, nlohmann::json params,
                          std::map<int64_t, double> intermediate) {
  TrialRecord t;
  t.number = number;
  t.params = std::move(params);
  t.state = TrialRecord::State::kPruned;
  t.intermediate = std::move(intermediate);
  return t;
}

}  // namespace orchard::search::fixtures
