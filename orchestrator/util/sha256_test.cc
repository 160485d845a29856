#include "orchestrator/util/sha256.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace orchard {
namespace {

// FIPS 180-2 appendix B vectors.
constexpr char kEmpty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char k448[] = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
constexpr char kMillionA[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
constexpr char k448Input[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

TEST(Sha256Test, FipsVectors) {
  EXPECT_EQ(Sha256Hex(""), kEmpty);
  EXPECT_EQ(Sha256Hex("abc"), kAbc);
  EXPECT_EQ(Sha256Hex(k448Input), k448);
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')), kMillionA);
}

TEST(Sha256Test, IncrementalMatchesOneShotAtEverySplit) {
  const std::string msg = std::string(k448Input) + std::string(100, 'x') + "tail";
  const std::string expected = Sha256Hex(msg);
  for (size_t cut = 0; cut <= msg.size(); ++cut) {
    Sha256 h;
    h.Update(std::string_view(msg).substr(0, cut));
    h.Update(std::string_view(msg).substr(cut));
    ASSERT_EQ(h.FinalHex(), expected) << "cut at " << cut;
  }
}

TEST(Sha256Test, MillionAInOddChunks) {
  Sha256 h;
  std::string chunk(997, 'a');
  size_t left = 1000000;
  while (left > 0) {
    size_t n = std::min(left, chunk.size());
    h.Update(chunk.data(), n);
    left -= n;
  }
  EXPECT_EQ(h.FinalHex(), kMillionA);
}

TEST(Sha256Test, FinalResetsForReuse) {
  Sha256 h;
  h.Update("abc");
  EXPECT_EQ(h.FinalHex(), kAbc);
  EXPECT_EQ(h.FinalHex(), kEmpty);
}

TEST(Sha256Test, PaddingBoundaries) {
  // Lengths around the 55/56/64-byte padding edges must all differ and be stable.
  for (size_t n : {55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u}) {
    std::string s(n, 'q');
    Sha256 h;
    for (char c : s) h.Update(&c, 1);
    EXPECT_EQ(h.FinalHex(), Sha256Hex(s)) << n;
  }
  EXPECT_NE(Sha256Hex(std::string(55, 'q')), Sha256Hex(std::string(56, 'q')));
}

TEST(Sha256Test, FileStreaming) {
  std::string path = ::testing::TempDir() + "sha256_test_" + std::to_string(getpid());
  {
    std::ofstream out(path, std::ios::binary);
    std::string block(4096, 'a');
    for (int i = 0; i < 244; ++i) out << block;  // 999,424 bytes
    out << std::string(1000000 - 244 * 4096, 'a');
  }
  Result<std::string> r = Sha256File(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, kMillionA);
  std::remove(path.c_str());
}

TEST(Sha256Test, MissingFileIsIoError) {
  Result<std::string> r = Sha256File("/nonexistent/definitely/not/here");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIoError);
  EXPECT_NE(r.status().message().find("/nonexistent"), std::string::npos);
}

}  // namespace
}  // namespace orchard
