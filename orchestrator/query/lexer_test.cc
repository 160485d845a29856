#include "orchestrator/query/lexer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace orchard::query {
namespace {

// "kind:text@column" for each token but the final kEnd.
std::string Tokens(std::string_view text) {
  Result<std::vector<Token>> tokens = Lex(text);
  if (!tokens.ok()) return "error: " + tokens.status().message();
  std::string out;
  for (const Token& t : *tokens) {
    if (t.kind == TokenKind::kEnd) break;
    const char* kind = "?";
    switch (t.kind) {
      case TokenKind::kWord: kind = "word"; break;
      case TokenKind::kQuotedName: kind = "qname"; break;
      case TokenKind::kString: kind = "str"; break;
      case TokenKind::kNumber: kind = "num"; break;
      case TokenKind::kDate: kind = "date"; break;
      case TokenKind::kDuration: kind = "dur"; break;
      case TokenKind::kOperator: kind = "op"; break;
      case TokenKind::kDot: kind = "dot"; break;
      case TokenKind::kComma: kind = "comma"; break;
      case TokenKind::kLParen: kind = "lp"; break;
      case TokenKind::kRParen: kind = "rp"; break;
      case TokenKind::kLBracket: kind = "lb"; break;
      case TokenKind::kRBracket: kind = "rb"; break;
      case TokenKind::kMinus: kind = "minus"; break;
      case TokenKind::kPlus: kind = "plus"; break;
      case TokenKind::kEnd: break;
    }
    if (!out.empty()) out += ' ';
    out += std::string(kind) + ":" + t.text + "@" + std::to_string(t.column);
  }
  return out;
}

TEST(Lexer, FieldsOperatorsAndValues) {
  EXPECT_EQ(Tokens("metrics.val_acc >= 0.8"), "word:metrics@1 dot:.@8 word:val_acc@9 op:>=@17 num:0.8@20");
  EXPECT_EQ(Tokens("a=1 b==2 c!=3 d<>4 e<5 f<=6 g>7 h>=8 i~'x' j!~y"),
            "word:a@1 op:=@2 num:1@3 word:b@5 op:==@6 num:2@8 word:c@10 op:!=@11 num:3@13 "
            "word:d@15 op:<>@16 num:4@18 word:e@20 op:<@21 num:5@22 word:f@24 op:<=@25 num:6@27 "
            "word:g@29 op:>@30 num:7@31 word:h@33 op:>=@34 num:8@36 word:i@38 op:~@39 str:x@40 "
            "word:j@44 op:!~@45 word:y@47");
  EXPECT_EQ(Tokens("x in (1, 2) or y in [a, b)"),
            "word:x@1 word:in@3 lp:(@6 num:1@7 comma:,@8 num:2@10 rp:)@11 word:or@13 word:y@16 "
            "word:in@18 lb:[@21 word:a@22 comma:,@23 word:b@25 rp:)@26");
}

TEST(Lexer, Numbers) {
  EXPECT_EQ(Tokens("1 -2 3.5 .5 -.25 1e-4 2E+3 6.02e23"),
            "num:1@1 num:-2@3 num:3.5@6 num:.5@10 num:-.25@13 num:1e-4@18 num:2E+3@23 "
            "num:6.02e23@28");
  Result<std::vector<Token>> t = Lex("1e-4");
  ASSERT_TRUE(t.ok());
  EXPECT_DOUBLE_EQ((*t)[0].number, 1e-4);
}

TEST(Lexer, WordsMayStartWithDigitsAndHoldHyphens) {
  EXPECT_EQ(Tokens("3fa9c2 gpu-node-1 mobilenet_v2 a-"),
            "word:3fa9c2@1 word:gpu-node-1@8 word:mobilenet_v2@19 word:a@32 minus:-@33");
}

TEST(Lexer, DatesAndDurations) {
  EXPECT_EQ(Tokens("2026-11-01 2026-11-01T12:30 2026-11-01 12:30:05"),
            "date:2026-11-01@1 date:2026-11-01T12:30@12 date:2026-11-01 12:30:05@29");
  EXPECT_EQ(Tokens("-7d -3h -30m 90s 2w 1h30m 1.5h"),
            "dur:-7d@1 dur:-3h@5 dur:-30m@9 dur:90s@14 dur:2w@18 dur:1h30m@21 dur:1.5h@27");
  Result<std::vector<Token>> t = Lex("-1h30m");
  ASSERT_TRUE(t.ok());
  EXPECT_DOUBLE_EQ((*t)[0].number, -5400);
}

TEST(Lexer, DotsJoinNamesButStartNumbersElsewhere) {
  EXPECT_EQ(Tokens("metrics.top.5"), "word:metrics@1 dot:.@8 word:top@9 dot:.@12 num:5@13");
  EXPECT_EQ(Tokens("x < .5"), "word:x@1 op:<@3 num:.5@5");
  EXPECT_EQ(Tokens("metrics.\"val/acc\".max"),
            "word:metrics@1 dot:.@8 str:val/acc@9 dot:.@18 word:max@19");
}

TEST(Lexer, StringsAndQuotedNames) {
  EXPECT_EQ(Tokens(R"('it\'s' "say \"hi\"" 'a\\b' 'tab\there' 'C:\data' `my-flag`)"),
            "str:it's@1 str:say \"hi\"@9 str:a\\b@22 str:tab\there@29 str:C:\\data@41 "
            "qname:my-flag@51");
}

TEST(Lexer, ColumnsCountCharactersNotBytes) {
  EXPECT_EQ(Tokens("name = 'héllo' and x"), "word:name@1 op:=@6 str:héllo@8 word:and@16 word:x@20");
  EXPECT_EQ(Tokens("name = 'ü' @"), "error: at column 12: unexpected character '@'");
}

TEST(Lexer, Errors) {
  EXPECT_EQ(Tokens("name = 'abc"),
            "error: at column 8: unterminated string starting with '; close it with '");
  EXPECT_EQ(Tokens("flags.`abc = 1"),
            "error: at column 7: unterminated name starting with `; close it with `");
  EXPECT_EQ(Tokens("x = 1 $"), "error: at column 7: unexpected character '$'");
  EXPECT_EQ(Tokens("x ! 1"), "error: at column 3: unexpected '!'; write 'not', '!=' or '!~'");
  EXPECT_EQ(Tokens("x = -5abc"), "error: at column 5: malformed number '-5abc'");
  EXPECT_EQ(Tokens(std::string("x = \x01")), "error: at column 5: unexpected character byte 0x01");
  EXPECT_EQ(Tokens(std::string("a\0b", 3)), "error: at column 2: unexpected character byte 0x00");
  EXPECT_EQ(Tokens(std::string(kMaxQueryLength + 1, ' ')),
            "error: input is 65537 bytes long; the limit is 65536");
}

TEST(Lexer, EndTokenSitsPastTheLastCharacter) {
  Result<std::vector<Token>> t = Lex("ab ");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ(t->back().kind, TokenKind::kEnd);
  EXPECT_EQ(t->back().column, 4);
  EXPECT_EQ(Describe(t->back()), "end of input");
  EXPECT_EQ(Describe(t->front()), "'ab'");
}

}  // namespace
}  // namespace orchard::query
