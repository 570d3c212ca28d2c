// Store::State: what a Store's readers share with its writer and Refresh —
// the superblock in force and the revisions index — behind one mutex.
//
// Thread safety: every field is read under `mu` shared and written under it
// exclusive (the writer thread publishing a commit, or Refresh).
#ifndef REVFS_STORE_STORE_STATE_H_
#define REVFS_STORE_STORE_STATE_H_

#include <vector>

#include "revfs/mutex.h"
#include "revfs/store.h"
#include "revfs/thread_annotations.h"

namespace revfs {

struct Store::State {
  mutable SharedMutex mu;
  Superblock sb GUARDED_BY(mu);
  std::vector<RevisionEntry> index GUARDED_BY(mu);  // entries 0..latest
  std::vector<bool> index_damaged GUARDED_BY(mu);
  RetentionState retention GUARDED_BY(mu);  // what sb.retention names
};

}  // namespace revfs

#endif  // REVFS_STORE_STORE_STATE_H_
