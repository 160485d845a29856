#include "orchestrator/query/lexer.h"

#include <cstdio>
#include <cstdlib>

#include "orchestrator/query/time_literal.h"

namespace orchard::query {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsWordChar(char c) { return IsAlpha(c) || IsDigit(c); }

// The length of a decimal number at the start of `s`: [sign] digits [. digits]
// [e [sign] digits], or [sign] . digits [...]. 0 when there is none.
size_t NumberLength(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    size_t j = i + 1;
    size_t frac = 0;
    while (j < s.size() && IsDigit(s[j])) ++j, ++frac;
    if (digits + frac > 0) {
      digits += frac;
      i = j;
    }
  }
  if (digits == 0) return 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
    size_t exp = 0;
    while (j < s.size() && IsDigit(s[j])) ++j, ++exp;
    if (exp > 0) i = j;
  }
  return i;
}

// The length of a bare word: word characters, with '-' allowed between them
// (gpu-node-1). `s` starts with a word character.
size_t WordLength(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (IsWordChar(s[i])) {
      ++i;
    } else if (s[i] == '-' && i > 0 && i + 1 < s.size() && IsWordChar(s[i + 1])) {
      ++i;
    } else {
      break;
    }
  }
  return i;
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Result<std::vector<Token>> Run() {
    if (text_.size() > kMaxQueryLength) {
      return Status::InvalidArgument("input is " + std::to_string(text_.size()) +
                                     " bytes long; the limit is " +
                                     std::to_string(kMaxQueryLength));
    }
    std::vector<Token> tokens;
    for (;;) {
      while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
      Token t;
      t.column = Column(pos_);
      size_t start = pos_;
      if (pos_ >= text_.size()) {
        tokens.push_back(t);
        return tokens;
      }
      Status s = Next(tokens.empty() ? nullptr : &tokens.back(), &t);
      if (!s.ok()) return s;
      t.raw = std::string(text_.substr(start, pos_ - start));
      if (t.kind != TokenKind::kString && t.kind != TokenKind::kQuotedName) t.text = t.raw;
      tokens.push_back(std::move(t));
    }
  }

 private:
  static bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  // Columns count code points: skip UTF-8 continuation bytes.
  int Column(size_t pos) {
    for (; counted_ < pos && counted_ < text_.size(); ++counted_) {
      if ((static_cast<unsigned char>(text_[counted_]) & 0xC0) != 0x80) ++column_;
    }
    return column_;
  }

  Status Next(const Token* prev, Token* t) {
    std::string_view rest = text_.substr(pos_);
    char c = rest[0];
    char c1 = rest.size() > 1 ? rest[1] : '\0';
    switch (c) {
      case '(': return Single(t, TokenKind::kLParen);
      case ')': return Single(t, TokenKind::kRParen);
      case '[': return Single(t, TokenKind::kLBracket);
      case ']': return Single(t, TokenKind::kRBracket);
      case ',': return Single(t, TokenKind::kComma);
      case '\'':
      case '"':
        t->double_quoted = c == '"';
        return Quoted(t, TokenKind::kString);
      case '`': return Quoted(t, TokenKind::kQuotedName);
      case '=': return Op(t, c1 == '=' ? 2 : 1);
      case '~': return Op(t, 1);
      case '<': return Op(t, c1 == '=' || c1 == '>' ? 2 : 1);
      case '>': return Op(t, c1 == '=' ? 2 : 1);
      case '!':
        if (c1 == '=' || c1 == '~') return Op(t, 2);
        return ErrorAt(t->column, "unexpected '!'; write 'not', '!=' or '!~'");
    }
    // A '.' continues a field name after a name; elsewhere it may start a number.
    bool after_name = prev && (prev->kind == TokenKind::kWord ||
                               prev->kind == TokenKind::kQuotedName ||
                               (prev->kind == TokenKind::kString && prev->double_quoted));
    if (c == '.' && (after_name || !IsDigit(c1))) return Single(t, TokenKind::kDot);
    if (IsDigit(c) || c == '.' || ((c == '-' || c == '+') && (IsDigit(c1) || c1 == '.'))) {
      return NumberLike(t);
    }
    if (c == '-') return Single(t, TokenKind::kMinus);
    if (c == '+') return Single(t, TokenKind::kPlus);
    if (IsAlpha(c)) {
      t->kind = TokenKind::kWord;
      pos_ += WordLength(rest);
      return Status::Ok();
    }
    char shown[16];
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      std::snprintf(shown, sizeof shown, "'%c'", c);
    } else {
      std::snprintf(shown, sizeof shown, "byte 0x%02x", u);
    }
    return ErrorAt(t->column, std::string("unexpected character ") + shown);
  }

  Status Single(Token* t, TokenKind kind) {
    t->kind = kind;
    ++pos_;
    return Status::Ok();
  }

  Status Op(Token* t, size_t n) {
    t->kind = TokenKind::kOperator;
    pos_ += n;
    return Status::Ok();
  }

  // Dates, durations, numbers, and words that start with a digit (run ids).
  Status NumberLike(Token* t) {
    std::string_view rest = text_.substr(pos_);
    auto ends_here = [&](size_t n) { return n == rest.size() || !IsWordChar(rest[n]); };
    bool sign = rest[0] == '-' || rest[0] == '+';
    if (size_t n = DateTimeLength(rest); n > 0 && ends_here(n)) {
      t->kind = TokenKind::kDate;
      pos_ += n;
      return Status::Ok();
    }
    double seconds = 0;
    if (size_t n = DurationLength(rest, &seconds); n > 0 && ends_here(n)) {
      t->kind = TokenKind::kDuration;
      t->number = seconds;
      pos_ += n;
      return Status::Ok();
    }
    if (size_t n = NumberLength(rest); n > 0 && ends_here(n)) {
      t->kind = TokenKind::kNumber;
      t->number = std::strtod(std::string(rest.substr(0, n)).c_str(), nullptr);
      pos_ += n;
      return Status::Ok();
    }
    if (!sign && IsDigit(rest[0])) {
      t->kind = TokenKind::kWord;
      pos_ += WordLength(rest);
      return Status::Ok();
    }
    size_t n = sign ? 1 + WordLength(rest.substr(1)) : 1;
    if (n == 1) n = NumberLength(rest) + 1;
    return ErrorAt(t->column, "malformed number '" + std::string(rest.substr(0, n)) + "'");
  }

  Status Quoted(Token* t, TokenKind kind) {
    t->kind = kind;
    char quote = text_[pos_];
    size_t i = pos_ + 1;
    std::string out;
    while (i < text_.size() && text_[i] != quote) {
      char c = text_[i];
      if (c == '\\' && i + 1 < text_.size()) {
        char e = text_[i + 1];
        switch (e) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case '\\':
          case '\'':
          case '"':
          case '`': out += e; break;
          default:  // unknown escapes stay as written: 'C:\data' means what it says
            out += '\\';
            out += e;
        }
        i += 2;
        continue;
      }
      out += c;
      ++i;
    }
    if (i >= text_.size()) {
      const char* what = kind == TokenKind::kQuotedName ? "name" : "string";
      return ErrorAt(t->column, std::string("unterminated ") + what + " starting with " +
                                    quote + "; close it with " + quote);
    }
    pos_ = i + 1;
    t->text = std::move(out);
    return Status::Ok();
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t counted_ = 0;
  int column_ = 1;
};

}  // namespace

Result<std::vector<Token>> Lex(std::string_view text) { return Lexer(text).Run(); }

std::string Describe(const Token& token) {
  if (token.kind == TokenKind::kEnd) return "end of input";
  constexpr size_t kShown = 40;
  std::string raw = token.raw.size() > kShown ? token.raw.substr(0, kShown) + "..." : token.raw;
  return "'" + raw + "'";
}

Status ErrorAt(int column, const std::string& message) {
  return Status::InvalidArgument("at column " + std::to_string(column) + ": " + message);
}

}  // namespace orchard::query
