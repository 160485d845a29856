#include "orchestrator/remote/ssh_inventory.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "flags/yaml_field.h"

namespace fs = std::filesystem;

namespace orchard::remote {
namespace {

using flags::YamlField;

const std::vector<std::string> kNodeKeys = {
    "name", "host", "port", "user", "key", "gpus", "slots", "work", "path", "orchard_train",
    "source", "env", "ssh_config", "ssh_options"};

bool IsName(const std::string& s, const char* extra) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!isalnum(static_cast<unsigned char>(c)) && !strchr(extra, c)) return false;
  }
  return true;
}

bool IsEnvName(const std::string& s) {
  return IsName(s, "_") && !isdigit(static_cast<unsigned char>(s[0]));
}

// A local path as ssh would read it: ~ is our home, relative is `base`'s.
std::string LocalPath(const std::string& p, const std::string& base) {
  if (p == "~" || p.rfind("~/", 0) == 0) {
    const char* home = getenv("HOME");
    return std::string(home ? home : "") + p.substr(1);
  }
  if (p.empty() || p[0] == '/') return p;
  return (fs::path(base) / p).lexically_normal().string();
}

// A text value: a non-empty scalar, and no newline (it travels in a command line).
Result<std::string> Text(const YamlField& f) {
  auto s = f.String();
  if (!s.ok()) return Status(f.Error("expected a text value, got " + f.Describe()));
  if (s->find_first_of("\n\r") != std::string::npos) return f.Error("must be on one line");
  return s;
}

Result<std::vector<std::string>> TextList(const YamlField& f) {
  std::vector<std::string> out;
  if (f.IsScalar()) {
    auto s = Text(f);
    if (!s.ok()) return s.status();
    out.push_back(*s);
    return out;
  }
  auto items = f.Items();
  if (!items.ok()) return Status(f.Error("expected a text value or a list, got " + f.Describe()));
  for (const YamlField& it : *items) {
    auto s = Text(it);
    if (!s.ok()) return s.status();
    out.push_back(*s);
  }
  return out;
}

// "user@host:port", "host", "[::1]:2222".
Status ParseHostText(const YamlField& f, SshNodeConfig* n) {
  auto text = Text(f);
  if (!text.ok()) return text.status();
  std::string s = *text;
  if (auto at = s.rfind('@'); at != std::string::npos) {
    n->user = s.substr(0, at);
    s = s.substr(at + 1);
  }
  std::string port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos) return f.Error("unclosed '[' in " + f.Describe());
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') return f.Error("expected [ADDRESS]:PORT, got " + f.Describe());
      port = s.substr(close + 2);
    }
    s = s.substr(1, close - 1);
  } else if (auto colon = s.find(':'); colon != std::string::npos && s.find(':', colon + 1) == std::string::npos) {
    port = s.substr(colon + 1);
    s = s.substr(0, colon);
  }
  if (s.empty() || s[0] == '-' || !IsName(s, ".-_:%")) {
    return f.Error("expected a host name or address, got " + f.Describe());
  }
  n->host = s;
  if (!port.empty()) {
    char* end = nullptr;
    long p = strtol(port.c_str(), &end, 10);
    if (*end || p < 1 || p > 65535) return f.Error("bad port '" + port + "' in " + f.Describe());
    n->port = static_cast<int>(p);
  }
  if (!n->user.empty() && !IsName(n->user, "._-")) return f.Error("bad user name '" + n->user + "'");
  return Status::Ok();
}

