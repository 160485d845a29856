// A bundle folder (docs/inference.md, "The bundle"): bundle.json, the card,
// and the files it lists with their sha256 and size.
//
// ReadBundle() parses the card; VerifyBundle() checks that the folder holds
// exactly the files the card lists (bundle.json aside), each with its
// recorded size and hash. Errors name the file and what is wrong:
//   bundle/bundle.json:7: parse error ... (InvalidArgument)
//   bundle/model.pt: sha256 mismatch: expected 3fa9..., found 77ab... (InvalidArgument)
// A bundle that does not exist is NotFound. Pure functions over the file
// system; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "flags/status.h"

namespace orchard::infer {

inline constexpr const char* kBundleCard = "bundle.json";
inline constexpr const char* kBundleFormat = "orchard-bundle";

struct BundleFile {
  std::string sha256;
  int64_t bytes = 0;
};

struct Bundle {
  std::string dir;           // as given
  nlohmann::json card;       // bundle.json
  std::string card_sha256;   // of bundle.json's bytes: the bundle's identity
  std::map<std::string, BundleFile> files;  // card["files"], '/'-separated names
};

// Reads and parses DIR/bundle.json (format, files). Does not hash the files.
Result<Bundle> ReadBundle(const std::string& dir);

// Checks every file of the folder against bundle.files: a listed file that
// is missing, a file that is not listed, and a size or hash that differs are
// each an error naming the file.
Status VerifyBundle(const Bundle& bundle);

// ReadBundle, then VerifyBundle.
Result<Bundle> LoadVerifiedBundle(const std::string& dir);

// Every regular file under dir except bundle.json, '/'-separated relative
// names, sorted. Hidden files count too (a bundle holds nothing unlisted).
Result<std::vector<std::string>> BundleFolderFiles(const std::string& dir);

// The sha256 and size of one file.
Result<BundleFile> HashFile(const std::string& path);

// Parses JSON text, turning a parse error into InvalidArgument
// "NAME:LINE: MESSAGE" (the line of the byte where parsing failed).
Result<nlohmann::json> ParseJsonText(const std::string& text, const std::string& name);

}  // namespace orchard::infer
