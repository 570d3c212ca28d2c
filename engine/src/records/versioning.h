// Versioning: what a commit writes for one changed leaf, under each of the
// four approaches (DESIGN.md, "Record pages and fragments"):
//   full          every changed leaf is written whole; reads load 1 fragment
//   incremental   only the changed records; every N-th version of a leaf is a
//                 full dump and the chain restarts there (reads combine <= N)
//   differential  every record changed since the leaf's last full dump; the
//                 chain is that fragment plus the full dump (reads combine <= 2)
//   sliding       the changed records plus every record whose newest copy
//                 would otherwise fall out of the window of the last W
//                 fragments (reads combine <= W, however long the history)
//
// Thread safety: pure functions.
#ifndef REVFS_RECORDS_VERSIONING_H_
#define REVFS_RECORDS_VERSIONING_H_

#include <span>
#include <vector>

#include "records/indirect_page.h"
#include "records/record_page.h"
#include "revfs/store_config.h"

namespace revfs {

struct FragmentPlan {
  bool full_dump = false;
  std::vector<SlotChange> records;  // what the new fragment holds, by slot
  // Indexes into the previous chain of the fragments kept after the new one,
  // in order (newest first).
  std::vector<size_t> keep;
  uint32_t versions = 0;  // the leaf's version count after this fragment
};

// Plans the next fragment of a leaf.
//   prev:    the leaf's current reference, or null for a new leaf
//   current: the leaf combined from prev's chain (empty for a new leaf)
//   newest:  prev's newest fragment decoded (null for a new leaf)
//   changes: this commit's changes to the leaf, ascending unique slots
FragmentPlan PlanFragment(const StoreConfig& config, const LeafRef* prev,
                          const CombinedPage& current, const FragmentView* newest,
                          std::span<const SlotChange> changes);

}  // namespace revfs

#endif  // REVFS_RECORDS_VERSIONING_H_
