#include "orchestrator/util/unified_diff.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace orchard {
namespace {

// Splits into lines that keep their '\n' (the last may lack one).
std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

// Finds which lines of A are deleted and which of B are inserted, by Myers'
// linear-space refinement: find the middle snake, recurse on both halves.
// Lines are compared as interned integer ids. Recursion depth is O(log D).
class Differ {
 public:
  Differ(const std::vector<int>& a, const std::vector<int>& b, uint64_t max_cost)
      : a_(a), b_(b), deleted_(a.size(), false), inserted_(b.size(), false), budget_(max_cost) {}

  // False when the work budget ran out.
  bool Run() {
    Compare(0, static_cast<int>(a_.size()), 0, static_cast<int>(b_.size()));
    return !over_budget_;
  }
  const std::vector<bool>& deleted() const { return deleted_; }
  const std::vector<bool>& inserted() const { return inserted_; }

 private:
  void Compare(int a_lo, int a_hi, int b_lo, int b_hi) {
    if (over_budget_) return;
    while (a_lo < a_hi && b_lo < b_hi && a_[a_lo] == b_[b_lo]) ++a_lo, ++b_lo;
    while (a_lo < a_hi && b_lo < b_hi && a_[a_hi - 1] == b_[b_hi - 1]) --a_hi, --b_hi;
    if (a_lo == a_hi) {
      std::fill(inserted_.begin() + b_lo, inserted_.begin() + b_hi, true);
      return;
    }
    if (b_lo == b_hi) {
      std::fill(deleted_.begin() + a_lo, deleted_.begin() + a_hi, true);
      return;
    }
    int x, y;
    const bool split = MiddleSnake(a_lo, a_hi, b_lo, b_hi, &x, &y);
    // A split at either corner would recurse on the same problem forever.
    if (!split || (x == 0 && y == 0) || (x == a_hi - a_lo && y == b_hi - b_lo)) {
      std::fill(deleted_.begin() + a_lo, deleted_.begin() + a_hi, true);
      std::fill(inserted_.begin() + b_lo, inserted_.begin() + b_hi, true);
      return;
    }
    Compare(a_lo, a_lo + x, b_lo, b_lo + y);
    Compare(a_lo + x, a_hi, b_lo + y, b_hi);
  }

  bool Spend(uint64_t cost) {
    if (cost > budget_) {
      over_budget_ = true;
      budget_ = 0;
      return false;
    }
    budget_ -= cost;
    return true;
  }

  // Searches forward from the start and backward from the end at once; where
  // the paths overlap is a point (x, y) on some shortest edit script, relative
  // to (a_lo, b_lo). False when the halves share nothing or the budget ran out.
  bool MiddleSnake(int a_lo, int a_hi, int b_lo, int b_hi, int* split_x, int* split_y) {
    const int n = a_hi - a_lo, m = b_hi - b_lo;
    const int max_d = (n + m + 1) / 2;
    const int offset = max_d + 1;
    const int v_len = 2 * max_d + 3;
    std::vector<int> v1(v_len, -1), v2(v_len, -1);
    v1[offset + 1] = 0;
    v2[offset + 1] = 0;
    const int delta = n - m;
    const bool front = (delta % 2) != 0;
    const int* a = a_.data() + a_lo;
    const int* b = b_.data() + b_lo;
    int k1start = 0, k1end = 0, k2start = 0, k2end = 0;
    for (int d = 0; d < max_d; ++d) {
      if (!Spend(2 * static_cast<uint64_t>(d) + 2)) return false;
      for (int k1 = -d + k1start; k1 <= d - k1end; k1 += 2) {
        const int k1_off = offset + k1;
        int x1 = (k1 == -d || (k1 != d && v1[k1_off - 1] < v1[k1_off + 1])) ? v1[k1_off + 1]
                                                                           : v1[k1_off - 1] + 1;
        int y1 = x1 - k1;
        const int x_start = x1;
        while (x1 < n && y1 < m && a[x1] == b[y1]) ++x1, ++y1;
        if (!Spend(x1 - x_start)) return false;
        v1[k1_off] = x1;
        if (x1 > n) {
          k1end += 2;
        } else if (y1 > m) {
          k1start += 2;
        } else if (front) {
          const int k2_off = offset + delta - k1;
          if (k2_off >= 0 && k2_off < v_len && v2[k2_off] != -1 && x1 >= n - v2[k2_off]) {
            *split_x = x1;
            *split_y = y1;
            return true;
          }
        }
      }
      for (int k2 = -d + k2start; k2 <= d - k2end; k2 += 2) {
        const int k2_off = offset + k2;
        int x2 = (k2 == -d || (k2 != d && v2[k2_off - 1] < v2[k2_off + 1])) ? v2[k2_off + 1]
                                                                           : v2[k2_off - 1] + 1;
        int y2 = x2 - k2;
        const int x_start = x2;
        while (x2 < n && y2 < m && a[n - x2 - 1] == b[m - y2 - 1]) ++x2, ++y2;
        if (!Spend(x2 - x_start)) return false;
        v2[k2_off] = x2;
        if (x2 > n) {
          k2end += 2;
        } else if (y2 > m) {
          k2start += 2;
        } else if (!front) {
          const int k1_off = offset + delta - k2;
          if (k1_off >= 0 && k1_off < v_len && v1[k1_off] != -1) {
            const int x1 = v1[k1_off];
            const int y1 = x1 - (k1_off - offset);
            if (x1 >= n - x2) {
              *split_x = x1;
              *split_y = y1;
              return true;
            }
          }
        }
      }
    }
    return false;
  }

