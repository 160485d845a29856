// TuneSpecToJson: the canonical form of a spec. nlohmann::json objects keep
// their keys sorted, so dump() of equal specs gives equal text.
#include <cstdint>

#include "flags/tune_spec.h"

namespace orchard::flags {
namespace {

using Kind = Dimension::Kind;

nlohmann::json DimensionToJson(const Dimension& d) {
  nlohmann::json j = {{"name", d.name}, {"kind", Dimension::KindName(d.kind)}};
  switch (d.kind) {
    case Kind::kList:
    case Kind::kChoice:
      j["values"] = d.values;
      break;
    case Kind::kInt:
      j["low"] = static_cast<int64_t>(d.low);
      j["high"] = static_cast<int64_t>(d.high);
      j["log"] = d.log;
      break;
    case Kind::kUniform:
    case Kind::kLogUniform:
      j["low"] = d.low;
      j["high"] = d.high;
      break;
  }
  return j;
}

nlohmann::json Goal(bool maximize) { return maximize ? "max" : "min"; }

}  // namespace

nlohmann::json TuneSpecToJson(const TuneSpec& spec) {
  nlohmann::json search = nlohmann::json::array();
  for (const Dimension& d : spec.space.dims) search.push_back(DimensionToJson(d));

  nlohmann::json objective = nullptr;
  if (spec.objective.has_value()) {
    objective = {{"metric", spec.objective->metric},
                 {"goal", Goal(spec.objective->maximize)},
                 {"reduce", spec.objective->reduce}};
  }

  // Only the settings the chosen method reads, so unused defaults never make
  // two equivalent specs differ.
  nlohmann::json early_stopping = nullptr;
  const EarlyStopping& es = spec.early_stopping;
  if (!es.method.empty()) {
    early_stopping = {{"method", es.method},    {"metric", es.metric},
                      {"goal", Goal(es.maximize)}, {"unit", es.unit},
                      {"grace", es.grace}};
    if (es.method == "asha") {
      early_stopping["reduction"] = es.reduction;
      early_stopping["max_t"] = es.max_t;
    } else {
      early_stopping["min_trials"] = es.min_trials;
    }
  }

  const Resources& r = spec.resources;
  nlohmann::json resources = {{"concurrency", r.concurrency},
                              {"gpus_per_trial", r.gpus_per_trial},
                              {"trials_per_gpu", r.trials_per_gpu},
                              {"gpus", r.gpus},
                              {"timeout", r.timeout_s},
                              {"retries", r.retries}};

  nlohmann::json j = {
      {"command", spec.command},
      {"flags", spec.flags},
      {"search", std::move(search)},
      {"method", spec.method},
      {"sample", spec.sample.has_value() ? nlohmann::json(*spec.sample) : nlohmann::json()},
      {"max_trials",
       spec.max_trials.has_value() ? nlohmann::json(*spec.max_trials) : nlohmann::json()},
      {"seed", spec.seed},
      {"objective", std::move(objective)},
      {"early_stopping", std::move(early_stopping)},
      {"resources", std::move(resources)},
      {"executor", spec.executor},
      {"name", spec.name},
  };
  return j;
}

}  // namespace orchard::flags
