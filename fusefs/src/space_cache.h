// SpaceCache: the store's space report (revfs/retention.h, ComputeSpace) for
// .revfs/stats. Computing it walks every distinct page of the kept
// revisions, so it is kept and computed again only when the store has
// changed (every commit, forget, hold, release and prune writes a new
// superblock generation). The first read of the stats after a change
// pays the walk (through the daemon's caches); a store that fails the walk
// reports why instead.
//
// Thread safety: Get may be called from any thread; concurrent callers wait
// for one walk.
#ifndef REVFS_FUSEFS_SPACE_CACHE_H_
#define REVFS_FUSEFS_SPACE_CACHE_H_

#include <cstdint>
#include <memory>

#include "revfs/database.h"
#include "revfs/mutex.h"
#include "revfs/retention.h"
#include "revfs/thread_annotations.h"

namespace revfs::fusefs {

class SpaceCache {
 public:
  // The walk's figures as of the store's current generation; the segment
  // files' bytes (and so the dead bytes) measured now, since a prune that
  // stopped before its bookkeeping changes them without a new generation.
  Result<SpaceReport> Get(Database& db) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    const Superblock sb = db.store().superblock();
    if (!report_ || sb.generation != generation_) {
      REVFS_ASSIGN_OR_RETURN(SpaceReport space, ComputeSpace(db));
      report_ = std::make_shared<const SpaceReport>(std::move(space));
      generation_ = sb.generation;
    }
    SpaceReport now = *report_;
    REVFS_RETURN_IF_ERROR(MeasureStoreBytes(db, &now));
    return now;
  }

 private:
  Mutex mu_;
  std::shared_ptr<const SpaceReport> report_ GUARDED_BY(mu_);
  uint64_t generation_ GUARDED_BY(mu_) = 0;
};

}  // namespace revfs::fusefs

#endif  // REVFS_FUSEFS_SPACE_CACHE_H_
