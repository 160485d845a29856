#include "trainer/train/feature_cache.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "trainer/test_util.h"

namespace orchard::trainer {
namespace {

namespace fs = std::filesystem;

class FeatureCacheTest : public ::testing::Test {
 protected:
  TempFolder folder_;
  const fs::path& dir_ = folder_.path();
};

std::vector<float> Rows(const std::vector<int64_t>& rows, int64_t dim) {
  std::vector<float> v;
  for (int64_t r : rows) {
    for (int64_t d = 0; d < dim; ++d) v.push_back(static_cast<float>(r) * 100.0f + static_cast<float>(d));
  }
  return v;
}

TEST_F(FeatureCacheTest, StoresRowsAndRemembersThemAcrossOpens) {
  {
    Result<FeatureCache> cache = FeatureCache::Open(dir_, "k1", 10, 4);
    ASSERT_TRUE(cache.ok()) << cache.status().message();
    Result<std::vector<int64_t>> missing = cache.value().Missing({7, 2, 9});
    ASSERT_TRUE(missing.ok());
    EXPECT_EQ(missing.value(), (std::vector<int64_t>{7, 2, 9}));
    ASSERT_TRUE(cache.value().Write({7, 2}, Rows({7, 2}, 4).data()).ok());
  }
  Result<FeatureCache> again = FeatureCache::Open(dir_, "k1", 10, 4);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again.value().Missing({7, 2, 9}).value(), (std::vector<int64_t>{9}));
  std::vector<float> out(8);
  ASSERT_TRUE(again.value().Read({2, 7}, out.data()).ok());
  EXPECT_EQ(out, Rows({2, 7}, 4));
}

TEST_F(FeatureCacheTest, KeysAreSeparateFiles) {
  Result<FeatureCache> a = FeatureCache::Open(dir_, "a", 5, 2);
  Result<FeatureCache> b = FeatureCache::Open(dir_, "b", 5, 2);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(a.value().Write({1}, Rows({1}, 2).data()).ok());
  EXPECT_TRUE(a.value().Missing({1}).value().empty());
  EXPECT_EQ(b.value().Missing({1}).value(), (std::vector<int64_t>{1}));
}

TEST_F(FeatureCacheTest, AMismatchedFileIsAnErrorNotReused) {
  ASSERT_TRUE(FeatureCache::Open(dir_, "k", 10, 4).ok());
  Result<FeatureCache> other_dim = FeatureCache::Open(dir_, "k", 10, 8);
  ASSERT_FALSE(other_dim.ok());
  EXPECT_NE(other_dim.status().message().find("does not match"), std::string::npos);
  EXPECT_NE(other_dim.status().message().find("k.features"), std::string::npos);
  // A torn header (a crash while creating) is caught the same way.
  {
    std::fstream f(dir_ / "k.features", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    f.write("XXXX", 4);
  }
  EXPECT_FALSE(FeatureCache::Open(dir_, "k", 10, 4).ok());
}

TEST_F(FeatureCacheTest, RowsOutsideTheDatasetAreErrors) {
  Result<FeatureCache> cache = FeatureCache::Open(dir_, "k", 3, 2);
  ASSERT_TRUE(cache.ok());
  EXPECT_FALSE(cache.value().Missing({3}).ok());
  EXPECT_FALSE(cache.value().Write({-1}, Rows({0}, 2).data()).ok());
  EXPECT_FALSE(FeatureCache::Open(dir_, "k0", 0, 2).ok());
}

TEST_F(FeatureCacheTest, ConcurrentWritersOfTheSameRowsAgree) {
  // Two processes fill overlapping rows at once, as parallel trials do.
  constexpr int64_t kRows = 2000;
  constexpr int64_t kDim = 16;
  std::vector<pid_t> children;
  for (int c = 0; c < 2; ++c) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      Result<FeatureCache> cache = FeatureCache::Open(dir_, "shared", kRows, kDim);
      if (!cache.ok()) _exit(1);
      for (int64_t r = c * 500; r < kRows; r += 7) {
        if (!cache.value().Write({r}, Rows({r}, kDim).data()).ok()) _exit(2);
      }
      _exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  Result<FeatureCache> cache = FeatureCache::Open(dir_, "shared", kRows, kDim);
  ASSERT_TRUE(cache.ok());
  std::vector<int64_t> written;
  for (int64_t r = 0; r < kRows; r += 7) written.push_back(r);
  EXPECT_TRUE(cache.value().Missing(written).value().empty());
  std::vector<float> out(written.size() * kDim);
  ASSERT_TRUE(cache.value().Read(written, out.data()).ok());
  EXPECT_EQ(out, Rows(written, kDim));
  EXPECT_EQ(cache.value().Missing({1}).value(), (std::vector<int64_t>{1}));
}

}  // namespace
}  // namespace orchard::trainer
