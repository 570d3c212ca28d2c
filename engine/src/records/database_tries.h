// Database::Tries: the root of each revision's record trie that the Database
// has read (revision number -> root, height, time), so that opening a
// revision again reads no revision root from the store.
//
// Thread safety: `map` is read under `mu` shared and written under it
// exclusive; an entry is replaced when its revision's root page changes
// (prune's rewrite), never removed.
#ifndef REVFS_RECORDS_DATABASE_TRIES_H_
#define REVFS_RECORDS_DATABASE_TRIES_H_

#include <cstdint>
#include <map>

#include "revfs/database.h"
#include "revfs/mutex.h"
#include "revfs/thread_annotations.h"

namespace revfs {

struct Database::Tries {
  mutable SharedMutex mu;
  std::map<uint64_t, TrieInfo> map GUARDED_BY(mu);
};

}  // namespace revfs

#endif  // REVFS_RECORDS_DATABASE_TRIES_H_
