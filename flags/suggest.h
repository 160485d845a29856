// "Did you mean ...?" for mistyped names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace orchard::flags {

// Edit distance: insertions, deletions, substitutions and swaps of two
// neighbouring characters, each cost 1 (optimal string alignment).
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate `word` was most likely meant to be, or "" when none is
// close. A candidate is close when, comparing case-insensitively with '-'
// and '_' treated alike, it is within a small edit distance (1 for words of
// up to 4 characters, 2 up to 8, else 3), or one is the initials of the
// other's words ("learning_rate" and "lr"). The smallest distance wins;
// ties go to the earlier candidate. Pure; thread-safe.
std::string SuggestClosest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace orchard::flags
