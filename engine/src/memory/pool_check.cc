#include "revfs/pool_check.h"

#include <string>

namespace revfs {

Status CheckPoolReturned(PageLoader& loader) {
  loader.Clear();
  const uint64_t pins = loader.PinsHeld();
  const AllocatorStats stats = loader.allocator().stats();
  if (pins == 0 && stats.Conserved()) return Status::OK();
  std::string missing;
  for (const SizeClassStats& c : stats.classes) {
    if (c.free == c.total) continue;
    missing += (missing.empty() ? "" : ", ") + std::to_string(c.total - c.free) + " of " +
               std::to_string(c.segment_size) + " bytes";
  }
  return Status::Corruption("memory: " + std::to_string(pins) + " pins held, " +
                            std::to_string(stats.bytes_in_use) +
                            " bytes not back in the pool (segments: " +
                            (missing.empty() ? "none" : missing) + ")");
}

}  // namespace revfs