Status ParseKey(const YamlField& e, const std::string& base, SshNodeConfig* n) {
  const std::string& k = e.key();
  if (k == "host") return ParseHostText(e, n);
  if (k == "port") {
    auto p = e.Int();
    if (!p.ok() || *p < 1 || *p > 65535) {
      return e.Error("expected a port number from 1 to 65535, got " + e.Describe());
    }
    n->port = static_cast<int>(*p);
    return Status::Ok();
  }
  if (k == "slots") {
    auto v = e.Int();
    if (!v.ok() || *v < 1 || *v > 1024) return e.Error("expected a number of jobs from 1 to 1024, got " + e.Describe());
    n->slots = static_cast<int>(*v);
    return Status::Ok();
  }
  if (k == "gpus") {
    n->gpus.clear();
    if (e.IsNull()) return Status::Ok();
    if (e.IsScalar()) {  // a count: ids 0..N-1
      auto v = e.Int();
      if (!v.ok() || *v < 0 || *v > 1024) {
        return e.Error("expected a list of GPU ids such as [0, 1] or a count, got " + e.Describe());
      }
      for (int64_t i = 0; i < *v; ++i) n->gpus.push_back(std::to_string(i));
      return Status::Ok();
    }
    auto ids = TextList(e);
    if (!ids.ok()) return ids.status();
    std::set<std::string> seen;
    for (const auto& id : *ids) {
      if (!IsName(id, "-_:.")) return e.Error("bad GPU id '" + id + "' (letters, digits, - _ : . only)");
      if (!seen.insert(id).second) return e.Error("GPU id '" + id + "' is listed twice");
      n->gpus.push_back(id);
    }
    return Status::Ok();
  }
  if (k == "env") {
    auto entries = e.Entries();
    if (!entries.ok()) return entries.status();
    for (const YamlField& v : *entries) {
      if (!IsEnvName(v.key())) return v.Error("not a valid environment variable name");
      auto value = v.Scalar();
      if (!value.ok() || value->is_null()) return v.Error("expected a value, got " + v.Describe());
      n->env[v.key()] = value->is_string() ? value->get<std::string>() : v.Text();
    }
    return Status::Ok();
  }
  if (k == "ssh_options") {
    std::vector<std::string> opts;
    if (e.IsMap()) {
      auto entries = e.Entries();
      if (!entries.ok()) return entries.status();
      for (const YamlField& v : *entries) opts.push_back(v.key() + "=" + v.Text());
    } else {
      auto list = TextList(e);
      if (!list.ok()) return list.status();
      opts = std::move(*list);
    }
    for (const auto& o : opts) {
      auto eq = o.find('=');
      if (eq == std::string::npos || eq == 0 || !IsName(o.substr(0, eq), "")) {
        return e.Error("expected Key=Value options such as ServerAliveInterval=5, got '" + o + "'");
      }
    }
    n->ssh_options = std::move(opts);
    return Status::Ok();
  }
  if (k == "path") {
    auto list = TextList(e);
    if (!list.ok()) return list.status();
    for (const auto& p : *list) {
      if (p.find(':') != std::string::npos) return e.Error("give one folder per list item, not ':'-separated");
    }
    n->path = std::move(*list);
    return Status::Ok();
  }
  auto text = Text(e);
  if (!text.ok()) return text.status();
  if (k == "name") {
    if (!IsName(*text, "._-")) return e.Error("a node name is letters, digits, '.', '_' and '-'");
    n->name = *text;
  } else if (k == "user") {
    if (!IsName(*text, "._-")) return e.Error("bad user name " + e.Describe());
    n->user = *text;
  } else if (k == "key" || k == "ssh_config") {
    std::string p = LocalPath(*text, base);
    if (access(p.c_str(), R_OK) != 0) {
      return e.Error("cannot read " + p + ": " + strerror(errno));
    }
    (k == "key" ? n->key : n->ssh_config) = p;
  } else if (k == "work") {
    n->work = *text;
  } else if (k == "orchard_train") {
    n->orchard_train = *text;
  } else if (k == "source") {
    n->source = *text;
  }
  return Status::Ok();
}

Status ParseNodeFields(const YamlField& f, const std::string& base, SshNodeConfig* n) {
  if (f.IsScalar()) return ParseHostText(f, n);
  auto entries = f.Entries(kNodeKeys);
  if (!entries.ok()) return entries.status();
  for (const YamlField& e : *entries) ORCHARD_RETURN_IF_ERROR(ParseKey(e, base, n));
  return Status::Ok();
}

