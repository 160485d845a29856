#include "orchestrator/capture/ignore_rules.h"

#include <fnmatch.h>

namespace orchard::capture {
namespace {

std::vector<std::string_view> Segments(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash == std::string_view::npos ? std::string_view::npos
                                                                   : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

}  // namespace

// Segment by segment: a "**" segment spans zero or more path segments, any
// other segment is an fnmatch(3) pattern for exactly one. A table over
// (pattern segment, path segment) keeps it polynomial and recursion-free.
bool GlobMatch(std::string_view pattern, std::string_view text) {
  const std::vector<std::string_view> p = Segments(pattern), t = Segments(text);
  const size_t np = p.size(), nt = t.size();
  // ok[i][j]: p[i..] matches t[j..].
  std::vector<std::vector<char>> ok(np + 1, std::vector<char>(nt + 1, 0));
  ok[np][nt] = 1;
  std::string pat, seg;
  for (size_t i = np; i-- > 0;) {
    if (p[i] == "**") {
      for (size_t j = nt + 1; j-- > 0;) ok[i][j] = ok[i + 1][j] || (j < nt && ok[i][j + 1]);
      continue;
    }
    pat.assign(p[i]);
    for (size_t j = nt; j-- > 0;) {
      if (!ok[i + 1][j + 1]) continue;
      seg.assign(t[j]);
      ok[i][j] = ::fnmatch(pat.c_str(), seg.c_str(), 0) == 0;
    }
  }
  return ok[0][0];
}

IgnoreRules::IgnoreRules(std::string_view text) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    if (line.empty() || line[0] == '#') continue;
    Rule rule;
    if (line[0] == '!') {
      rule.negate = true;
      line.remove_prefix(1);
    } else if (line[0] == '\\' && line.size() > 1 && (line[1] == '#' || line[1] == '!')) {
      line.remove_prefix(1);
    }
    if (!line.empty() && line.back() == '/') {
      rule.dir_only = true;
      line.remove_suffix(1);
    }
    if (!line.empty() && line[0] == '/') {
      rule.anchored = true;
      line.remove_prefix(1);
    }
    if (line.find('/') != std::string_view::npos) rule.anchored = true;
    if (line.empty()) continue;
    rule.pattern = std::string(line);
    rules_.push_back(std::move(rule));
  }
}

bool IgnoreRules::MatchesSelf(std::string_view path, bool is_dir) const {
  bool ignored = false;
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  for (const Rule& rule : rules_) {
    if (rule.dir_only && !is_dir) continue;
    if (ignored == !rule.negate) continue;  // cannot change the outcome
    if (GlobMatch(rule.pattern, rule.anchored ? path : name)) ignored = !rule.negate;
  }
  return ignored;
}

bool IgnoreRules::IsIgnored(std::string_view path, bool is_dir) const {
  if (rules_.empty()) return false;
  for (size_t slash = path.find('/'); slash != std::string_view::npos;
       slash = path.find('/', slash + 1)) {
    if (MatchesSelf(path.substr(0, slash), true)) return true;
  }
  return MatchesSelf(path, is_dir);
}

}  // namespace orchard::capture
