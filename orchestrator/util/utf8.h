// Making arbitrary bytes safe to store and show as text.
#pragma once

#include <string>
#include <string_view>

namespace orchard {

// Returns `bytes` as valid UTF-8: each byte of an invalid or truncated
// sequence and each NUL becomes U+FFFD; everything else is kept as is.
// A trainer printing binary garbage thus loses nothing readable and cannot
// break JSON output or C-string consumers downstream.
std::string SanitizeUtf8(std::string_view bytes);

}  // namespace orchard
