// Reporter: the C++ side of the trainer protocol (docs/protocol.md), for
// trainers that want a helper. Header-only, standard library only.
//
//   orchard::Reporter r;
//   r.Log(step, epoch, {{"train_loss", 0.41}, {"val_acc", 0.87}});
//   // prints: @orchard {"step":120,"epoch":2,"train_loss":0.41,"val_acc":0.87}
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace orchard {

/// Reporter prints metric records as single `@orchard {...}` lines. Each
/// record is built in full and handed to stdio in one fwrite followed by a
/// fflush, under a mutex, so records from several threads never interleave
/// with each other or with other stdio output. Names are JSON-escaped
/// (invalid UTF-8 becomes U+FFFD); values use the shortest text that reads
/// back to the same double; non-finite values and reserved names (step,
/// epoch, artifact, summary, env, tag) are left out; a negative step or epoch
/// is omitted (the orchestrator then assigns the next step). Thread-safe.
class Reporter {
 public:
  using Metric = std::pair<std::string_view, double>;
  using Sink = std::function<void(std::string_view line)>;

  // Writes to stdout.
  Reporter() : Reporter(stdout) {}
  // Writes to `out`, which must outlive the reporter.
  explicit Reporter(std::FILE* out)
      : sink_([out](std::string_view line) {
          std::fwrite(line.data(), 1, line.size(), out);
          std::fflush(out);
        }) {}
  // Hands each line (with its '\n') to `sink`; for tests and custom streams.
  explicit Reporter(Sink sink) : sink_(std::move(sink)) {}

  void Log(int64_t step, int64_t epoch, std::initializer_list<Metric> metrics) {
    Write(FormatLine(step, epoch, metrics.begin(), metrics.end()));
  }
  void Log(int64_t step, std::initializer_list<Metric> metrics) {
    Write(FormatLine(step, std::nullopt, metrics.begin(), metrics.end()));
  }
  // Without a step the orchestrator assigns the one after the last it saw.
  void Log(std::initializer_list<Metric> metrics) {
    Write(FormatLine(std::nullopt, std::nullopt, metrics.begin(), metrics.end()));
  }
  // For metric sets built at run time.
  void LogValues(std::optional<int64_t> step, std::optional<int64_t> epoch,
                 const std::vector<Metric>& metrics) {
    Write(FormatLine(step, epoch, metrics.data(), metrics.data() + metrics.size()));
  }

  // The record line for these values, ending in '\n'. Pure.
  static std::string FormatLine(std::optional<int64_t> step, std::optional<int64_t> epoch,
                                const Metric* begin, const Metric* end) {
    std::string line = "@orchard {";
    bool first = true;
    auto key = [&](std::string_view name) {
      if (!first) line += ',';
      first = false;
      AppendJsonString(name, &line);
      line += ':';
    };
    char buf[32];
    if (step && *step >= 0) {
      key("step");
      line.append(buf, std::to_chars(buf, buf + sizeof buf, *step).ptr);
    }
    if (epoch && *epoch >= 0) {
      key("epoch");
      line.append(buf, std::to_chars(buf, buf + sizeof buf, *epoch).ptr);
    }
    for (const Metric* m = begin; m != end; ++m) {
      if (!std::isfinite(m->second) || IsReserved(m->first)) continue;
      key(m->first);
      line.append(buf, std::to_chars(buf, buf + sizeof buf, m->second).ptr);
    }
    line += "}\n";
    return line;
  }

  // ORCHARD_RUN_ID, set by the orchestrator; nullopt when run by hand.
  static std::optional<std::string> RunId() { return Env("ORCHARD_RUN_ID"); }
  // ORCHARD_RUN_DIR, where artifacts (checkpoints, exports) belong.
  static std::optional<std::string> RunDir() { return Env("ORCHARD_RUN_DIR"); }
  // ORCHARD_SEED as a number; nullopt when unset or not a valid integer.
  static std::optional<uint64_t> Seed() {
    std::optional<std::string> s = Env("ORCHARD_SEED");
    if (!s) return std::nullopt;
    uint64_t v = 0;
    auto r = std::from_chars(s->data(), s->data() + s->size(), v);
    if (r.ec != std::errc() || r.ptr != s->data() + s->size()) return std::nullopt;
    return v;
  }

 private:
  static std::optional<std::string> Env(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  }

  static bool IsReserved(std::string_view name) {
    return name == "step" || name == "epoch" || name == "artifact" || name == "summary" ||
           name == "env" || name == "tag";
  }

  // Length of the valid UTF-8 sequence at s[i], or 0 when invalid.
  static size_t Utf8Length(std::string_view s, size_t i) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = byte(i);
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return 0;
    }
    if (i + n > s.size()) return 0;
    if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
    for (size_t k = 2; k < n; ++k) {
      if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
    }
    return n;
  }

  static void AppendJsonString(std::string_view s, std::string* out) {
    static constexpr char kHex[] = "0123456789abcdef";
    out->push_back('"');
    for (size_t i = 0; i < s.size();) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c >= 0x80) {
        size_t n = Utf8Length(s, i);
        if (n == 0) {
          out->append("\\ufffd");
          ++i;
        } else {
          out->append(s.substr(i, n));
          i += n;
        }
        continue;
      }
      switch (c) {
        case '"': out->append("\\\""); break;
        case '\\': out->append("\\\\"); break;
        case '\n': out->append("\\n"); break;
        case '\r': out->append("\\r"); break;
        case '\t': out->append("\\t"); break;
        default:
          if (c < 0x20) {
            out->append("\\u00");
            out->push_back(kHex[c >> 4]);
            out->push_back(kHex[c & 0xF]);
          } else {
            out->push_back(static_cast<char>(c));
          }
      }
      ++i;
    }
    out->push_back('"');
  }

  void Write(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    sink_(line);
  }

  std::mutex mu_;
  Sink sink_;
};

}  // namespace orchard
