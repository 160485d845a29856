// ingest_emit: a minimal "trainer" for the ingest benchmark.
//
// Prints --lines metric records in the trainer protocol form
//
//   @orchard {"step": 17, "loss": 1.9664}
//
// as fast as it can: lines are formatted with std::to_chars into a large
// buffer that goes out with write(2) in 1 MiB chunks (no stdio, no per-line
// flush). Values are deterministic (IngestValue below; ingest_ceiling.cc and
// ingest_optuna.py use the same formula) so every system stores the same
// points. With --metrics-per-line=K each line carries K metrics ("loss",
// "m1", "m2", ...), so points = lines * K.
//
// Usage: ingest_emit [--lines=200000] [--metrics-per-line=1]
// Unknown arguments (e.g. flags a launcher adds) are an error.
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

// The value of metric k at step i: a decaying curve with a little
// deterministic wiggle, like a loss. Same formula in the other bench parts.
double IngestValue(int64_t i, int k) {
  return 2.0 / (1.0 + 0.001 * static_cast<double>(i)) +
         0.01 * static_cast<double>((i * 7919 + k * 104729) % 100) / 100.0 + k;
}

bool ParseInt(std::string_view arg, std::string_view prefix, int64_t* out) {
  if (arg.substr(0, prefix.size()) != prefix) return false;
  std::string_view v = arg.substr(prefix.size());
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  if (ec != std::errc() || p != v.data() + v.size() || *out < 0) {
    std::fprintf(stderr, "ingest_emit: bad value in '%.*s'\n", static_cast<int>(arg.size()),
                 arg.data());
    std::exit(2);
  }
  return true;
}

void WriteAll(const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = write(STDOUT_FILENO, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      std::perror("ingest_emit: write");
      std::exit(1);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int64_t lines = 200000;
  int64_t per_line = 1;
  for (int a = 1; a < argc; ++a) {
    std::string_view arg = argv[a];
    if (ParseInt(arg, "--lines=", &lines)) continue;
    if (ParseInt(arg, "--metrics-per-line=", &per_line)) continue;
    std::fprintf(stderr,
                 "ingest_emit: unknown argument '%s'\n"
                 "usage: ingest_emit [--lines=N] [--metrics-per-line=K]\n",
                 argv[a]);
    return 2;
  }
  if (per_line < 1 || per_line > 1000) {
    std::fprintf(stderr, "ingest_emit: --metrics-per-line must be 1..1000\n");
    return 2;
  }
  std::vector<std::string> names;
  for (int64_t k = 0; k < per_line; ++k) names.push_back(k == 0 ? "loss" : "m" + std::to_string(k));

  constexpr size_t kChunk = 1 << 20;
  std::vector<char> buf(kChunk + 64 + 48 * static_cast<size_t>(per_line) + 4096);
  size_t used = 0;
  for (int64_t i = 0; i < lines; ++i) {
    char* p = buf.data() + used;
    static constexpr std::string_view kHead = "@orchard {\"step\": ";
    std::memcpy(p, kHead.data(), kHead.size());
    p += kHead.size();
    p = std::to_chars(p, p + 24, i).ptr;
    for (int k = 0; k < per_line; ++k) {
      *p++ = ',';
      *p++ = ' ';
      *p++ = '"';
      std::memcpy(p, names[k].data(), names[k].size());
      p += names[k].size();
      *p++ = '"';
      *p++ = ':';
      *p++ = ' ';
      // Shortest round-trip form, as Python's repr() or std::format print.
      p = std::to_chars(p, p + 32, IngestValue(i, k)).ptr;
    }
    *p++ = '}';
    *p++ = '\n';
    used = static_cast<size_t>(p - buf.data());
    if (used >= kChunk) {
      WriteAll(buf.data(), used);
      used = 0;
    }
  }
  WriteAll(buf.data(), used);
  return 0;
}
