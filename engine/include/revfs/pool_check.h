// The memory rule checked where it matters: when a reader of a store (the
// mount's daemon) is done, every segment it took must be back in the pool
// and no pin held. CheckPoolReturned clears the Database's caches — every
// unpinned page and chunk goes back — and reports what did not.
//
// Thread safety: call it once nothing reads through the Database any more.
#ifndef REVFS_POOL_CHECK_H_
#define REVFS_POOL_CHECK_H_

#include "revfs/status.h"

namespace revfs {

class Database;

// Clears `db`'s caches (record pages and content chunks), then returns OK if
// no pin is held and every segment is back on a free list; otherwise
// Corruption naming the pins held and, per size class, the segments missing.
[[nodiscard]] Status CheckPoolReturned(Database& db);

}  // namespace revfs

#endif  // REVFS_POOL_CHECK_H_
