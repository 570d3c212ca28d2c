#include "revfs/time_util.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace revfs {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

// Consumes exactly `digits` decimal digits from `s`.
bool TakeNumber(std::string_view* s, int digits, int* out) {
  if (s->size() < static_cast<size_t>(digits)) return false;
  int v = 0;
  for (int i = 0; i < digits; ++i) {
    char c = (*s)[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  s->remove_prefix(digits);
  *out = v;
  return true;
}

bool TakeChar(std::string_view* s, char c) {
  if (s->empty() || s->front() != c) return false;
  s->remove_prefix(1);
  return true;
}

bool IsLeapYear(int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Returns the days from 1970-01-01 to the given proleptic Gregorian date.
// Computed here rather than by timegm(3), whose range and handling of years
// before 1900 depend on the C library. (H. Hinnant's days_from_civil.)
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;                                // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;        // [0, 146096]
  return era * 146097 + doe - 719468;
}

// Returns secs * 1e9 + frac_ns (frac_ns in [0, 1e9)), saturated to the int64
// range instead of overflowing.
int64_t SaturatingNanos(int64_t secs, int64_t frac_ns) {
  int64_t ns;
  if (secs < 0) {
    // The second holding INT64_MIN starts below it: count from the second's
    // end back, so its later nanoseconds are still exact.
    if (__builtin_mul_overflow(secs + 1, kNanosPerSecond, &ns) ||
        __builtin_add_overflow(ns, frac_ns - kNanosPerSecond, &ns)) {
      return INT64_MIN;
    }
    return ns;
  }
  if (__builtin_mul_overflow(secs, kNanosPerSecond, &ns) ||
      __builtin_add_overflow(ns, frac_ns, &ns)) {
    return INT64_MAX;
  }
  return ns;
}

// Parses `text` into whole seconds since the epoch and a fraction;
// `has_fraction` says whether the text gave one.
Status ParseParts(std::string_view text, int64_t* secs, int64_t* frac_ns, bool* has_fraction) {
  auto bad = [&] {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not an ISO-8601 time (e.g. 2026-11-24T10:15:00Z)");
  };
  std::string_view s = text;
  int year, month, day, hour = 0, minute = 0, second = 0;
  if (!TakeNumber(&s, 4, &year) || !TakeChar(&s, '-') || !TakeNumber(&s, 2, &month) ||
      !TakeChar(&s, '-') || !TakeNumber(&s, 2, &day)) {
    return bad();
  }
  *frac_ns = 0;
  *has_fraction = false;
  int64_t offset_s = 0;
  if (TakeChar(&s, 'T') || TakeChar(&s, ' ')) {
    if (!TakeNumber(&s, 2, &hour)) return bad();
    bool colons = TakeChar(&s, ':');
    if (!TakeNumber(&s, 2, &minute)) return bad();
    if (colons ? TakeChar(&s, ':') : !s.empty() && s[0] >= '0' && s[0] <= '9') {
      if (!TakeNumber(&s, 2, &second)) return bad();
    }
    if (TakeChar(&s, '.') || TakeChar(&s, ',')) {
      int digits = 0;
      while (!s.empty() && s[0] >= '0' && s[0] <= '9') {
        if (digits < 9) *frac_ns = *frac_ns * 10 + (s[0] - '0');
        ++digits;
        s.remove_prefix(1);
      }
      if (digits == 0) return bad();
      for (; digits < 9; ++digits) *frac_ns *= 10;
      *has_fraction = true;
    }
    if (TakeChar(&s, 'Z') || TakeChar(&s, 'z')) {
    } else if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
      int sign = s[0] == '-' ? -1 : 1;
      s.remove_prefix(1);
      int oh, om = 0;
      if (!TakeNumber(&s, 2, &oh)) return bad();
      TakeChar(&s, ':');
      if (!s.empty() && !TakeNumber(&s, 2, &om)) return bad();
      if (oh > 23 || om > 59) return bad();
      offset_s = sign * (oh * 3600 + om * 60);
    }
  }
  if (!s.empty()) return bad();
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return bad();
  }
  // At most 10,000 years of seconds: far inside int64, so no check needed
  // until the nanoseconds.
  *secs = DaysFromCivil(year, month, day) * 86'400 + hour * 3'600 + minute * 60 + second -
          offset_s;
  return Status::OK();
}

}  // namespace

Result<int64_t> ParseTime(std::string_view text) {
  int64_t secs, frac_ns;
  bool has_fraction;
  REVFS_RETURN_IF_ERROR(ParseParts(text, &secs, &frac_ns, &has_fraction));
  return SaturatingNanos(secs, frac_ns);
}

Result<int64_t> ParseTimeLast(std::string_view text) {
  int64_t secs, frac_ns;
  bool has_fraction;
  REVFS_RETURN_IF_ERROR(ParseParts(text, &secs, &frac_ns, &has_fraction));
  return SaturatingNanos(secs, has_fraction ? frac_ns : kNanosPerSecond - 1);
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct timespec TimespecFromNanos(int64_t ns) {
  int64_t secs = ns / kNanosPerSecond;
  int64_t frac = ns % kNanosPerSecond;
  if (frac < 0) frac += kNanosPerSecond, --secs;  // floor, not truncation
  struct timespec ts{};
  ts.tv_sec = static_cast<time_t>(secs);
  ts.tv_nsec = static_cast<long>(frac);
  return ts;
}

int64_t NanosFromTimespec(const struct timespec& ts) {
  // Normalise first: tv_nsec outside [0, 1e9) would otherwise shift the
  // seconds silently.
  int64_t secs;
  if (__builtin_add_overflow(static_cast<int64_t>(ts.tv_sec), ts.tv_nsec / kNanosPerSecond,
                             &secs)) {
    return ts.tv_sec < 0 ? INT64_MIN : INT64_MAX;
  }
  int64_t frac = ts.tv_nsec % kNanosPerSecond;
  if (frac < 0) frac += kNanosPerSecond, --secs;
  return SaturatingNanos(secs, frac);
}

static std::string Format(int64_t ns, const char* fmt, bool with_fraction) {
  const struct timespec ts = TimespecFromNanos(ns);
  const int64_t frac = ts.tv_nsec;
  std::tm tm{};
  gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof(buf), fmt, &tm);
  std::string out(buf, n);
  if (with_fraction && frac != 0) {
    char f[16];
    std::snprintf(f, sizeof(f), ".%09lld", static_cast<long long>(frac));
    out += f;
  }
  out += 'Z';
  return out;
}

std::string FormatTime(int64_t ns, bool with_fraction) {
  return Format(ns, "%Y-%m-%dT%H:%M:%S", with_fraction);
}

std::string FormatTimeCompact(int64_t ns) { return Format(ns, "%Y-%m-%dT%H%M%S", false); }

}  // namespace revfs
