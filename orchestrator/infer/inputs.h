// The inputs of an `orchard infer` job, in the order their records will be
// written (docs/inference.md, "The driver").
//
// A folder is walked recursively for .png .jpg .jpeg .bmp files (any case),
// hidden files and folders (names starting with '.') skipped, symbolic links
// to folders not followed; paths are relative to the folder and sorted
// byte-wise. A list file names one path per line: surrounding blanks are
// trimmed, blank lines and lines starting with '#' skipped, and relative
// paths are relative to the list's folder; each path is kept as written.
//
// Either way `paths` are what a worker is given (resolved against `root`)
// and what each record's `input` says. Paths holding a newline or a tab
// cannot go through a list: they are left out and named in `skipped`.
#pragma once

#include <string>
#include <vector>

#include "flags/status.h"

namespace orchard::infer {

struct InputSet {
  std::string source;               // the folder or list file, absolute
  bool from_folder = false;
  std::string root;                 // absolute: relative paths resolve against it
  std::vector<std::string> paths;   // in record order
  std::vector<std::string> skipped; // unusable names, for a warning
};

// Whether `name` has one of the image extensions a folder walk takes.
bool IsImageName(const std::string& name);

// Enumerates `input` (a folder or a list file; relative to cwd).
// NotFound when it does not exist; IoError when it cannot be read.
Result<InputSet> EnumerateInputs(const std::string& input, const std::string& cwd);

// SHA-256 over root and every path, so that the same files under another
// folder are another job.
std::string InputsHash(const InputSet& inputs);

}  // namespace orchard::infer
