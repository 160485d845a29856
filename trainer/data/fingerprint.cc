#include "trainer/data/fingerprint.h"

#include <cstdint>

#include "orchestrator/util/sha256.h"

namespace orchard::trainer {
namespace {

// Fixed-width little-endian integers keep the encoding the same on every
// machine, and length prefixes keep ("ab","c") apart from ("a","bc").
void PutU64(Sha256& hash, uint64_t v) {
  uint8_t bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(v >> (8 * i));
  hash.Update(bytes, sizeof bytes);
}

}  // namespace

std::string Fingerprint(const ImageSet& set) {
  Sha256 hash;
  hash.Update("orchard-image-set-v1");
  PutU64(hash, set.class_names.size());
  for (const std::string& name : set.class_names) {
    PutU64(hash, name.size());
    hash.Update(name);
  }
  PutU64(hash, set.images.size());
  for (size_t i = 0; i < set.images.size(); ++i) {
    const Image& image = set.images[i];
    PutU64(hash, static_cast<uint64_t>(static_cast<int64_t>(set.labels[i])));
    PutU64(hash, static_cast<uint64_t>(image.height));
    PutU64(hash, static_cast<uint64_t>(image.width));
    PutU64(hash, static_cast<uint64_t>(image.channels));
    hash.Update(image.pixels.data(), image.pixels.size());
  }
  return hash.FinalHex();
}

}  // namespace orchard::trainer
