// Test support for orchestrator/infer (header-only, so the library glob
// leaves it out): temporary folders, small files, and fake bundles whose
// files are arbitrary bytes (nothing here loads a model).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "orchestrator/util/sha256.h"

namespace orchard::infer::testing {

namespace fs = std::filesystem;

// A fresh folder under the system's temporary folder, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "orchard-infer-XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    char* made = mkdtemp(buf.data());
    EXPECT_NE(made, nullptr);
    path_ = made ? made : tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return (fs::path(path_) / rel).string(); }

 private:
  std::string path_;
};

inline void WriteFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  ASSERT_TRUE(f.good()) << path;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) out.push_back(line);
  return out;
}

// A bundle folder at dir: the given files, and a bundle.json listing them
// with their hashes, plus `extra` merged into the card.
inline nlohmann::json MakeBundle(const std::string& dir,
                                 const std::map<std::string, std::string>& files,
                                 const nlohmann::json& extra = nlohmann::json::object()) {
  nlohmann::json card = {{"format", "orchard-bundle"},
                         {"version", 1},
                         {"classes", {"cat", "dog", "fish"}},
                         {"input", {{"height", 8}, {"width", 8}, {"channels", 3}}},
                         {"output", {{"kind", "logits"}, {"classes", 3}, {"features", 4}}},
                         {"source", {{"trainer", "orchard-train finetune"}, {"weights", "best"},
                                     {"epoch", 2}, {"run_id", nullptr}}},
                         {"flags", {{"lr", 0.1}, {"epochs", 3}, {"dropout", 0.2}}},
                         {"metrics", {{"val_acc", 0.75}}},
                         {"versions", {{"libtorch", "1.13.1"}, {"compiler", "12.2.0"}}}};
  nlohmann::json listed = nlohmann::json::object();
  for (const auto& [name, bytes] : files) {
    WriteFile((fs::path(dir) / name).string(), bytes);
    listed[name] = {{"sha256", Sha256Hex(bytes)}, {"bytes", bytes.size()}};
  }
  card["files"] = listed;
  card.merge_patch(extra);
  WriteFile((fs::path(dir) / "bundle.json").string(), card.dump(2) + "\n");
  return card;
}

}  // namespace orchard::infer::testing
