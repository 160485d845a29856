#include "orchestrator/query/parser.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include "orchestrator/query/field.h"
#include "orchestrator/query/lexer.h"

namespace orchard::query {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Words that structure the grammar and so cannot be bare values or names.
bool IsReserved(const std::string& lower) {
  return lower == "and" || lower == "or" || lower == "not" || lower == "in" ||
         lower == "between";
}

constexpr const char* kOperatorList = "=, !=, <, <=, >, >=, ~, !~, in, not in or between";

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<Expr> Filter() {
    if (Peek().kind == TokenKind::kEnd) {
      Expr always;
      always.kind = Expr::Kind::kAnd;
      return always;
    }
    Expr e;
    ORCHARD_RETURN_IF_ERROR(Or(&e));
    if (Peek().kind != TokenKind::kEnd) {
      const Token& t = Peek();
      std::string hint = t.kind == TokenKind::kRParen ? " (unbalanced ')')" : "";
      return ErrorAt(t.column, "expected 'and', 'or' or end of input, got " + Describe(t) + hint);
    }
    return e;
  }

  Result<std::vector<SortKey>> SortKeys() {
    std::vector<SortKey> keys;
    for (;;) {
      SortKey key;
      bool signed_key = false;
      if (Peek().kind == TokenKind::kMinus || Peek().kind == TokenKind::kPlus) {
        key.descending = Next().kind == TokenKind::kMinus;
        signed_key = true;
      }
      ORCHARD_RETURN_IF_ERROR(Field(&key.field));
      if (Peek().kind == TokenKind::kWord) {
        std::string w = Lower(Peek().text);
        if (w == "asc" || w == "desc") {
          if (signed_key) {
            return ErrorAt(Peek().column, "give the direction once: a leading '-' or '" + w +
                                              "', not both");
          }
          key.descending = w == "desc";
          Next();
        }
      }
      keys.push_back(std::move(key));
      if (Peek().kind == TokenKind::kEnd) return keys;
      if (Peek().kind != TokenKind::kComma) {
        return ErrorAt(Peek().column,
                       "expected 'asc', 'desc', ',' or end of input, got " + Describe(Peek()));
      }
      Next();
    }
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }
  const Token& Next() {
    const Token& t = Peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  bool PeekKeyword(const char* kw, size_t ahead = 0) const {
    const Token& t = Peek(ahead);
    return t.kind == TokenKind::kWord && Lower(t.text) == kw;
  }

  // and/or chains are gathered into one n-ary node iteratively, so a long
  // flat "a or b or c ..." costs no stack depth.
  Status Chain(Expr* out, Expr::Kind kind, const char* keyword) {
    Expr first;
    int column = Peek().column;
    ORCHARD_RETURN_IF_ERROR(kind == Expr::Kind::kOr ? Chain(&first, Expr::Kind::kAnd, "and")
                                                    : Unary(&first));
    if (!PeekKeyword(keyword)) {
      *out = std::move(first);
      return Status::Ok();
    }
    out->kind = kind;
    out->column = column;
    out->children.push_back(std::move(first));
    while (PeekKeyword(keyword)) {
      Next();
      Expr next;
      ORCHARD_RETURN_IF_ERROR(kind == Expr::Kind::kOr ? Chain(&next, Expr::Kind::kAnd, "and")
                                                      : Unary(&next));
      out->children.push_back(std::move(next));
    }
    return Status::Ok();
  }

  Status Or(Expr* out) { return Chain(out, Expr::Kind::kOr, "or"); }

  Status Unary(Expr* out) {
    if (depth_ > kMaxNesting) {
      return ErrorAt(Peek().column, "nested more than " + std::to_string(kMaxNesting) +
                                        " levels deep (parentheses and 'not')");
    }
    ++depth_;
    Status s = UnaryBody(out);
    --depth_;
    return s;
  }

  Status UnaryBody(Expr* out) {
    const Token& t = Peek();
    if (PeekKeyword("not")) {
      Next();
      out->kind = Expr::Kind::kNot;
      out->column = t.column;
      out->children.emplace_back();
      return Unary(&out->children.back());
    }
    if (t.kind == TokenKind::kLParen) {
      int open = t.column;
      Next();
      if (Peek().kind == TokenKind::kRParen) {
        return ErrorAt(Peek().column, "empty parentheses; expected a condition");
      }
      ORCHARD_RETURN_IF_ERROR(Or(out));
      if (Peek().kind != TokenKind::kRParen) {
        return ErrorAt(Peek().column, "expected ')' to close the '(' at column " +
                                          std::to_string(open) + ", got " + Describe(Peek()));
      }
      Next();
      return Status::Ok();
    }
    return Predicate(out);
  }

  Status Field(FieldRef* out) {
    const Token& t = Peek();
    // A double-quoted string where a field belongs can only be a name.
    bool quoted = t.kind == TokenKind::kQuotedName ||
                  (t.kind == TokenKind::kString && t.double_quoted);
    bool name = quoted || (t.kind == TokenKind::kWord && !IsReserved(Lower(t.text)));
    if (!name) {
      std::string got = Describe(t);
      if (t.kind == TokenKind::kWord) got = "keyword " + got;
      std::string hint;
      if (t.kind == TokenKind::kNumber || t.kind == TokenKind::kDate ||
          t.kind == TokenKind::kDuration) {
        hint = "; put the field first, e.g. metrics.val_acc > 0.8";
      } else if (t.kind == TokenKind::kString) {
        hint = "; quote a name with `backticks` or \"double quotes\" ('single' ones make a value)";
      }
      return ErrorAt(t.column, "expected a field name, got " + got + hint);
    }
    std::vector<FieldSegment> segs;
    segs.push_back({t.text, quoted, t.column});
    Next();
    while (Peek().kind == TokenKind::kDot) {
      Next();
      const Token& s = Peek();
      switch (s.kind) {
        case TokenKind::kWord:
        case TokenKind::kNumber:
        case TokenKind::kDuration:
          segs.push_back({s.text, false, s.column});
          break;
        case TokenKind::kQuotedName:
        case TokenKind::kString:
          segs.push_back({s.text, true, s.column});
          break;
        default:
          return ErrorAt(s.column, "expected a name after '.', got " + Describe(s));
      }
      Next();
    }
    Result<FieldRef> f = ResolveField(segs);
    if (!f.ok()) return f.status();
    *out = std::move(f).value();
    return Status::Ok();
  }

  Status Predicate(Expr* out) {
    out->column = Peek().column;
    ORCHARD_RETURN_IF_ERROR(Field(&out->field));
    const Token& t = Peek();
    if (t.kind == TokenKind::kOperator) {
      out->kind = Expr::Kind::kCompare;
      out->op = ParseOp(t.text);
      std::string after = "'" + t.text + "'";
      Next();
      out->values.emplace_back();
      return Value(after, &out->values.back());
    }
    if (PeekKeyword("not") && (PeekKeyword("in", 1) || PeekKeyword("between", 1))) {
      out->negated = true;
      Next();
    }
    if (PeekKeyword("in")) {
      Next();
      return InOperand(out);
    }
    if (PeekKeyword("between")) {
      Next();
      out->kind = Expr::Kind::kRange;
      out->values.resize(2);
      ORCHARD_RETURN_IF_ERROR(Value("'between'", &out->values[0]));
      if (!PeekKeyword("and")) {
        return ErrorAt(Peek().column, "expected 'and' in 'between A and B', got " +
                                          Describe(Peek()));
      }
      Next();
      return Value("'and'", &out->values[1]);
    }
    std::string got = Describe(t);
    if (t.kind == TokenKind::kWord && Lower(t.text) == "not") {
      got += " (only 'not in' and 'not between' may follow a field)";
    } else if (t.kind == TokenKind::kDot) {
      got += " (quote names with odd characters: `a-b`)";
    }
    return ErrorAt(t.column, "expected an operator (" + std::string(kOperatorList) +
                                 ") after '" + out->field.written + "', got " + got);
  }

  static CompareOp ParseOp(const std::string& op) {
    if (op == "!=" || op == "<>") return CompareOp::kNe;
    if (op == "<") return CompareOp::kLt;
    if (op == "<=") return CompareOp::kLe;
    if (op == ">") return CompareOp::kGt;
    if (op == ">=") return CompareOp::kGe;
    if (op == "~") return CompareOp::kGlob;
    if (op == "!~") return CompareOp::kNotGlob;
    return CompareOp::kEq;  // = and ==
  }

  // After 'in': a list (a, b, ...) or a range [a, b], [a, b), (a, b].
  Status InOperand(Expr* out) {
    const Token& open = Peek();
    if (open.kind != TokenKind::kLParen && open.kind != TokenKind::kLBracket) {
      return ErrorAt(open.column, "expected '(' (a list) or '[' (a range) after 'in', got " +
                                      Describe(open));
    }
    bool bracket = open.kind == TokenKind::kLBracket;
    int open_column = open.column;
    Next();
    if (Peek().kind == TokenKind::kRParen || Peek().kind == TokenKind::kRBracket) {
      return ErrorAt(Peek().column, "empty list after 'in'; give at least one value");
    }
    for (;;) {
      out->values.emplace_back();
      ORCHARD_RETURN_IF_ERROR(Value(out->values.size() == 1 ? "'in'" : "','",
                                    &out->values.back()));
      const Token& t = Peek();
      if (t.kind == TokenKind::kComma) {
        Next();
        continue;
      }
      if (t.kind == TokenKind::kRParen || t.kind == TokenKind::kRBracket) {
        bool close_bracket = t.kind == TokenKind::kRBracket;
        Next();
        if (!bracket && !close_bracket) {
          out->kind = Expr::Kind::kIn;
          return Status::Ok();
        }
        if (out->values.size() != 2) {
          return ErrorAt(open_column, "a range has exactly two bounds, like [0.1, 0.5]; got " +
                                          std::to_string(out->values.size()) +
                                          " (use '(' ... ')' for a list)");
        }
        out->kind = Expr::Kind::kRange;
        out->low_open = !bracket;
        out->high_open = !close_bracket;
        return Status::Ok();
      }
      return ErrorAt(t.column, std::string("expected ',' or ") + (bracket ? "']' or ')'" : "')'") +
                                   " after a value, got " + Describe(t));
    }
  }

  Status Value(const std::string& after, Literal* out) {
    const Token& t = Peek();
    out->column = t.column;
    out->text = t.text;
    out->number = t.number;
    switch (t.kind) {
      case TokenKind::kNumber: out->kind = Literal::Kind::kNumber; break;
      case TokenKind::kString: out->kind = Literal::Kind::kString; break;
      case TokenKind::kDate: out->kind = Literal::Kind::kDate; break;
      case TokenKind::kDuration: out->kind = Literal::Kind::kDuration; break;
      case TokenKind::kWord: {
        std::string lower = Lower(t.text);
        if (IsReserved(lower)) {
          return ErrorAt(t.column, "expected a value after " + after + ", got keyword " +
                                       Describe(t) + " (quote it to mean the word: '" +
                                       t.text + "')");
        }
        if (lower == "true" || lower == "false") {
          out->kind = Literal::Kind::kBool;
          out->text = lower;
        } else {
          out->kind = Literal::Kind::kWord;
        }
        break;
      }
      default:
        return ErrorAt(t.column, "expected a value after " + after + ", got " + Describe(t));
    }
    Next();
    return Status::Ok();
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<Expr> ParseFilter(std::string_view text) {
  Result<std::vector<Token>> tokens = Lex(text);
  if (!tokens.ok()) return tokens.status();
  return Parser(std::move(tokens).value()).Filter();
}

Result<std::vector<SortKey>> ParseSortKeys(std::string_view text) {
  Result<std::vector<Token>> tokens = Lex(text);
  if (!tokens.ok()) return tokens.status();
  if (tokens->front().kind == TokenKind::kEnd) {
    return ErrorAt(1, "expected a field to sort by, got end of input");
  }
  return Parser(std::move(tokens).value()).SortKeys();
}

}  // namespace orchard::query
