// Wall-clock time behind a small interface so tests can fix it.
#pragma once

#include <string>

namespace orchard {

// Seconds since the Unix epoch, with sub-millisecond resolution.
double NowSeconds();

// "2026-11-22 14:03:07" in local time; "" for 0.
std::string FormatTime(double seconds);

// "1h02m", "3m07s", "4.2s".
std::string FormatDuration(double seconds);

}  // namespace orchard
