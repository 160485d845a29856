#include "orchestrator/capture/line_splitter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace orchard::capture {
namespace {

struct Piece {
  std::string text;
  bool overlong;
  bool ends_line;
  bool operator==(const Piece&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Piece& p) {
  return os << "{\"" << p.text << "\", " << p.overlong << ", " << p.ends_line << "}";
}

class Collector {
 public:
  LineSplitter::Sink sink() {
    return [this](const LineSplitter::Line& l) {
      pieces.push_back({std::string(l.text), l.overlong, l.ends_line});
    };
  }
  std::vector<Piece> pieces;
};

std::vector<Piece> SplitInChunks(const std::vector<std::string>& chunks, size_t max_line) {
  LineSplitter splitter(max_line);
  Collector c;
  for (const auto& chunk : chunks) splitter.Feed(chunk, c.sink());
  splitter.Flush(c.sink());
  return c.pieces;
}

TEST(LineSplitterTest, Basics) {
  EXPECT_EQ(SplitInChunks({"a\nbb\n\nccc"}, 100),
            (std::vector<Piece>{{"a", false, true}, {"bb", false, true}, {"", false, true},
                                {"ccc", false, true}}));
  EXPECT_TRUE(SplitInChunks({""}, 100).empty());
  EXPECT_EQ(SplitInChunks({"x\n"}, 100), (std::vector<Piece>{{"x", false, true}}));
  EXPECT_EQ(SplitInChunks({"a\r\n"}, 100), (std::vector<Piece>{{"a\r", false, true}}));
}

TEST(LineSplitterTest, KeepsPartialTail) {
  LineSplitter s(100);
  Collector c;
  s.Feed("@orch", c.sink());
  EXPECT_TRUE(c.pieces.empty());
  EXPECT_EQ(s.pending(), 5u);
  s.Feed("ard {}\nnext", c.sink());
  ASSERT_EQ(c.pieces.size(), 1u);
  EXPECT_EQ(c.pieces[0].text, "@orchard {}");
  s.Flush(c.sink());
  ASSERT_EQ(c.pieces.size(), 2u);
  EXPECT_EQ(c.pieces[1].text, "next");
  s.Flush(c.sink());
  EXPECT_EQ(c.pieces.size(), 2u);
}

TEST(LineSplitterTest, BinaryBytesPassThrough) {
  std::string data("a\0b\n\xff\xfe\n", 7);
  auto p = SplitInChunks({data}, 100);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].text, std::string("a\0b", 3));
  EXPECT_EQ(p[1].text, "\xff\xfe");
}

TEST(LineSplitterTest, OverlongLinesComeInBoundedPieces) {
  auto p = SplitInChunks({"abcdefghij\nxy\nabcd\n"}, 4);
  EXPECT_EQ(p, (std::vector<Piece>{{"abcd", true, false},
                                   {"efgh", true, false},
                                   {"ij", true, true},
                                   {"xy", false, true},
                                   {"abcd", false, true}}));
  // Exactly max_line is not overlong; one more byte is.
  EXPECT_EQ(SplitInChunks({"abcde"}, 4),
            (std::vector<Piece>{{"abcd", true, false}, {"e", true, true}}));
  EXPECT_EQ(SplitInChunks({"abcd"}, 4), (std::vector<Piece>{{"abcd", false, true}}));
}

TEST(LineSplitterTest, MemoryStaysBounded) {
  LineSplitter s(1000);
  size_t emitted = 0;
  auto sink = [&](const LineSplitter::Line& l) {
    EXPECT_LE(l.text.size(), 1000u);
    emitted += l.text.size();
  };
  std::string chunk(4096, 'z');
  for (int i = 0; i < 256; ++i) {  // 1 MiB without a newline
    s.Feed(chunk, sink);
    ASSERT_LE(s.pending(), 1000u);
  }
  s.Flush(sink);
  EXPECT_EQ(emitted, 4096u * 256);
}

// Every way of cutting the stream in two, and one byte at a time, gives the
// same lines as feeding it whole.
TEST(LineSplitterTest, EverySplitPositionGivesTheSameLines) {
  const std::string stream =
      "first\n@orchard {\"step\": 1}\r\n\nlonger line here\nabcdefghijklmnop\nend";
  for (size_t max_line : {5u, 8u, 1000u}) {
    const std::vector<Piece> whole = SplitInChunks({stream}, max_line);
    ASSERT_FALSE(whole.empty());
    for (size_t cut = 0; cut <= stream.size(); ++cut) {
      EXPECT_EQ(SplitInChunks({stream.substr(0, cut), stream.substr(cut)}, max_line), whole)
          << "cut " << cut << " max_line " << max_line;
      for (size_t cut2 = cut; cut2 <= stream.size(); cut2 += 3) {
        ASSERT_EQ(SplitInChunks({stream.substr(0, cut), stream.substr(cut, cut2 - cut),
                                 stream.substr(cut2)},
                                max_line),
                  whole)
            << "cuts " << cut << "," << cut2;
      }
    }
    std::vector<std::string> bytes;
    for (char ch : stream) bytes.emplace_back(1, ch);
    EXPECT_EQ(SplitInChunks(bytes, max_line), whole);
  }
  // Reassembling pieces gives back the stream.
  std::string joined;
  for (const Piece& p : SplitInChunks({stream}, 5)) joined += p.text + (p.ends_line ? "\n" : "");
  EXPECT_EQ(joined, stream + "\n");
}

}  // namespace
}  // namespace orchard::capture
