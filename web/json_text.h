/// Text the server sends: JSON bodies and escaped HTML.
///
/// Every JSON body goes through DumpJson(): nlohmann::json escapes the
/// strings, invalid UTF-8 (a trainer may print anything) becomes U+FFFD
/// instead of an exception, and '<', '>' and '&' are written as \u003c,
/// \u003e, \u0026, so a body can never be read as markup even when pasted
/// into a page. Every string put into HTML goes through HtmlEscape().
/// Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace orchard::web {

std::string DumpJson(const nlohmann::json& value);

// & < > " ' as character references.
std::string HtmlEscape(std::string_view text);

}  // namespace orchard::web
