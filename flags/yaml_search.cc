#include "flags/yaml_search.h"

#include <cmath>
#include <string>
#include <vector>

#include "flags/flag.h"
#include "flags/flag_value.h"

namespace orchard::flags {
namespace {

using Kind = Dimension::Kind;

// "[0, 0.1]" as the user wrote it.
std::string WrittenList(const YamlField& f) {
  if (!f.IsList()) return f.Describe();
  Result<std::vector<YamlField>> items = f.Items();
  std::string out = "[";
  for (size_t i = 0; i < items->size(); ++i) {
    if (i > 0) out += ", ";
    const YamlField& item = (*items)[i];
    out += item.IsScalar() ? item.Text() : item.Describe();
  }
  return out + "]";
}

// The values of a list axis or a choice: non-empty, scalars, no repeats.
Result<std::vector<nlohmann::json>> ParseValues(const YamlField& f, std::string_view what) {
  if (!f.IsList()) return f.Error(std::string(what) + " needs a list of values, got " + f.Describe());
  Result<std::vector<YamlField>> items = f.Items();
  if (items->empty()) return f.Error(std::string(what) + " needs at least one value, got []");
  std::vector<nlohmann::json> values;
  for (const YamlField& item : *items) {
    if (item.IsList() || item.IsMap()) {
      return item.Error("expected a single value, got " + item.Describe());
    }
    Result<nlohmann::json> v = item.Scalar();
    if (!v.ok()) return v.status();
    if (v->is_null()) {
      return item.Error("a value cannot be empty (write '' for an empty string)");
    }
    for (size_t j = 0; j < values.size(); ++j) {
      if (values[j] == *v) {
        return item.Error("duplicate value " + FormatScalar(*v) + " (also item " +
                          std::to_string(j) + ")");
      }
    }
    values.push_back(std::move(*v));
  }
  return values;
}

// [low, high] of a uniform, loguniform or int distribution.
Status ParseRange(const YamlField& f, Dimension* d) {
  std::string kind(Dimension::KindName(d->kind));
  std::string shape = kind + " needs [low, high], got " + WrittenList(f);
  if (!f.IsList()) return f.Error(shape);
  Result<std::vector<YamlField>> items = f.Items();
  if (items->size() != 2) return f.Error(shape);
  double bounds[2];
  for (int i = 0; i < 2; ++i) {
    const YamlField& item = (*items)[i];
    Result<nlohmann::json> v = item.Scalar();
    if (!v.ok() || !v->is_number()) return f.Error(shape);
    if (d->kind == Kind::kInt && !v->is_number_integer()) {
      return f.Error("int needs integer bounds, got " + WrittenList(f));
    }
    bounds[i] = v->get<double>();
  }
  d->low = bounds[0];
  d->high = bounds[1];
  std::string got = ", got " + WrittenList(f);
  switch (d->kind) {
    case Kind::kUniform:
      if (!(d->low < d->high)) return f.Error("uniform needs low < high" + got);
      break;
    case Kind::kLogUniform:
      if (!(0 < d->low && d->low < d->high)) {
        return f.Error("loguniform needs 0 < low < high" + got);
      }
      break;
    case Kind::kInt:
      if (std::fabs(d->low) > kMaxIntBound || std::fabs(d->high) > kMaxIntBound) {
        return f.Error("int bounds must lie within -2^53..2^53" + got);
      }
      if (!(d->low <= d->high)) return f.Error("int needs low <= high" + got);
      break;
    default:
      break;
  }
  return Status::Ok();
}

const std::vector<std::string> kDistributionKeys = {"uniform", "loguniform", "int", "choice"};

Result<Dimension> ParseDistribution(const YamlField& entry, Dimension d) {
  std::vector<std::string> allowed = kDistributionKeys;
  allowed.push_back("log");
  Result<std::vector<YamlField>> fields = entry.Entries(allowed);
  if (!fields.ok()) return fields.status();
  const YamlField* dist = nullptr;
  const YamlField* log = nullptr;
  for (const YamlField& f : *fields) {
    if (f.key() == "log") {
      log = &f;
    } else if (dist != nullptr) {
      return entry.ErrorAt(f.key_line(), "a dimension has one distribution, got both '" +
                                             dist->key() + "' and '" + f.key() + "'");
    } else {
      dist = &f;
    }
  }
  if (dist == nullptr) {
    return entry.Error("expected a list of values or one of {uniform: [low, high]}, "
                       "{loguniform: [low, high]}, {int: [low, high]}, {choice: [...]}");
  }
  // Errors about the distribution's arguments name the dimension
  // ("search.lr: loguniform needs ..."), at the arguments' line.
  const YamlField args = dist->WithPath(entry.path());
  const std::string& k = dist->key();
  if (k == "choice") {
    d.kind = Kind::kChoice;
    Result<std::vector<nlohmann::json>> values = ParseValues(args, "choice");
    if (!values.ok()) return values.status();
    d.values = std::move(*values);
  } else {
    d.kind = k == "uniform" ? Kind::kUniform : k == "loguniform" ? Kind::kLogUniform : Kind::kInt;
    ORCHARD_RETURN_IF_ERROR(ParseRange(args, &d));
  }
  if (log != nullptr) {
    if (d.kind != Kind::kInt) {
      return log->ErrorAt(log->key_line(), "only applies to int (use loguniform for floats)");
    }
    Result<bool> b = log->Bool();
    if (!b.ok()) return b.status();
    d.log = *b;
    if (d.log && d.low < 1) {
      return args.Error("int with log: true needs 1 <= low <= high, got " + WrittenList(args));
    }
  }
  return d;
}

}  // namespace

Result<Dimension> ParseDimension(const YamlField& entry) {
  Dimension d;
  d.name = entry.key();
  d.line = entry.key_line();
  if (!IsValidFlagName(d.name)) {
    return entry.ErrorAt(entry.key_line(),
                         "not a valid flag name (letters, digits, '_', '.', '-'; "
                         "starting with a letter or '_')");
  }
  if (entry.IsList()) {
    d.kind = Kind::kList;
    Result<std::vector<nlohmann::json>> values = ParseValues(entry, "a list");
    if (!values.ok()) return values.status();
    d.values = std::move(*values);
    return d;
  }
  if (entry.IsMap()) return ParseDistribution(entry, std::move(d));
  return entry.Error("expected a list of values or a distribution ({uniform|loguniform|int|"
                     "choice: ...}), got " + entry.Describe() +
                     (entry.IsScalar() ? " (put fixed values under flags:)" : ""));
}

Result<SearchSpace> ParseSearchSpace(const YamlField& search) {
  SearchSpace space;
  if (search.IsNull()) return space;
  Result<std::vector<YamlField>> entries = search.Entries();
  if (!entries.ok()) return entries.status();
  for (const YamlField& entry : *entries) {
    Result<Dimension> d = ParseDimension(entry);
    if (!d.ok()) return d.status();
    space.dims.push_back(std::move(*d));
  }
  return space;
}

}  // namespace orchard::flags
