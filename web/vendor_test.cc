#include "web/vendor.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "web/test_util.h"
#include "web/web_dirs.h"

namespace orchard::web {
namespace {

namespace fs = std::filesystem;
using testing::Reply;
using testing::ServerTest;

// A node_modules folder with the vendor files (their paths as npm lays them
// out) and one more file of the same package that must stay unreachable.
fs::path FakeNodeModules(const fs::path& root) {
  fs::path nm = root / "node_modules";
  ServerTest::WriteFile(nm / "echarts/dist/echarts.min.js", "/*echarts*/");
  ServerTest::WriteFile(nm / "echarts/package.json", R"({"name": "echarts"})");
  ServerTest::WriteFile(nm / "diff2html/bundles/js/diff2html.min.js", "/*diff2html*/");
  ServerTest::WriteFile(nm / "diff2html/bundles/css/diff2html.min.css", ".d2h{}");
  return nm;
}

TEST(VendorTest, OnlyListedNamesResolve) {
  fs::path root = fs::temp_directory_path() / ("orchard_vendor_" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::path nm = FakeNodeModules(root);
  auto js = VendorFilePath(nm.string(), "echarts.min.js");
  ASSERT_TRUE(js.ok()) << js.status().message();
  EXPECT_EQ(*js, (nm / "echarts/dist/echarts.min.js").string());
  for (const char* bad : {"echarts/package.json", "../echarts/package.json", "/etc/passwd",
                          "echarts.min.js/..", "", "ECHARTS.MIN.JS", "package.json"}) {
    auto r = VendorFilePath(nm.string(), bad);
    EXPECT_EQ(r.status().code(), Status::Code::kNotFound) << bad;
  }
  fs::remove(nm / "diff2html/bundles/js/diff2html.min.js");
  auto missing = VendorFilePath(nm.string(), "diff2html.min.js");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("scripts/install-deps.sh"), std::string::npos)
      << missing.status().message();
  EXPECT_FALSE(VendorFilePath("", "echarts.min.js").ok());
  fs::remove_all(root);
}

TEST(WebDirsTest, AnInstalledCopyBesideTheExecutableWins) {
  fs::path prefix = fs::temp_directory_path() / ("orchard_web_dirs_" + std::to_string(getpid()));
  fs::remove_all(prefix);
  const std::string exe = (prefix / "bin/orchard").string();
  WebDirs plain = DefaultWebDirs(exe, "/src/web/static", "/src/node_modules");
  EXPECT_EQ(plain.static_dir, "/src/web/static") << "nothing installed: the source tree";
  EXPECT_EQ(plain.assets_dir, "/src/node_modules");
  ServerTest::WriteFile(prefix / "share/orchard/web/static/index.html", "<html></html>");
  fs::create_directories(prefix / "share/orchard/web/node_modules");
  WebDirs installed = DefaultWebDirs(exe, "/src/web/static", "/src/node_modules");
  EXPECT_EQ(installed.static_dir, (prefix / "share/orchard/web/static").string());
  EXPECT_EQ(installed.assets_dir, (prefix / "share/orchard/web/node_modules").string());
  EXPECT_EQ(DefaultWebDirs("", "a", "b").static_dir, "a");
  EXPECT_FALSE(CurrentExecutable().empty());
  fs::remove_all(prefix);
}

class VendorRouteTest : public ServerTest {};

TEST_F(VendorRouteTest, ServesTheListedFilesAndNothingElseOfNodeModules) {
  fs::path nm = FakeNodeModules(root_);
  ServerOptions opt;
  opt.assets_dir = nm.string();
  StartServer(opt);
  Reply js = Get("/vendor/echarts.min.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "/*echarts*/");
  EXPECT_EQ(js.headers.find("Content-Type")->second.rfind("text/javascript", 0), 0u);
  Reply css = Get("/vendor/diff2html.min.css");
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.headers.find("Content-Type")->second.rfind("text/css", 0), 0u);
  for (const char* bad : {"/vendor/echarts/package.json", "/vendor/..%2Fecharts%2Fpackage.json",
                          "/vendor/%2e%2e/node_modules/echarts/package.json",
                          "/vendor/echarts.min.js%00", "/node_modules/echarts/package.json"}) {
    Reply r = Get(bad);
    EXPECT_GE(r.status, 400) << bad;
    EXPECT_LT(r.status, 500) << bad;
    EXPECT_EQ(r.body.find("\"echarts\""), std::string::npos) << bad << ": " << r.body;
  }
}

TEST_F(VendorRouteTest, AMissingLibrarySaysHowToInstallIt) {
  ServerOptions opt;
  opt.assets_dir = (root_ / "no_node_modules").string();
  StartServer(opt);
  Reply r = Get("/vendor/echarts.min.js");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.json.value("error", "").find("scripts/install-deps.sh"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace orchard::web