  const std::vector<int>& a_;
  const std::vector<int>& b_;
  std::vector<bool> deleted_, inserted_;
  uint64_t budget_;
  bool over_budget_ = false;
};

void AppendLine(char prefix, std::string_view line, std::string* out) {
  out->push_back(prefix);
  if (!line.empty() && line.back() == '\n') {
    out->append(line);
  } else {
    out->append(line);
    out->append("\n\\ No newline at end of file\n");
  }
}

void AppendRange(int start, int count, std::string* out) {
  // GNU/git convention: an empty range names the line before it; ",1" is
  // left out.
  out->append(std::to_string(count == 0 ? start : start + 1));
  if (count != 1) out->append("," + std::to_string(count));
}

}  // namespace

bool LooksBinary(std::string_view content) {
  return content.substr(0, 8192).find('\0') != std::string_view::npos;
}

DiffOutcome UnifiedDiff(std::string_view old_text, std::string_view new_text,
                        std::string_view old_label, std::string_view new_label,
                        const DiffOptions& options, std::string* out) {
  if (old_text == new_text) return DiffOutcome::kEqual;
  if (old_text.size() > options.max_bytes || new_text.size() > options.max_bytes) {
    return DiffOutcome::kTooLarge;
  }
  const std::vector<std::string_view> a_lines = SplitLines(old_text);
  const std::vector<std::string_view> b_lines = SplitLines(new_text);
  if (a_lines.size() > options.max_lines || b_lines.size() > options.max_lines) {
    return DiffOutcome::kTooLarge;
  }
  std::unordered_map<std::string_view, int> ids;
  ids.reserve(a_lines.size() + b_lines.size());
  auto intern = [&ids](const std::vector<std::string_view>& lines) {
    std::vector<int> out;
    out.reserve(lines.size());
    for (std::string_view l : lines) out.push_back(ids.emplace(l, ids.size()).first->second);
    return out;
  };
  const std::vector<int> a = intern(a_lines), b = intern(b_lines);
  Differ differ(a, b, options.max_cost);
  if (!differ.Run()) return DiffOutcome::kTooLarge;
  const std::vector<bool>& del = differ.deleted();
  const std::vector<bool>& ins = differ.inserted();

  // The script as (old index, new index) steps; a change block lists its
  // deletions before its insertions.
  struct Op {
    char kind;  // ' ', '-', '+'
    int i, j;   // positions in old and new before this op
  };
  std::vector<Op> ops;
  ops.reserve(a.size() + b.size());
  for (int i = 0, j = 0, n = a.size(), m = b.size(); i < n || j < m;) {
    if (i < n && del[i]) {
      ops.push_back({'-', i++, j});
    } else if (j < m && ins[j]) {
      ops.push_back({'+', i, j++});
    } else {
      ops.push_back({' ', i++, j++});
    }
  }

  out->append("--- ").append(old_label).append("\n");
  out->append("+++ ").append(new_label).append("\n");
  const int context = std::max(0, options.context);
  const int n_ops = ops.size();
  int next = 0;
  while (next < n_ops) {
    int first_change = next;
    while (first_change < n_ops && ops[first_change].kind == ' ') ++first_change;
    if (first_change == n_ops) break;
    // Extend the hunk while the gap to the next change is within 2*context.
    int end = first_change;  // one past the last change in the hunk
    while (true) {
      while (end < n_ops && ops[end].kind != ' ') ++end;
      int gap = end;
      while (gap < n_ops && ops[gap].kind == ' ') ++gap;
      if (gap < n_ops && gap - end <= 2 * context) {
        end = gap;
        continue;
      }
      break;
    }
    const int lo = std::max(next, first_change - context);
    const int hi = std::min(n_ops, end + context);
    int old_count = 0, new_count = 0;
    for (int k = lo; k < hi; ++k) {
      if (ops[k].kind != '+') ++old_count;
      if (ops[k].kind != '-') ++new_count;
    }
    out->append("@@ -");
    AppendRange(ops[lo].i, old_count, out);
    out->append(" +");
    AppendRange(ops[lo].j, new_count, out);
    out->append(" @@\n");
    for (int k = lo; k < hi; ++k) {
      const Op& op = ops[k];
      AppendLine(op.kind, op.kind == '+' ? b_lines[op.j] : a_lines[op.i], out);
    }
    next = hi;
  }
  return DiffOutcome::kDiffered;
}

