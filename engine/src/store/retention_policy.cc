// ApplyRetentionPolicy and keep-within durations (revfs/retention.h).
#include <time.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <map>
#include <set>

#include "revfs/retention.h"

namespace revfs {
namespace {

struct tm UtcOf(int64_t ns) {
  // Floor to seconds, so times before 1970 fall in the right second.
  int64_t secs = ns / 1'000'000'000;
  if (ns % 1'000'000'000 < 0) --secs;
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&t, &tm);
  return tm;
}

// The bucket of a revision's time under each calendar policy.
int64_t HourBucket(const struct tm& t) {
  return (t.tm_year + 1900LL) * 1000000 + (t.tm_mon + 1) * 10000 + t.tm_mday * 100 + t.tm_hour;
}
int64_t DayBucket(const struct tm& t) {
  return (t.tm_year + 1900LL) * 10000 + (t.tm_mon + 1) * 100 + t.tm_mday;
}
int64_t WeekBucket(const struct tm& t) {
  // ISO 8601: the week with the year's first Thursday is week 1; the year
  // is the one that Thursday lies in.
  const int wday = (t.tm_wday + 6) % 7;  // Monday 0
  const int thursday_yday = t.tm_yday - wday + 3;
  int64_t year = t.tm_year + 1900LL;
  int yday = thursday_yday;
  auto days_in = [](int64_t y) {
    return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 366 : 365;
  };
  if (yday < 0) {
    --year;
    yday += days_in(year);
  } else if (yday >= days_in(year)) {
    yday -= days_in(year);
    ++year;
  }
  return year * 100 + yday / 7 + 1;
}
int64_t MonthBucket(const struct tm& t) { return (t.tm_year + 1900LL) * 100 + t.tm_mon + 1; }
int64_t YearBucket(const struct tm& t) { return t.tm_year + 1900LL; }

}  // namespace

Result<CalendarDuration> ParseKeepWithin(std::string_view text) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("keep-within duration '" + std::string(text) + "': " + why);
  };
  CalendarDuration d;
  int* fields[] = {&d.years, &d.months, &d.days, &d.hours};
  const char units[] = "ymdh";
  size_t next_unit = 0, i = 0;
  bool any = false;
  if (text.empty()) return bad("empty");
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      return bad("expected a number (like 1y6m, 7d, 36h)");
    }
    int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      n = n * 10 + (text[i++] - '0');
      if (n > 100000) return bad("number out of range (at most 100000)");
    }
    if (i == text.size()) return bad("a number needs a unit (y, m, d or h)");
    size_t u = next_unit;
    while (u < 4 && units[u] != text[i]) ++u;
    if (u == 4) return bad("units are y, m, d, h, each once, in this order");
    *fields[u] = static_cast<int>(n);
    any = any || n > 0;
    next_unit = u + 1;
    ++i;
  }
  if (!any) return bad("must be longer than zero");
  return d;
}

int64_t SubtractCalendar(int64_t ns, const CalendarDuration& d) {
  struct tm t = UtcOf(ns);
  const int64_t sub_ns = ((ns % 1'000'000'000) + 1'000'000'000) % 1'000'000'000;
  t.tm_year -= d.years;
  t.tm_mon -= d.months;
  t.tm_mday -= d.days;
  t.tm_hour -= d.hours;
  const time_t secs = timegm(&t);  // normalises, as Go's AddDate does
  if (secs < INT64_MIN / 1'000'000'000 + 1) return INT64_MIN;
  return static_cast<int64_t>(secs) * 1'000'000'000 + sub_ns;
}

PolicyDecision ApplyRetentionPolicy(std::vector<RevisionTime> revisions,
                                    const RetentionPolicy& policy,
                                    const std::vector<uint64_t>& held) {
  std::sort(revisions.begin(), revisions.end(),
            [](const RevisionTime& a, const RevisionTime& b) { return a.revision > b.revision; });
  std::map<uint64_t, std::vector<std::string>> kept;
  if (revisions.empty()) return {};
  if (policy.empty()) {
    for (const auto& r : revisions) kept[r.revision];
  }
  const std::set<uint64_t> holds(held.begin(), held.end());
  struct Bucket {
    const char* name;
    uint64_t left;
    int64_t (*of)(const struct tm&);
    std::optional<int64_t> last;
  };
  Bucket buckets[] = {{"hourly", policy.hourly, HourBucket, {}},
                      {"daily", policy.daily, DayBucket, {}},
                      {"weekly", policy.weekly, WeekBucket, {}},
                      {"monthly", policy.monthly, MonthBucket, {}},
                      {"yearly", policy.yearly, YearBucket, {}}};
  std::optional<int64_t> cutoff;
  if (policy.within) cutoff = SubtractCalendar(revisions.front().time_ns, *policy.within);
  uint64_t last_left = policy.last;
  for (size_t i = 0; i < revisions.size(); ++i) {
    const RevisionTime& r = revisions[i];
    std::vector<std::string> why;
    if (i == 0) why.push_back("latest");
    if (holds.count(r.revision)) why.push_back("held");
    if (last_left > 0) {
      --last_left;
      why.push_back("last");
    }
    const struct tm t = UtcOf(r.time_ns);
    for (Bucket& b : buckets) {
      if (b.left == 0) continue;
      const int64_t v = b.of(t);
      if (b.last && *b.last == v) continue;
      b.last = v;
      --b.left;
      why.push_back(b.name);
    }
    if (cutoff && r.time_ns > *cutoff) why.push_back("within");
    if (!why.empty() || policy.empty()) kept[r.revision] = std::move(why);
  }
  PolicyDecision d;
  for (auto it = revisions.rbegin(); it != revisions.rend(); ++it) {
    auto k = kept.find(it->revision);
    if (k == kept.end()) {
      d.forget.push_back(it->revision);
    } else {
      d.keep.push_back(it->revision);
      d.reasons.push_back(std::move(k->second));
    }
  }
  return d;
}

}  // namespace revfs
