// The memory rule's check over an allocator (CheckSegmentsReturned); the
// public CheckPoolReturned (revfs/pool_check.h) clears a Database's caches
// and asks it.
#include <string>

#include "memory/segment_allocator.h"

namespace revfs {

Status CheckSegmentsReturned(const SegmentAllocator& allocator, uint64_t pins_held) {
  const AllocatorStats stats = allocator.stats();
  if (pins_held == 0 && stats.Conserved()) return Status::OK();
  std::string missing;
  for (const SizeClassStats& c : stats.classes) {
    if (c.free == c.total) continue;
    missing += (missing.empty() ? "" : ", ") + std::to_string(c.total - c.free) + " of " +
               std::to_string(c.segment_size) + " bytes";
  }
  return Status::Corruption("memory: " + std::to_string(pins_held) + " pins held, " +
                            std::to_string(stats.bytes_in_use) +
                            " bytes not back in the pool (segments: " +
                            (missing.empty() ? "none" : missing) + ")");
}

}  // namespace revfs
