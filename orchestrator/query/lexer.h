// The filter language's tokens and the lexer that produces them.
//
// Lex() turns a filter (or a sort key) into tokens, each carrying the 1-based
// column where it starts, counted in characters (UTF-8 code points), so that
// every later error can say where it happened. Keywords (and, or, not, in,
// between, true, false, asc, desc) are plain kWord tokens: the parser decides,
// case-insensitively, where a word is a keyword.
//
// Failure: an InvalidArgument Status "at column N: ..." naming the offending
// text (an unterminated string, an unexpected character, a malformed number).
// Pure function; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "flags/status.h"

namespace orchard::query {

enum class TokenKind {
  kEnd,         // end of input; its column is one past the last character
  kWord,        // a bare word: identifier-like, may hold interior '-' (gpu-01, 3fa9c2)
  kQuotedName,  // `back-ticked name`; text is the unescaped name
  kString,      // 'single' or "double" quoted; text is the unescaped content
  kNumber,      // 12, -0.5, 1e-4, .5; number holds the value
  kDate,        // 2026-11-01, 2026-11-01T12:30, 2026-11-01 12:30:05
  kDuration,    // 90s, 30m, -3h, -7d, 2w, 1h30m; number holds signed seconds
  kOperator,    // = == != <> < <= > >= ~ !~ ; text is the operator as written
  kDot,         // '.' between the segments of a field name
  kComma,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kMinus,       // a lone '-' (sort keys: -created)
  kPlus,        // a lone '+'
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;   // as written, except strings and quoted names: unescaped
  std::string raw;    // exactly as written in the input
  double number = 0;  // kNumber, kDuration
  bool double_quoted = false;  // kString written with "..." (may name a field segment)
  int column = 1;
};

// Upper bound on the input the lexer accepts, so a hostile request cannot make
// the compiler (or SQLite) do unbounded work.
inline constexpr size_t kMaxQueryLength = 64 * 1024;

// Tokenises `text`; the result always ends with one kEnd token.
Result<std::vector<Token>> Lex(std::string_view text);

// How a token reads in an error message: 'lr', '>=', "end of input".
std::string Describe(const Token& token);

// "at column N: message", the shape of every positioned error.
Status ErrorAt(int column, const std::string& message);

}  // namespace orchard::query
