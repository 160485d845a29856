#include "orchestrator/infer/inputs.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "orchestrator/util/sha256.h"

namespace orchard::infer {

namespace fs = std::filesystem;

namespace {

bool Unlistable(const std::string& p) {
  return p.find('\n') != std::string::npos || p.find('\r') != std::string::npos ||
         p.find('\t') != std::string::npos;
}

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

Status WalkFolder(const fs::path& dir, InputSet& out) {
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
  if (ec) return Status::IoError("cannot list " + dir.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return Status::IoError("cannot list " + dir.string() + ": " + ec.message());
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_directory(ec)) continue;
    if (!IsImageName(name) || !it->is_regular_file(ec)) continue;
    std::string rel = fs::relative(it->path(), dir, ec).generic_string();
    if (Unlistable(rel)) {
      out.skipped.push_back(rel);
      continue;
    }
    out.paths.push_back(std::move(rel));
  }
  if (ec) return Status::IoError("cannot list " + dir.string() + ": " + ec.message());
  std::sort(out.paths.begin(), out.paths.end());
  return Status::Ok();
}

Status ReadList(const fs::path& list, InputSet& out) {
  std::ifstream f(list, std::ios::binary);
  if (!f) return Status::IoError("cannot read " + list.string());
  std::string line;
  while (std::getline(f, line)) {
    std::string p = Trim(line);
    if (p.empty() || p[0] == '#') continue;
    if (Unlistable(p)) {  // a tab inside the path
      out.skipped.push_back(p);
      continue;
    }
    out.paths.push_back(std::move(p));
  }
  if (f.bad()) return Status::IoError("cannot read " + list.string());
  return Status::Ok();
}

}  // namespace

bool IsImageName(const std::string& name) {
  auto dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return false;
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == "png" || ext == "jpg" || ext == "jpeg" || ext == "bmp";
}

Result<InputSet> EnumerateInputs(const std::string& input, const std::string& cwd) {
  fs::path p(input);
  if (p.is_relative()) p = fs::path(cwd) / p;
  p = p.lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  std::error_code ec;
  if (!fs::exists(p, ec)) return Status::NotFound("--input " + input + ": no such file or folder");
  InputSet out;
  out.source = p.string();
  if (fs::is_directory(p, ec)) {
    out.from_folder = true;
    out.root = p.string();
    ORCHARD_RETURN_IF_ERROR(WalkFolder(p, out));
  } else {
    out.root = p.parent_path().string();
    ORCHARD_RETURN_IF_ERROR(ReadList(p, out));
  }
  return out;
}

std::string InputsHash(const InputSet& inputs) {
  Sha256 h;
  h.Update(inputs.root);
  h.Update("\n", 1);
  for (const auto& p : inputs.paths) {
    h.Update(p);
    h.Update("\n", 1);
  }
  return h.FinalHex();
}

}  // namespace orchard::infer
