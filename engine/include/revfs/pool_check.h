// The memory rule checked where it matters: when a reader of a store (the
// mount's daemon) is done, every segment it took must be back in the pool
// and no pin held. CheckPoolReturned clears the loader's caches — every
// unpinned page goes back — and reports what did not.
//
// Thread safety: call it once nothing reads through the loader any more.
#ifndef REVFS_POOL_CHECK_H_
#define REVFS_POOL_CHECK_H_

#include "records/page_loader.h"
#include "revfs/status.h"

namespace revfs {

// Clears `loader`'s caches, then returns OK if no pin is held and every
// segment is back on a free list; otherwise Corruption naming the pins held
// and, per size class, the segments missing.
[[nodiscard]] Status CheckPoolReturned(PageLoader& loader);

}  // namespace revfs

#endif  // REVFS_POOL_CHECK_H_
