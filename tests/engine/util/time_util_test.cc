// ParseTime, ParseTimeLast and the timespec conversions at their edges: the
// ends of int64 nanoseconds, years 0000 and 9999, dates that do not exist
// and times before 1970.
#include "revfs/time_util.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace revfs::testing {
namespace {

int64_t Parsed(const std::string& text) {
  auto t = ParseTime(text);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().message();
  return t.ok() ? *t : 0;
}

int64_t ParsedLast(const std::string& text) {
  auto t = ParseTimeLast(text);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().message();
  return t.ok() ? *t : 0;
}

TEST(TimeUtilTest, ParsesOrdinaryTimes) {
  EXPECT_EQ(Parsed("1970-01-01"), 0);
  EXPECT_EQ(Parsed("2026-11-24T10:15:00Z"), 1'795'515'300'000'000'000);
  EXPECT_EQ(Parsed("2026-11-24T101500Z"), 1'795'515'300'000'000'000);
  EXPECT_EQ(Parsed("2026-11-24T11:15:00+01:00"), 1'795'515'300'000'000'000);
  EXPECT_EQ(Parsed("2026-11-24T10:15:00.25Z"), 1'795'515'300'250'000'000);
  EXPECT_EQ(Parsed("1969-12-31T23:59:59.5Z"), -500'000'000);
  EXPECT_EQ(Parsed("1900-01-01"), -2'208'988'800'000'000'000);
}

TEST(TimeUtilTest, EndsOfInt64NanosecondsAreExact) {
  EXPECT_EQ(Parsed("2262-04-11T23:47:16.854775807Z"), INT64_MAX);
  EXPECT_EQ(Parsed("1677-09-21T00:12:43.145224192Z"), INT64_MIN);
}

TEST(TimeUtilTest, TimesOutsideInt64NanosecondsSaturate) {
  EXPECT_EQ(Parsed("2262-04-11T23:47:16.854775808Z"), INT64_MAX);
  EXPECT_EQ(Parsed("2263-01-01"), INT64_MAX);
  EXPECT_EQ(Parsed("2300-01-01"), INT64_MAX);
  EXPECT_EQ(Parsed("2610-01-01"), INT64_MAX);
  EXPECT_EQ(Parsed("9999-12-31T23:59:59.999999999Z"), INT64_MAX);
  EXPECT_EQ(Parsed("9999-12-31T23:59:59-23:59"), INT64_MAX);
  EXPECT_EQ(Parsed("1677-09-21T00:12:43.145224191Z"), INT64_MIN);
  EXPECT_EQ(Parsed("1677-01-01"), INT64_MIN);
  EXPECT_EQ(Parsed("1600-01-01"), INT64_MIN);
  EXPECT_EQ(Parsed("0000-01-01"), INT64_MIN);
  EXPECT_EQ(Parsed("0000-01-01T00:00:00+23:59"), INT64_MIN);
}

TEST(TimeUtilTest, EveryYearFrom0000To9999Parses) {
  int64_t prev = INT64_MIN;
  for (int year = 0; year <= 9999; ++year) {
    char text[32];
    std::snprintf(text, sizeof(text), "%04d-06-15T12:00:00Z", year);
    int64_t t = Parsed(text);
    ASSERT_GE(t, prev) << text;  // monotonic: no wrap-around anywhere
    prev = t;
  }
}

TEST(TimeUtilTest, DatesThatDoNotExistAreInvalid) {
  for (const char* text :
       {"2030-02-30", "2030-02-29", "2100-02-29", "2030-04-31", "2030-13-01", "2030-00-10",
        "2030-01-00", "2030-01-32", "2030-01-01T24:00:00Z", "2030-01-01T10:60:00Z",
        "2030-01-01T10:00:61Z", "2030-01-01T10:00:00+24:00", "2030-01-01T10:00:00+01:60",
        "2030-01-01T10:00:00.Z", "12030-01-01", "", "latest"}) {
    auto t = ParseTime(text);
    EXPECT_TRUE(t.status().IsInvalidArgument()) << text;
    EXPECT_TRUE(ParseTimeLast(text).status().IsInvalidArgument()) << text;
  }
  EXPECT_EQ(Parsed("2028-02-29"), Parsed("2028-03-01") - 86'400'000'000'000);
  EXPECT_EQ(Parsed("2000-02-29"), Parsed("2000-03-01") - 86'400'000'000'000);
  EXPECT_EQ(Parsed("0000-02-29"), INT64_MIN);  // year 0 is a leap year: valid
}

TEST(TimeUtilTest, LongNamesAreRejectedOrParsedWithoutHarm) {
  EXPECT_TRUE(ParseTime(std::string(255, '9')).status().IsInvalidArgument());
  EXPECT_TRUE(ParseTime("2026-11-24T10:15:00Z" + std::string(235, 'x'))
                  .status()
                  .IsInvalidArgument());
  // Digits past the ninth of a fraction are ignored.
  EXPECT_EQ(Parsed("2026-11-24T10:15:00." + std::string(235, '9') + "Z"),
            1'795'515'300'999'999'999);
}

TEST(TimeUtilTest, LastNanosecondOfAName) {
  // A whole-second name names that whole second.
  EXPECT_EQ(ParsedLast("2026-11-24T10:15:00Z"), 1'795'515'300'999'999'999);
  EXPECT_EQ(ParsedLast("2026-11-24T101500Z"), 1'795'515'300'999'999'999);
  EXPECT_EQ(ParsedLast("1970-01-01"), 999'999'999);
  EXPECT_EQ(ParsedLast("1969-12-31T23:59:59Z"), -1);
  // A name with a fraction names that instant.
  EXPECT_EQ(ParsedLast("2026-11-24T10:15:00.25Z"), 1'795'515'300'250'000'000);
  EXPECT_EQ(ParsedLast("2026-11-24T10:15:00.000000000Z"), 1'795'515'300'000'000'000);
  // Saturating at both ends; the second holding INT64_MIN ends inside the range.
  EXPECT_EQ(ParsedLast("2262-04-11T23:47:16Z"), INT64_MAX);
  EXPECT_EQ(ParsedLast("2262-04-11T23:47:15Z"), INT64_MAX - 854'775'808);
  EXPECT_EQ(ParsedLast("9999-12-31T23:59:59Z"), INT64_MAX);
  EXPECT_EQ(ParsedLast("1677-09-21T00:12:43Z"), -9'223'372'036'000'000'001);
  EXPECT_EQ(ParsedLast("1677-09-21T00:12:42Z"), INT64_MIN);
  EXPECT_EQ(ParsedLast("0000-01-01"), INT64_MIN);
}

TEST(TimeUtilTest, TimespecsAreNormalised) {
  struct timespec ts = TimespecFromNanos(-1'500'000'000);
  EXPECT_EQ(ts.tv_sec, -2);
  EXPECT_EQ(ts.tv_nsec, 500'000'000);
  ts = TimespecFromNanos(-500'000'000);
  EXPECT_EQ(ts.tv_sec, -1);
  EXPECT_EQ(ts.tv_nsec, 500'000'000);
  ts = TimespecFromNanos(-1'000'000'000);
  EXPECT_EQ(ts.tv_sec, -1);
  EXPECT_EQ(ts.tv_nsec, 0);
  ts = TimespecFromNanos(1'500'000'000);
  EXPECT_EQ(ts.tv_sec, 1);
  EXPECT_EQ(ts.tv_nsec, 500'000'000);
  ts = TimespecFromNanos(INT64_MIN);
  EXPECT_EQ(ts.tv_sec, -9'223'372'037);
  EXPECT_EQ(ts.tv_nsec, 145'224'192);
  ts = TimespecFromNanos(INT64_MAX);
  EXPECT_EQ(ts.tv_sec, 9'223'372'036);
  EXPECT_EQ(ts.tv_nsec, 854'775'807);
}

TEST(TimeUtilTest, TimespecsBecomeNanoseconds) {
  for (int64_t ns : {int64_t{0}, int64_t{-1}, int64_t{-500'000'000}, int64_t{-1'500'000'000},
                     int64_t{1'795'515'300'250'000'000}, INT64_MIN, INT64_MAX}) {
    EXPECT_EQ(NanosFromTimespec(TimespecFromNanos(ns)), ns) << ns;
  }
  struct timespec ts{};
  ts.tv_sec = -1;
  ts.tv_nsec = 500'000'000;  // how the kernel gives 1969-12-31 23:59:59.5
  EXPECT_EQ(NanosFromTimespec(ts), -500'000'000);
  ts.tv_sec = 14'831'769'600;  // 2440-01-01, which ext4 can hold
  ts.tv_nsec = 0;
  EXPECT_EQ(NanosFromTimespec(ts), INT64_MAX);
  ts.tv_sec = -14'831'769'600;
  EXPECT_EQ(NanosFromTimespec(ts), INT64_MIN);
}

TEST(TimeUtilTest, FormatsTimesBefore1970) {
  EXPECT_EQ(FormatTime(-500'000'000, true), "1969-12-31T23:59:59.500000000Z");
  EXPECT_EQ(FormatTime(-500'000'000), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatTimeCompact(-1), "1969-12-31T235959Z");
  EXPECT_EQ(FormatTime(INT64_MIN, true), "1677-09-21T00:12:43.145224192Z");
  EXPECT_EQ(FormatTime(INT64_MAX, true), "2262-04-11T23:47:16.854775807Z");
}

}  // namespace
}  // namespace revfs::testing