Result<std::vector<SshNodeConfig>> ParseRoot(const YamlField& root, const std::string& source,
                                             const std::string& base) {
  SshNodeConfig defaults;
  std::optional<YamlField> nodes;
  if (root.IsList()) {
    nodes = root;
  } else if (root.IsMap()) {
    auto entries = root.Entries({"nodes", "defaults"});
    if (!entries.ok()) return entries.status();
    for (const YamlField& e : *entries) {
      if (e.key() == "nodes") nodes = e;
      if (e.key() == "defaults") {
        auto fields = e.Entries(kNodeKeys);
        if (!fields.ok()) return fields.status();
        for (const YamlField& d : *fields) {
          if (d.key() == "host" || d.key() == "name") return d.Error("belongs to a node, not to defaults");
          ORCHARD_RETURN_IF_ERROR(ParseKey(d, base, &defaults));
        }
      }
    }
    if (!nodes) return root.Error("missing key 'nodes' (a list of hosts)");
  } else {
    return root.Error("expected a list of nodes or a map with 'nodes:', got " + root.Describe());
  }
  auto items = nodes->Items();
  if (!items.ok()) return items.status();
  if (items->empty()) return nodes->Error("no nodes listed");
  std::vector<SshNodeConfig> out;
  std::map<std::string, int> line_of_name;
  for (const YamlField& item : *items) {
    SshNodeConfig n = defaults;
    n.origin = source + ":" + std::to_string(item.line());
    ORCHARD_RETURN_IF_ERROR(ParseNodeFields(item, base, &n));
    if (n.host.empty()) return item.Error("missing key 'host'");
    if (n.name.empty()) {
      n.name = n.host;
      for (char& c : n.name) {
        if (!isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
      }
    }
    auto [it, fresh] = line_of_name.emplace(n.name, item.line());
    if (!fresh) {
      // Two entries for one host (different ports, users): name them apart.
      if (n.port > 0 && line_of_name.emplace(n.name + "_" + std::to_string(n.port), item.line()).second) {
        n.name += "_" + std::to_string(n.port);
      } else {
        return item.Error("node name '" + n.name + "' is already used on line " +
                          std::to_string(it->second) + "; give this one a name:");
      }
    }
    out.push_back(std::move(n));
  }
  return out;
}

// Errors of an inline list carry no useful line: "executor.ssh[1].port: ...".
Status InlineError(const Status& s) {
  const std::string prefix = "executor.ssh:";
  const std::string& m = s.message();
  if (m.rfind(prefix, 0) != 0) return s;
  size_t colon = m.find(": ", prefix.size());
  std::string rest = colon == std::string::npos ? m : m.substr(colon + 2);
  return Status::InvalidArgument("executor.ssh" + std::string(rest.empty() || rest[0] == '[' ? "" : ": ") + rest);
}

}  // namespace

Result<std::vector<SshNodeConfig>> ParseSshInventory(const std::string& yaml_text,
                                                     const std::string& source,
                                                     const std::string& base_dir) {
  try {
    YAML::Node doc = YAML::Load(yaml_text);
    if (!doc || doc.IsNull()) return Status::InvalidArgument(source + ":1: the nodes file is empty");
    return ParseRoot(YamlField(doc, &source), source, base_dir);
  } catch (const YAML::Exception& e) {
    int line = e.mark.line >= 0 ? e.mark.line + 1 : 1;
    return Status::InvalidArgument(source + ":" + std::to_string(line) + ": YAML syntax error: " + e.msg);
  }
}

Result<std::vector<SshNodeConfig>> LoadSshInventory(const nlohmann::json& config,
                                                    const std::string& base_dir) {
  if (config.is_string()) {
    std::string path = LocalPath(config.get<std::string>(), base_dir);
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::IoError("executor.ssh: cannot read the nodes file " + path + ": " + strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    return ParseSshInventory(text.str(), path, fs::path(path).parent_path().string());
  }
  if (!config.is_array() && !config.is_object()) {
    return Status::InvalidArgument("executor.ssh: expected a nodes file or a list of hosts, got " + config.dump());
  }
  // JSON is YAML: one parser, and errors read "executor.ssh[1].port: ...".
  static const std::string kSource = "executor.ssh";
  auto nodes = ParseSshInventory(config.dump(), kSource, base_dir);
  if (!nodes.ok()) return InlineError(nodes.status());
  for (auto& n : *nodes) n.origin = "executor.ssh";
  return nodes;
}

}  // namespace orchard::remote
