#include "orchestrator/infer/inputs.h"

#include <gtest/gtest.h>

#include "orchestrator/infer/test_util.h"

namespace orchard::infer {
namespace {

using testing::TempDir;
using testing::WriteFile;
using V = std::vector<std::string>;

TEST(InputsTest, AFolderIsWalkedSortedWithoutHiddenEntries) {
  TempDir t;
  for (const char* f : {"b/2.png", "b/10.jpg", "a.JPEG", "c/d/e.bmp", "z.png", ".hidden.png",
                        ".cache/x.png", "b/.DS_Store", "notes.txt", "b/img.gif", "noext"}) {
    WriteFile(t / (std::string("imgs/") + f), "x");
  }
  auto in = EnumerateInputs("imgs", t.path());
  ASSERT_TRUE(in.ok()) << in.status().message();
  EXPECT_TRUE(in->from_folder);
  EXPECT_EQ(in->root, t / "imgs");
  EXPECT_EQ(in->paths, (V{"a.JPEG", "b/10.jpg", "b/2.png", "c/d/e.bmp", "z.png"}));
}

TEST(InputsTest, AListKeepsLinesAsWrittenAndResolvesAgainstItsFolder) {
  TempDir t;
  WriteFile(t / "lists/in.txt",
            "# photos to label\n"
            "shirts/0001.png\n"
            "\n"
            "   \t\n"
            "  shoes/0002.jpg  \r\n"
            "/abs/path/x.png\n"
            "  # an indented comment\n"
            "../up.png\n");
  auto in = EnumerateInputs(t / "lists/in.txt", "/elsewhere");
  ASSERT_TRUE(in.ok()) << in.status().message();
  EXPECT_FALSE(in->from_folder);
  EXPECT_EQ(in->root, t / "lists");
  EXPECT_EQ(in->paths, (V{"shirts/0001.png", "shoes/0002.jpg", "/abs/path/x.png", "../up.png"}));
}

TEST(InputsTest, AListMayNameAnyFileInItsOrder) {
  TempDir t;
  WriteFile(t / "l.txt", "z.gif\na.png\nz.gif\n");  // no extension filter, duplicates kept
  auto in = EnumerateInputs(t / "l.txt", t.path());
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->paths, (V{"z.gif", "a.png", "z.gif"}));
}

TEST(InputsTest, AMissingInputIsNotFound) {
  TempDir t;
  auto in = EnumerateInputs("nope", t.path());
  EXPECT_EQ(in.status().code(), Status::Code::kNotFound);
  EXPECT_NE(in.status().message().find("--input nope"), std::string::npos);
}

TEST(InputsTest, NamesWithATabAreSkippedAndReported) {
  TempDir t;
  WriteFile(t / "d/a\tb.png", "x");
  WriteFile(t / "d/ok.png", "x");
  auto in = EnumerateInputs(t / "d", t.path());
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->paths, V{"ok.png"});
  EXPECT_EQ(in->skipped, V{"a\tb.png"});
}

TEST(InputsTest, TheHashDependsOnRootPathsAndOrder) {
  InputSet a{"/x", true, "/x", {"1.png", "2.png"}, {}};
  InputSet b = a, c = a, d = a;
  b.root = "/y";
  c.paths = {"2.png", "1.png"};
  d.paths = {"1.png", "2.pn", "g"};
  EXPECT_EQ(InputsHash(a), InputsHash(InputSet(a)));
  EXPECT_NE(InputsHash(a), InputsHash(b));
  EXPECT_NE(InputsHash(a), InputsHash(c));
  EXPECT_NE(InputsHash(a), InputsHash(d));
}

TEST(InputsTest, ImageNames) {
  EXPECT_TRUE(IsImageName("a.png"));
  EXPECT_TRUE(IsImageName("a.b.JpG"));
  EXPECT_FALSE(IsImageName(".png"));
  EXPECT_FALSE(IsImageName("png"));
  EXPECT_FALSE(IsImageName("a.webp"));
}

}  // namespace
}  // namespace orchard::infer
