// Runs a helper program (node, python) to completion and captures what it
// prints, for the one-time model conversion and for tests.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "flags/status.h"

namespace orchard::trainer {

// The absolute path of `program` found on $PATH, or empty when it is not there.
std::filesystem::path FindOnPath(const std::string& program);

// Runs argv[0] (searched on $PATH when it has no '/') with the inherited
// environment, waits for it, and returns its stdout and stderr interleaved.
// NotFound when the program does not exist; Internal, with the exit status
// and the end of its output, when it fails. Blocks the calling thread.
Result<std::string> RunCommand(const std::vector<std::string>& argv);

}  // namespace orchard::trainer
