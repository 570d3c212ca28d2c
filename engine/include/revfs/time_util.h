// ISO-8601 times <-> nanoseconds since the Unix epoch (UTC), as used by
// `--time`, `@TIME` revision names, `revfs log` and the mount's at/ folder.
#ifndef REVFS_TIME_UTIL_H_
#define REVFS_TIME_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "revfs/result.h"

namespace revfs {

// Parses "2026-11-24", "2026-11-24T10:15:00", "2026-11-24T10:15:00.5Z",
// "2026-11-24T10:15:00+01:00" and the colon-less "2026-11-24T101500Z".
// A time without a zone is UTC.
Result<int64_t> ParseTime(std::string_view text);

// Returns "2026-11-24T10:15:00Z", with ".NNNNNNNNN" before the Z when the time
// has a fraction of a second and `with_fraction` is set.
std::string FormatTime(int64_t ns, bool with_fraction = false);

// Returns the colon-less form used for at/ names: "2026-11-24T101500Z".
std::string FormatTimeCompact(int64_t ns);

}  // namespace revfs

#endif  // REVFS_TIME_UTIL_H_
