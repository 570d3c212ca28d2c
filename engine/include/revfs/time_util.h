// ISO-8601 times <-> nanoseconds since the Unix epoch (UTC), as used by
// `--time`, `@TIME` revision names, `revfs log` and the mount's at/ folder,
// and nanoseconds <-> the timespecs of stat(2); and the wall clock.
//
// Nanoseconds are int64: they reach from 1677-09-21 to 2262-04-11. Times of
// years 0000-9999 outside that range are not errors (a user asking for
// at/2300-01-01 means "after everything"); they saturate to INT64_MIN or
// INT64_MAX, which still compare correctly with every commit time.
#ifndef REVFS_TIME_UTIL_H_
#define REVFS_TIME_UTIL_H_

#include <time.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "revfs/result.h"

namespace revfs {

// Parses "2026-11-24", "2026-11-24T10:15:00", "2026-11-24T10:15:00.5Z",
// "2026-11-24T10:15:00+01:00" and the colon-less "2026-11-24T101500Z".
// A time without a zone is UTC. Returns the first nanosecond the text names,
// saturated to INT64_MIN / INT64_MAX outside int64 nanoseconds;
// InvalidArgument for anything else, including dates that do not exist
// (2030-02-30).
Result<int64_t> ParseTime(std::string_view text);

// Like ParseTime, but returns the last nanosecond the text names: a name
// without a fraction of a second (the form at/ lists) names that whole
// second, so 999'999'999 ns past ParseTime's (saturating); a name with a
// fraction names that instant. Use it to resolve "the revision current at
// TEXT", so a commit made during the named second counts.
Result<int64_t> ParseTimeLast(std::string_view text);

// Returns "2026-11-24T10:15:00Z", with ".NNNNNNNNN" before the Z when the time
// has a fraction of a second and `with_fraction` is set.
std::string FormatTime(int64_t ns, bool with_fraction = false);

// Returns the colon-less form used for at/ names: "2026-11-24T101500Z".
std::string FormatTimeCompact(int64_t ns);

// Returns `ns` as a timespec whose tv_nsec is in [0, 1e9), as stat(2) and
// utimensat(2) require: times before 1970 round the seconds down (-1.5 s is
// {-2, 500000000}, not {-1, -500000000}).
struct timespec TimespecFromNanos(int64_t ns);

// Returns a (normalised) timespec as nanoseconds, saturated to INT64_MIN /
// INT64_MAX outside int64 nanoseconds (file systems keep times int64
// nanoseconds cannot hold, e.g. ext4 up to 2446).
int64_t NanosFromTimespec(const struct timespec& ts);

// Returns the wall clock (the system clock) as nanoseconds since the epoch:
// what Env::Default() reports, for the time of a revision made now.
int64_t NowNanos();

}  // namespace revfs

#endif  // REVFS_TIME_UTIL_H_
