// Umbrella header for the flags library: typed values, declarations, and
// the FlagSet a trainer uses to parse its command line.
#pragma once

#include "flags/flag.h"        // IWYU pragma: export
#include "flags/flag_set.h"    // IWYU pragma: export
#include "flags/flag_value.h"  // IWYU pragma: export
#include "flags/status.h"      // IWYU pragma: export
#include "flags/suggest.h"     // IWYU pragma: export
