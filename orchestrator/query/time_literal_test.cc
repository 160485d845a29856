#include "orchestrator/query/time_literal.h"

#include <gtest/gtest.h>

#include <ctime>

namespace orchard::query {
namespace {

double Local(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  tm.tm_isdst = -1;
  return static_cast<double>(std::mktime(&tm));
}

TEST(TimeLiteral, DateTimeLengthRecognisesTheThreeShapes) {
  EXPECT_EQ(DateTimeLength("2026-11-01"), 10u);
  EXPECT_EQ(DateTimeLength("2026-11-01T12:30"), 16u);
  EXPECT_EQ(DateTimeLength("2026-11-01 12:30:05 and x"), 19u);
  EXPECT_EQ(DateTimeLength("2026-11-01 and"), 10u);
  EXPECT_EQ(DateTimeLength("2026-11-01T1"), 10u);
  EXPECT_EQ(DateTimeLength("2026-1-01"), 0u);
  EXPECT_EQ(DateTimeLength("20261101"), 0u);
  EXPECT_EQ(DateTimeLength(""), 0u);
}

TEST(TimeLiteral, DurationLength) {
  double s = 0;
  EXPECT_EQ(DurationLength("90s", &s), 3u);
  EXPECT_DOUBLE_EQ(s, 90);
  EXPECT_EQ(DurationLength("-7d", &s), 3u);
  EXPECT_DOUBLE_EQ(s, -7 * 86400);
  EXPECT_EQ(DurationLength("1h30m", &s), 5u);
  EXPECT_DOUBLE_EQ(s, 5400);
  EXPECT_EQ(DurationLength("1.5h)", &s), 4u);
  EXPECT_DOUBLE_EQ(s, 5400);
  EXPECT_EQ(DurationLength("2w", &s), 2u);
  EXPECT_DOUBLE_EQ(s, 14 * 86400);
  EXPECT_EQ(DurationLength("12", &s), 0u);
  EXPECT_EQ(DurationLength("h", &s), 0u);
  EXPECT_EQ(DurationLength("-", &s), 0u);
  EXPECT_EQ(DurationLength("3x", &s), 0u);
}

TEST(TimeLiteral, DatesArePeriodsInLocalTime) {
  Result<TimeSpan> day = ParseDateTime("2026-11-01");
  ASSERT_TRUE(day.ok());
  EXPECT_EQ(day->start, Local(2026, 11, 1));
  EXPECT_EQ(day->end, Local(2026, 11, 2));
  Result<TimeSpan> minute = ParseDateTime("2026-11-01T12:30");
  ASSERT_TRUE(minute.ok());
  EXPECT_EQ(minute->start, Local(2026, 11, 1, 12, 30));
  EXPECT_EQ(minute->end, minute->start + 60);
  Result<TimeSpan> second = ParseDateTime("2026-11-01 12:30:05");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->start, Local(2026, 11, 1, 12, 30, 5));
  EXPECT_EQ(second->end, second->start + 1);
  Result<TimeSpan> year_end = ParseDateTime("2026-12-31");
  ASSERT_TRUE(year_end.ok());
  EXPECT_EQ(year_end->end, Local(2027, 1, 1));
  EXPECT_TRUE(ParseDateTime("2028-02-29").ok());  // leap year
}

TEST(TimeLiteral, InvalidDates) {
  for (const char* bad : {"2026-02-29", "2026-13-01", "2026-00-10", "2026-11-31",
                          "2026-11-01T24:00", "2026-11-01T12:60", "2026-11-01 12:30:61"}) {
    Result<TimeSpan> t = ParseDateTime(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().message(), "'" + std::string(bad) + "' is not a valid date or time");
  }
  EXPECT_EQ(ParseDateTime("soon").status().message(),
            "'soon' is not a date; write 2026-11-01, 2026-11-01T12:30 or 2026-11-01 12:30:05");
}

TEST(TimeLiteral, RelativeTimesCountBackFromNow) {
  Result<TimeSpan> t = ParseTimeText("-3h", 100000);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->start, 100000 - 3 * 3600);
  EXPECT_TRUE(t->instant());
  EXPECT_FALSE(ParseTimeText("3h", 100000).ok());
  EXPECT_TRUE(ParseTimeText("2026-11-01", 0).ok());
}

}  // namespace
}  // namespace orchard::query
