// Prune (revfs/retention.h): liveness, the rewrite of kept revisions when it
// pays (and liveness again), then the store's packing step, then the
// bookkeeping. The order is the crash argument of engine/FORMAT.md,
// "Prune": liveness only reads; the rewrite is one durable switch of roots
// whose records are the same; PackSegments keeps every live address
// readable at every moment; RecordPrune is one durable switch whose loss
// costs nothing but a stale figure, which the next prune rewrites.
#include <algorithm>

#include "revfs/database.h"
#include "revfs/retention.h"
#include "revfs/store.h"
#include "store/segment_file.h"
#include "store/store_files.h"

namespace revfs {

Result<PruneReport> Prune(Database& db, const PruneOptions& options) {
  if (options.max_unused_percent > 100) {
    return Status::InvalidArgument("max-unused: " + std::to_string(options.max_unused_percent) +
                                   " is not a percentage (0 to 100)");
  }
  Store& store = db.store();
  PruneReport report;
  const std::vector<uint64_t> kept = store.KeptRevisions();
  report.kept_revisions = kept.size();
  report.forgotten_revisions = store.latest_revision() + 1 - kept.size();
  REVFS_ASSIGN_OR_RETURN(report.store_bytes_before, SegmentFilesBytes(store.env(), store.path()));
  REVFS_ASSIGN_OR_RETURN(Liveness live, ComputeLiveness(db, kept));
  report.stale_fragment_bytes = live.stale_fragment_bytes;
  // Under full versioning a leaf is one fragment, whole: a forgotten
  // revision's fragment that a kept revision reads is all current records,
  // and a rewrite would only copy it.
  if (live.first_stale && store.config().versioning != Versioning::kFull &&
      live.stale_fragment_bytes * 100 > live.fragment_bytes * options.max_unused_percent) {
    // Rewritten from the first kept revision whose chains hold a forgotten
    // revision's fragment; the new roots are in force (durably) before
    // liveness runs again and packing drops the old ones' pages. A dry run
    // says how many it would rewrite.
    auto first = std::lower_bound(kept.begin(), kept.end(), *live.first_stale);
    report.rewritten_revisions = static_cast<uint64_t>(kept.end() - first);
    if (!options.dry_run) {
      std::optional<uint64_t> base;
      if (first != kept.begin()) base = *std::prev(first);
      Database::RewriteReport rewrite;
      REVFS_RETURN_IF_ERROR(
          db.RewriteRevisions(base, std::vector<uint64_t>(first, kept.end()), &rewrite));
      report.rewritten_revisions = rewrite.revisions;
      report.rewrite_bytes = rewrite.bytes_written;
      report.rewrite_records = rewrite.records_changed;
      REVFS_ASSIGN_OR_RETURN(live, ComputeLiveness(db, kept));
    }
  }
  PackOptions pack;
  pack.max_unused_percent = options.max_unused_percent;
  pack.dry_run = options.dry_run;
  LiveSet set = live.BySegment();
  // The retention page liveness kept (the store's bookkeeping): sealing or
  // settling below writes it anew, and then the old one is dead.
  const PageRef marked = store.superblock().retention;
  // The segment appended to is packed too when it is dead enough: sealed
  // first (the next page goes to a new segment), so that a small store,
  // all in one segment, gives its space back as a big one does.
  const uint64_t end = store.superblock().pages_end;
  const uint32_t newest = SegmentOf(end - 1);
  const uint64_t committed = end - SegmentBase(newest);
  uint64_t newest_live = 0;
  if (auto it = set.segments.find(newest); it != set.segments.end()) {
    for (const auto& [address, size] : it->second) newest_live += size;
  }
  const uint64_t newest_dead = committed > newest_live ? committed - newest_live : 0;
  // Not for a few dead pages (the retention pages each prune writes): only
  // when an eighth of a segment (at most 1 MiB) would come back.
  const uint64_t worth = std::min<uint64_t>(store.config().segment_size / 8, 1 << 20);
  bool settled = false;
  if (newest_dead >= worth && newest_dead * 100 > committed * options.max_unused_percent) {
    if (options.dry_run) {
      pack.include_newest = true;
    } else {
      REVFS_RETURN_IF_ERROR(store.SealNewestSegment());
      settled = true;
    }
  }
  if (!options.dry_run && !settled) {
    // The older superblock slot must not name a segment packing may pack or
    // delete (a kill before RecordPrune would leave it so): when it names
    // one older than the segment appended to, both are written anew first.
    REVFS_ASSIGN_OR_RETURN(bool older, store.FallbackSlotInOlderSegment());
    if (older) REVFS_RETURN_IF_ERROR(store.SettleSlots());
  }
  if (const PageRef now = store.superblock().retention; now.offset != marked.offset) {
    // Both superblock slots name pages in the segment appended to now: the
    // page they named before is packed away with the rest of the dead, not
    // kept for the next prune to pack again.
    if (!marked.IsNull()) {
      auto it = set.segments.find(SegmentOf(marked.offset));
      if (it != set.segments.end()) it->second.erase(marked.offset);
    }
    set.Add(now);
  }
  REVFS_RETURN_IF_ERROR(store.PackSegments(set, pack, &report.pack));
  live.pages.clear();
  live.pages.shrink_to_fit();
  report.live = std::move(live);
  if (options.dry_run) {
    report.store_bytes_after =
        report.store_bytes_before - report.pack.bytes_before + report.pack.bytes_after;
    return report;
  }
  REVFS_RETURN_IF_ERROR(store.RecordPrune(report.pack.live_bytes));
  REVFS_ASSIGN_OR_RETURN(report.store_bytes_after, SegmentFilesBytes(store.env(), store.path()));
  return report;
}

}  // namespace revfs