std::string UnifiedDiff(std::string_view old_text, std::string_view new_text,
                        std::string_view old_label, std::string_view new_label,
                        const DiffOptions& options) {
  std::string out;
  if (UnifiedDiff(old_text, new_text, old_label, new_label, options, &out) ==
      DiffOutcome::kTooLarge) {
    out = "Files " + std::string(old_label) + " and " + std::string(new_label) +
          " differ (too large to diff)\n";
  }
  return out;
}

std::string DiffFileMaps(const std::map<std::string, std::string>& old_files,
                         const std::map<std::string, std::string>& new_files,
                         const DiffOptions& options) {
  static const std::string kEmpty;
  std::string out;
  auto old_it = old_files.begin();
  auto new_it = new_files.begin();
  while (old_it != old_files.end() || new_it != new_files.end()) {
    const bool has_old = old_it != old_files.end() &&
                         (new_it == new_files.end() || old_it->first <= new_it->first);
    const bool has_new = new_it != new_files.end() &&
                         (old_it == old_files.end() || new_it->first <= old_it->first);
    const std::string& path = has_old ? old_it->first : new_it->first;
    const std::string& old_text = has_old ? old_it->second : kEmpty;
    const std::string& new_text = has_new ? new_it->second : kEmpty;
    if (has_old) ++old_it;
    if (has_new) ++new_it;
    if (has_old && has_new && old_text == new_text) continue;

    const std::string a = "a/" + path, b = "b/" + path;
    out += "diff --git " + a + " " + b + "\n";
    if (!has_old) out += "new file\n";
    if (!has_new) out += "deleted file\n";
    const std::string old_label = has_old ? a : "/dev/null";
    const std::string new_label = has_new ? b : "/dev/null";
    if (LooksBinary(old_text) || LooksBinary(new_text)) {
      out += "Binary files " + old_label + " and " + new_label + " differ\n";
      continue;
    }
    if (UnifiedDiff(old_text, new_text, old_label, new_label, options, &out) ==
        DiffOutcome::kTooLarge) {
      out += "Files " + old_label + " and " + new_label + " differ (too large to diff)\n";
    }
  }
  return out;
}

}  // namespace orchard
