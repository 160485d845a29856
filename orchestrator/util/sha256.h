// SHA-256 (FIPS 180-4), small and dependency-free.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "flags/status.h"

namespace orchard {

/// Sha256 hashes a byte stream incrementally: call Update() any number of
/// times, then Final() or FinalHex() once. After Final the object is reset and
/// may be reused for a new message. Not thread-safe; one instance per stream.
class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256() { Reset(); }

  void Reset();
  void Update(const void* data, size_t size);
  void Update(std::string_view data) { Update(data.data(), data.size()); }

  // Returns the digest of everything passed to Update() and resets.
  Digest Final();
  // The digest as 64 lower-case hex characters; resets.
  std::string FinalHex();

 private:
  void Block(const uint8_t* p);

  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_bytes_ = 0;
};

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Lower-case hex of `bytes`.
std::string ToHex(const uint8_t* bytes, size_t size);

// Streams the file at `path` through SHA-256 in fixed-size reads (memory use
// does not grow with the file). IoError when it cannot be opened or read.
Result<std::string> Sha256File(const std::string& path);

}  // namespace orchard
