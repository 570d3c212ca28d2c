// FinishUpgrade: the last step of `revfs upgrade` from format 2
// (engine/FORMAT.md, "Upgrade from format 2"): the latest revision is
// rewritten without format 2's chunk index, whose records this format would
// misread, and the same switch clears the superblock flag that keeps
// commits off it. Everything else of format 2 is read in place.
#include <algorithm>
#include <optional>
#include <vector>

#include "revfs/inode.h"
#include "revfs/tree.h"

namespace revfs {

Result<uint64_t> FinishUpgrade(Database& db) {
  Store& store = db.store();
  if (!(store.superblock().flags & kFlagFormat2Index)) return uint64_t{0};
  const std::vector<uint64_t> kept = store.KeptRevisions();
  if (kept.empty()) return Status::Corruption(store.path() + ": no kept revision");
  const uint64_t latest = kept.back();
  // Format 2's buckets (kind 3) and recent-chunk log (kind 4).
  std::vector<uint64_t> doomed;
  {
    REVFS_ASSIGN_OR_RETURN(auto trx, db.BeginRead(latest));
    constexpr uint64_t kLast = kChunkLogBase | (kChunkLogBase - kChunkIndexBase - 1);
    REVFS_RETURN_IF_ERROR(trx->Scan(kChunkIndexBase, kLast, [&](uint64_t key, std::string_view) {
      doomed.push_back(key);
      return true;
    }));
  }
  // Written as a commit on the kept revision before it would write it, so
  // every versioning approach's fragment bound holds.
  std::optional<uint64_t> base;
  if (kept.size() > 1) base = kept[kept.size() - 2];
  Database::RewriteOptions options;
  options.edit = [&](uint64_t, WriteTrx& trx) -> Status {
    for (uint64_t key : doomed) REVFS_RETURN_IF_ERROR(trx.Delete(key));
    return Status::OK();
  };
  options.clear_flags = kFlagFormat2Index;
  Database::RewriteReport report;
  REVFS_RETURN_IF_ERROR(db.RewriteRevisions(base, {latest}, &report, options));
  return static_cast<uint64_t>(doomed.size());
}

}  // namespace revfs
