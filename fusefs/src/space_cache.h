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
  Result<std::shared_ptr<const SpaceReport>> Get(Database& db) EXCLUDES(mu_) {
    const Superblock sb = db.store().superblock();
    MutexLock lock(&mu_);
    if (report_ && sb.generation == generation_) return report_;
    REVFS_ASSIGN_OR_RETURN(SpaceReport space, ComputeSpace(db));
    report_ = std::make_shared<const SpaceReport>(std::move(space));
    generation_ = sb.generation;
    return report_;
  }

 private:
  Mutex mu_;
  std::shared_ptr<const SpaceReport> report_ GUARDED_BY(mu_);
  uint64_t generation_ GUARDED_BY(mu_) = 0;
};

}  // namespace revfs::fusefs

#endif  // REVFS_FUSEFS_SPACE_CACHE_H_
