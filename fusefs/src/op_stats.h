// OpStats: how many FUSE operations of each kind the mount answered and
// their mean time, for .revfs/stats ("ops"). The handlers count through
// RevFs::CountOp with an OpIndex.
//
// Thread safety: relaxed atomic counters, bumped from any thread.
#ifndef REVFS_FUSEFS_OP_STATS_H_
#define REVFS_FUSEFS_OP_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>

namespace revfs::fusefs {

// Op indexes for RevFs::CountOp and the stats.
enum OpIndex {
  kOpLookup, kOpGetattr, kOpReadlink, kOpOpendir, kOpReaddir, kOpOpen, kOpRead, kOpRelease,
  kOpXattr, kOpStatfs, kOpForget, kOpWrite, kOpCount
};

// The stats' names of the op indexes, in their order.
inline constexpr const char* kOpNames[kOpCount] = {
    "lookup", "getattr", "readlink", "opendir", "readdir", "open",
    "read",   "release", "xattr",    "statfs",  "forget",  "write"};

struct OpStats {
  std::array<std::atomic<uint64_t>, kOpCount> count{};
  std::array<std::atomic<uint64_t>, kOpCount> nanos{};
};

}  // namespace revfs::fusefs

#endif  // REVFS_FUSEFS_OP_STATS_H_
