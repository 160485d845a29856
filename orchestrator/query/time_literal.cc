#include "orchestrator/query/time_literal.h"

#include <cctype>
#include <cstdlib>
#include <ctime>
#include <string>

namespace orchard::query {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// True when s[pos..] starts with `n` digits.
bool Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!IsDigit(s[i])) return false;
  }
  return true;
}

int Field(std::string_view s, size_t pos, size_t n) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

double LocalEpoch(int y, int mo, int d, int h, int mi, int s) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  tm.tm_isdst = -1;  // let the C library decide whether DST applies that day
  return static_cast<double>(std::mktime(&tm));
}

double UnitSeconds(char unit) {
  switch (unit) {
    case 's': return 1;
    case 'm': return 60;
    case 'h': return 3600;
    case 'd': return 86400;
    case 'w': return 7 * 86400;
  }
  return 0;
}

}  // namespace

size_t DateTimeLength(std::string_view s) {
  // YYYY-MM-DD
  if (!Digits(s, 0, 4) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2) || s[7] != '-' ||
      !Digits(s, 8, 2)) {
    return 0;
  }
  size_t n = 10;
  // [T| ]HH:MM
  if (s.size() >= n + 6 && (s[n] == 'T' || s[n] == ' ') && Digits(s, n + 1, 2) &&
      s[n + 3] == ':' && Digits(s, n + 4, 2)) {
    n += 6;
    // :SS
    if (s.size() >= n + 3 && s[n] == ':' && Digits(s, n + 1, 2)) n += 3;
  }
  return n;
}

size_t DurationLength(std::string_view s, double* seconds) {
  size_t i = 0;
  double sign = 1;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    if (s[i] == '-') sign = -1;
    ++i;
  }
  double total = 0;
  int parts = 0;
  for (;;) {
    size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && IsDigit(s[i])) ++i;
    }
    // A part needs at least one digit and a unit letter.
    bool has_digit = false;
    for (size_t k = start; k < i; ++k) has_digit |= IsDigit(s[k]);
    if (!has_digit || i >= s.size() || UnitSeconds(s[i]) == 0) {
      i = start;
      break;
    }
    total += std::strtod(std::string(s.substr(start, i - start)).c_str(), nullptr) *
             UnitSeconds(s[i]);
    ++i;
    ++parts;
  }
  if (parts == 0) return 0;
  if (seconds) *seconds = sign * total;
  return i;
}

Result<TimeSpan> ParseDateTime(std::string_view s) {
  size_t n = DateTimeLength(s);
  if (n == 0 || n != s.size()) {
    return Status::InvalidArgument("'" + std::string(s) +
                                   "' is not a date; write 2026-11-01, 2026-11-01T12:30 or "
                                   "2026-11-01 12:30:05");
  }
  int y = Field(s, 0, 4), mo = Field(s, 5, 2), d = Field(s, 8, 2);
  int h = 0, mi = 0, sec = 0;
  if (n >= 16) {
    h = Field(s, 11, 2);
    mi = Field(s, 14, 2);
  }
  if (n == 19) sec = Field(s, 17, 2);
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59) {
    return Status::InvalidArgument("'" + std::string(s) + "' is not a valid date or time");
  }
  TimeSpan span;
  span.start = LocalEpoch(y, mo, d, h, mi, sec);
  if (n == 10) {
    span.end = LocalEpoch(y, mo, d + 1, 0, 0, 0);  // mktime normalises day 32 etc.
  } else if (n == 16) {
    span.end = span.start + 60;
  } else {
    span.end = span.start + 1;
  }
  return span;
}

Result<TimeSpan> ParseTimeText(std::string_view s, double now_seconds) {
  double seconds = 0;
  if (!s.empty() && s[0] == '-' && DurationLength(s, &seconds) == s.size()) {
    return TimeSpan{now_seconds + seconds, now_seconds + seconds};
  }
  return ParseDateTime(s);
}

}  // namespace orchard::query
