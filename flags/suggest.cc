#include "flags/suggest.h"

#include <algorithm>
#include <limits>

namespace orchard::flags {
namespace {

// Lower case, with '-' folded into '_': "Batch-Size" -> "batch_size".
std::string Normalize(std::string_view word) {
  std::string out(word);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '-') c = '_';
  }
  return out;
}

// First letter of each '_'/'.'-separated word: "learning_rate" -> "lr".
// Empty for a single word, whose initial alone would match too much.
std::string Initials(std::string_view normalized) {
  std::string out;
  bool at_start = true;
  size_t words = 0;
  for (char c : normalized) {
    if (c == '_' || c == '.') {
      at_start = true;
    } else if (at_start) {
      out += c;
      at_start = false;
      ++words;
    }
  }
  return words > 1 ? out : "";
}

size_t MaxDistance(size_t length) {
  if (length <= 4) return 1;
  if (length <= 8) return 2;
  return 3;
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment: a swap of two neighbours ("rnu" for "run"),
  // the commonest typo, costs 1 like the other edits.
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({prev[j] + 1, row[j - 1] + 1, substitute});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        row[j] = std::min(row[j], prev2[j - 2] + 1);
      }
    }
    std::swap(prev2, prev);
    std::swap(prev, row);
  }
  return prev[b.size()];
}

std::string SuggestClosest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string w = Normalize(word);
  std::string w_initials = Initials(w);
  size_t best = std::numeric_limits<size_t>::max();
  std::string best_name;
  for (const std::string& candidate : candidates) {
    std::string c = Normalize(candidate);
    size_t d = EditDistance(w, c);
    if (d > MaxDistance(w.size())) {
      bool initials = (!w_initials.empty() && w_initials == c) || (Initials(c) == w && !w.empty());
      if (!initials) continue;
      d = MaxDistance(w.size());  // as good as the weakest edit-distance match
    }
    if (d < best) {
      best = d;
      best_name = candidate;
    }
  }
  return best_name;
}

}  // namespace orchard::flags
