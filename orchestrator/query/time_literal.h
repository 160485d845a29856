// Dates and durations as the filter language writes them.
//
// Absolute times are local wall-clock times at day, minute or second
// precision: 2026-11-01, 2026-11-01T12:30, 2026-11-01 12:30:05. Each names a
// period (the whole day, minute or second), which is how `created = 2026-11-01`
// can mean "any time that day". Durations are one or more number+unit pairs,
// units s, m (minutes), h, d, w, with an optional sign: 90s, 1.5h, 1h30m, -7d.
//
// Pure functions apart from the process's time zone (mktime); thread-safe as
// far as the C library's mktime is.
#pragma once

#include <string_view>

#include "flags/status.h"

namespace orchard::query {

// A half-open interval of epoch seconds [start, end). end == start marks an
// instant (a relative time such as "-7d" or a number of epoch seconds).
struct TimeSpan {
  double start = 0;
  double end = 0;
  bool instant() const { return end <= start; }
};

// The length of the date-time at the start of `s` (0 when there is none).
// Recognises the shape only; ParseDateTime validates the fields.
size_t DateTimeLength(std::string_view s);

// The length of the duration at the start of `s` (0 when there is none) and
// its value in seconds, negative when it starts with '-'.
size_t DurationLength(std::string_view s, double* seconds);

// Parses a whole absolute date-time in local time. Fails with InvalidArgument
// ("2026-13-01 is not a valid date") for impossible fields.
Result<TimeSpan> ParseDateTime(std::string_view s);

// Parses `s` as an absolute date-time or a relative time ("-7d": now minus
// seven days; the sign is required so that "7d" is never read as a date).
Result<TimeSpan> ParseTimeText(std::string_view s, double now_seconds);

}  // namespace orchard::query
