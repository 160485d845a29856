// SshInventory: the SSH nodes a tune or an inference job may use, read from
// a nodes file (YAML) or from an inline list in the tuning spec
// (docs/executors.md, "SSH nodes"). Parsing is pure apart from checking that
// local files it names (identity key, ssh_config) exist; every mistake names
// the file, line and key: "nodes.yaml:7: nodes[1].port: expected an integer
// from 1 to 65535, got 'ssh'".
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flags/status.h"

namespace orchard::remote {

struct SshNodeConfig {
  std::string name;              // unique label: "gpu1"; Default: host (or host:port)
  std::string host;              // a host name, an address or an ssh_config alias
  int port = 0;                  // 0: whatever ssh_config says (22)
  std::string user;              // "": ssh_config / the local user
  std::string key;               // identity file (absolute, local); "": ssh's default
  std::vector<std::string> gpus; // GPU ids handed out as CUDA_VISIBLE_DEVICES; empty: CPU node
  int slots = 0;                 // CPU-only jobs at once. Default: 1, or one per GPU
  std::string work = "~/.orchard-remote";  // work folder on the node (~ = the remote home)
  std::vector<std::string> path; // folders prepended to the remote PATH
  std::string orchard_train;     // orchard-train on the node: replaces argv[0] "orchard-train"
  std::string source;            // a remote file sourced before the job (e.g. ~/.profile)
  std::map<std::string, std::string> env;  // exported for every job on the node
  std::string ssh_config;        // ssh -F FILE (absolute, local)
  std::vector<std::string> ssh_options;    // extra -o Key=Value, before Orchard's own
  std::string origin;            // "nodes.yaml:4", for messages

  int CpuSlots() const { return slots > 0 ? slots : std::max<int>(1, gpus.size()); }
};

// Parses a nodes file's text. `source` names it in messages; relative local
// paths (key, ssh_config) resolve against `base_dir`.
Result<std::vector<SshNodeConfig>> ParseSshInventory(const std::string& yaml_text,
                                                     const std::string& source,
                                                     const std::string& base_dir);

// The executor's config: a nodes-file path (relative to `base_dir`, the
// spec's folder), a list of hosts, or {nodes: [...], defaults: {...}}.
Result<std::vector<SshNodeConfig>> LoadSshInventory(const nlohmann::json& config,
                                                    const std::string& base_dir);

}  // namespace orchard::remote
