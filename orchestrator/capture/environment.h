// What a run ran on: host, OS, CPUs, GPUs, versions.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "orchestrator/capture/command.h"

namespace orchard::capture {

// A JSON description of this machine and this Orchard build:
//   {"host", "os": {"sysname", "release", "machine"}, "cpu_count",
//    "cpus_available" (this process's affinity), "compiler",
//    "orchard_version", "sqlite_version", "gpus": [{"index", "name",
//    "memory_total_mib", "uuid"}], "cuda_visible_devices" (only when set)}.
// GPUs come from `nvidia-smi --query-gpu=... --format=csv,noheader`
// (bounded to 5 s and 64 KiB); the list is empty when nvidia-smi is not on
// PATH, and "gpu_error" says why when it is there but fails. Never fails as a
// whole: a field it cannot learn is left out. Thread-safe.
nlohmann::json CaptureEnvironment(const CommandRunner& run = RunCommand);

// This machine's host name ("" if it cannot be read).
std::string HostName();

// Parses nvidia-smi's "index, name, memory.total, uuid" CSV lines (memory as
// "81559 MiB" or "[N/A]"); malformed lines are skipped.
nlohmann::json ParseNvidiaSmiGpus(std::string_view csv);

}  // namespace orchard::capture
