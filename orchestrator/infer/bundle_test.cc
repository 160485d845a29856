#include "orchestrator/infer/bundle.h"

#include <gtest/gtest.h>

#include "orchestrator/infer/test_util.h"

namespace orchard::infer {
namespace {

using testing::MakeBundle;
using testing::TempDir;
using testing::WriteFile;

TEST(BundleTest, AValidBundleVerifies) {
  TempDir t;
  MakeBundle(t / "b", {{"model.pt", "weights"}, {"vocab/labels.txt", "a\nb\n"}});
  auto b = LoadVerifiedBundle(t / "b");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->files.size(), 2u);
  EXPECT_EQ(b->files.at("model.pt").bytes, 7);
  EXPECT_EQ(b->card_sha256, Sha256Hex(testing::ReadFile(t / "b/bundle.json")));
}

TEST(BundleTest, ATamperedFileIsNamedWithBothHashes) {
  TempDir t;
  MakeBundle(t / "b", {{"model.pt", "weights"}});
  WriteFile(t / "b/model.pt", "WEIGHTS");  // same size, other bytes
  Status s = LoadVerifiedBundle(t / "b").status();
  ASSERT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("model.pt: sha256 mismatch"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("expected " + Sha256Hex("weights")), std::string::npos);
  EXPECT_NE(s.message().find("found " + Sha256Hex("WEIGHTS")), std::string::npos);
}

TEST(BundleTest, ATruncatedFileIsCaughtBySize) {
  TempDir t;
  MakeBundle(t / "b", {{"model.pt", "weights"}});
  WriteFile(t / "b/model.pt", "wei");
  Status s = LoadVerifiedBundle(t / "b").status();
  EXPECT_NE(s.message().find("model.pt has 3 bytes, bundle.json says 7"), std::string::npos)
      << s.message();
}

TEST(BundleTest, AnUnlistedFileIsRefused) {
  TempDir t;
  MakeBundle(t / "b", {{"model.pt", "weights"}});
  WriteFile(t / "b/sub/extra.bin", "x");
  Status s = LoadVerifiedBundle(t / "b").status();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("sub/extra.bin is not listed"), std::string::npos) << s.message();
}

TEST(BundleTest, AMissingFileIsRefused) {
  TempDir t;
  MakeBundle(t / "b", {{"model.pt", "weights"}, {"other.bin", "o"}});
  std::filesystem::remove(t / "b/other.bin");
  Status s = LoadVerifiedBundle(t / "b").status();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("other.bin is listed in bundle.json but missing"), std::string::npos)
      << s.message();
}

TEST(BundleTest, AParseErrorNamesFileAndLine) {
  TempDir t;
  WriteFile(t / "b/bundle.json", "{\n  \"format\": \"orchard-bundle\",\n  \"files\": {,}\n}\n");
  Status s = ReadBundle(t / "b").status();
  ASSERT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message().rfind(t / "b/bundle.json:3: ", 0), 0u) << s.message();
}

TEST(BundleTest, NotABundle) {
  TempDir t;
  EXPECT_EQ(ReadBundle(t / "nothing").status().code(), Status::Code::kNotFound);
  WriteFile(t / "b/bundle.json", R"({"format": "something-else", "files": {"a": {"sha256": "", "bytes": 0}}})");
  EXPECT_NE(ReadBundle(t / "b").status().message().find("not an Orchard bundle"), std::string::npos);
  WriteFile(t / "c/bundle.json",
            R"({"format": "orchard-bundle", "files": {"../escape": {"sha256": "", "bytes": 0}}})");
  EXPECT_NE(ReadBundle(t / "c").status().message().find("not a file name inside the bundle"),
            std::string::npos);
}

TEST(BundleTest, ParseJsonTextCountsLines) {
  auto r = ParseJsonText("[1,\n2,\n\n oops]", "x.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("x.json:4: ", 0), 0u) << r.status().message();
}

}  // namespace
}  // namespace orchard::infer
