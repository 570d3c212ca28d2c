#include "revfs/time_util.h"

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

}  // namespace

Result<int64_t> ParseTime(std::string_view text) {
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
  int64_t frac_ns = 0;
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
        if (digits < 9) frac_ns = frac_ns * 10 + (s[0] - '0'), ++digits;
        s.remove_prefix(1);
      }
      if (digits == 0) return bad();
      for (; digits < 9; ++digits) frac_ns *= 10;
    }
    if (TakeChar(&s, 'Z') || TakeChar(&s, 'z')) {
    } else if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
      int sign = s[0] == '-' ? -1 : 1;
      s.remove_prefix(1);
      int oh, om = 0;
      if (!TakeNumber(&s, 2, &oh)) return bad();
      TakeChar(&s, ':');
      if (!s.empty() && !TakeNumber(&s, 2, &om)) return bad();
      offset_s = sign * (oh * 3600 + om * 60);
    }
  }
  if (!s.empty()) return bad();
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60) {
    return bad();
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  time_t t = timegm(&tm);
  if (tm.tm_mday != day) return bad();  // e.g. February 30th was normalized
  return (static_cast<int64_t>(t) - offset_s) * kNanosPerSecond + frac_ns;
}

static std::string Format(int64_t ns, const char* fmt, bool with_fraction) {
  int64_t secs = ns / kNanosPerSecond;
  int64_t frac = ns % kNanosPerSecond;
  if (frac < 0) frac += kNanosPerSecond, --secs;
  time_t t = static_cast<time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
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
