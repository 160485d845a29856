// gitignore-style path rules for .orchardignore.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace orchard::capture {

/// IgnoreRules holds the lines of a .orchardignore file and answers whether a
/// path relative to the root is ignored. The subset of gitignore it follows:
/// blank lines and `#` comments are skipped; a trailing `/` matches only
/// directories; a leading `!` re-includes; a pattern with a `/` (other than a
/// trailing one) is anchored at the root, one without matches the name at any
/// depth; `*` and `?` do not cross `/`; `[...]` classes; `**` spans
/// directories (`**/x`, `x/**`, `a/**/b`). The last matching rule wins, and
/// nothing inside an ignored directory can be re-included. Immutable after
/// construction; thread-safe to query.
class IgnoreRules {
 public:
  IgnoreRules() = default;
  // Parses the text of an ignore file.
  explicit IgnoreRules(std::string_view text);

  // True when `path` ('/'-separated, relative to the root) is ignored, by a
  // rule on it or on one of its parent directories.
  bool IsIgnored(std::string_view path, bool is_dir) const;

  // Only the rules for `path` itself, not its parents (for a walk that
  // already checked the parents).
  bool MatchesSelf(std::string_view path, bool is_dir) const;

  bool empty() const { return rules_.empty(); }

 private:
  struct Rule {
    std::string pattern;
    bool negate = false;
    bool dir_only = false;
    bool anchored = false;
  };
  std::vector<Rule> rules_;
};

// Glob match of a whole '/'-separated path: `*`, `?` and `[...]` stay
// within one segment; a `**` segment spans any number of segments.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace orchard::capture
