// The content fingerprint of an ImageSet (ImageSet::fingerprint).
#pragma once
#include <string>

#include "trainer/data/image_set.h"

namespace orchard::trainer {

// Lower-case hex SHA-256 over a canonical, little-endian encoding of the
// class names, and of each image's label, shape and pixels, in order.
// Sources and skipped files are not part of it: the same content read from
// another folder has the same fingerprint.
std::string Fingerprint(const ImageSet& set);

}  // namespace orchard::trainer
