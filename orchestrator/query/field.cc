#include "orchestrator/query/field.h"

#include <cctype>

#include "orchestrator/query/lexer.h"

namespace orchard::query {

namespace {

struct BuiltinName {
  const char* name;
  Builtin builtin;
};

constexpr BuiltinName kBuiltins[] = {
    {"id", Builtin::kId},           {"name", Builtin::kName},
    {"status", Builtin::kStatus},   {"exit_code", Builtin::kExitCode},
    {"tag", Builtin::kTag},         {"tags", Builtin::kTag},
    {"tune", Builtin::kTune},       {"created", Builtin::kCreated},
    {"started", Builtin::kStarted}, {"finished", Builtin::kFinished},
    {"duration", Builtin::kDuration}, {"host", Builtin::kHost},
    {"notes", Builtin::kNotes},
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool IsPrefix(const FieldSegment& s, const char* a, const char* b) {
  return !s.quoted && (EqualsIgnoreCase(s.text, a) || EqualsIgnoreCase(s.text, b));
}

std::string Join(const std::vector<FieldSegment>& segs, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to; ++i) {
    if (i > from) out += '.';
    out += segs[i].text;
  }
  return out;
}

std::string Written(const std::vector<FieldSegment>& segs) {
  std::string out;
  for (size_t i = 0; i < segs.size(); ++i) {
    if (i > 0) out += '.';
    out += segs[i].quoted ? "`" + segs[i].text + "`" : segs[i].text;
  }
  return out;
}

bool ParseStat(const FieldSegment& s, MetricStat* stat) {
  if (s.quoted) return false;
  for (MetricStat v : {MetricStat::kLast, MetricStat::kMin, MetricStat::kMax, MetricStat::kCount}) {
    if (EqualsIgnoreCase(s.text, ToString(v))) {
      *stat = v;
      return true;
    }
  }
  return false;
}

}  // namespace

Builtin LookupBuiltin(std::string_view name) {
  for (const BuiltinName& b : kBuiltins) {
    if (EqualsIgnoreCase(name, b.name)) return b.builtin;
  }
  return Builtin::kNone;
}

std::string BuiltinList() {
  std::string out;
  for (const BuiltinName& b : kBuiltins) {
    if (!out.empty()) out += ", ";
    out += b.name;
  }
  return out;
}

Result<FieldRef> ResolveField(const std::vector<FieldSegment>& segs) {
  FieldRef f;
  f.column = segs.front().column;
  f.written = Written(segs);
  const FieldSegment& head = segs.front();
  bool is_flags = IsPrefix(head, "flags", "flag");
  bool is_metrics = IsPrefix(head, "metrics", "metric");
  if (is_flags || is_metrics) {
    if (segs.size() < 2) {
      return ErrorAt(head.column, "'" + head.text + "' needs a name: write " +
                                      (is_flags ? "flags.NAME" : "metrics.NAME") +
                                      " (quote a field that is really called '" + head.text +
                                      "': `" + head.text + "`)");
    }
    if (is_flags) {
      f.kind = FieldRef::Kind::kFlag;
      f.name = Join(segs, 1, segs.size());
      return f;
    }
    f.kind = FieldRef::Kind::kMetric;
    size_t end = segs.size();
    // The trailing .last/.min/.max/.count selects a statistic, but only when
    // something is left for the name: metrics.max is the metric "max".
    if (segs.size() >= 3 && ParseStat(segs.back(), &f.stat)) end = segs.size() - 1;
    f.name = Join(segs, 1, end);
    return f;
  }
  if (segs.size() == 1) {
    if (!head.quoted) {
      f.builtin = LookupBuiltin(head.text);
      if (f.builtin != Builtin::kNone) {
        f.kind = FieldRef::Kind::kBuiltin;
        return f;
      }
    }
    f.kind = FieldRef::Kind::kBare;
    f.name = head.text;
    return f;
  }
  if (!head.quoted && LookupBuiltin(head.text) != Builtin::kNone) {
    return ErrorAt(segs[1].column, "the built-in field '" + head.text + "' has no parts; '" +
                                       f.written + "' is not a field");
  }
  return ErrorAt(head.column, "unknown field '" + f.written + "': write flags." +
                                  Join(segs, 0, segs.size()) + " or metrics." +
                                  Join(segs, 0, segs.size()) + ", or quote a dotted name: `" +
                                  Join(segs, 0, segs.size()) + "`");
}

}  // namespace orchard::query
