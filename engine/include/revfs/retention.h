// Retention: which revisions a policy keeps, and which pages the kept
// revisions need.
//
// ApplyRetentionPolicy is restic's `forget --keep-*` over revfs revisions
// (a pure function: the CLI computes the set, Store::Forget applies it).
// Buckets are calendar periods in UTC, so a policy decides the same on
// every machine whatever its time zone: for each bucket policy (last,
// hourly, daily, weekly (ISO 8601 weeks), monthly, yearly) the revisions are
// walked newest first, and one is kept when its bucket differs from that of
// the last revision this policy kept, until the policy has kept N. keep-last
// puts every revision in a bucket of its own. keep-within keeps every
// revision strictly after (newest revision's time - duration), with the
// duration subtracted on the calendar (1m from 31 March is 3 March, as
// restic's Go AddDate normalises). A revision is kept if any policy keeps
// it; the newest revision and held ones are always kept.
//
// ComputeLiveness (tree/liveness.cc) is what prune keeps: every page a kept
// revision reaches.
//
// Thread safety: ApplyRetentionPolicy and ParseKeepWithin are pure;
// ComputeLiveness reads through a Database, which may be shared.
#ifndef REVFS_RETENTION_H_
#define REVFS_RETENTION_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "revfs/result.h"
#include "revfs/store.h"

namespace revfs {

class Database;
class JsonWriter;

// A calendar duration: "1y6m", "7d", "36h", "2y3m4d5h" (each unit once at
// most, in this order; restic's keep-within units).
struct CalendarDuration {
  int years = 0, months = 0, days = 0, hours = 0;
  bool operator==(const CalendarDuration&) const = default;
};
// InvalidArgument naming the text for anything else (empty, unknown unit,
// a number out of 0..100000, nothing but zeros).
Result<CalendarDuration> ParseKeepWithin(std::string_view text);
// Returns `ns` minus `d` on the UTC calendar.
int64_t SubtractCalendar(int64_t ns, const CalendarDuration& d);

struct RetentionPolicy {
  // 0: the policy is not used. At most kMaxKeep each.
  uint64_t last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0;
  std::optional<CalendarDuration> within;
  bool empty() const {
    return last + hourly + daily + weekly + monthly + yearly == 0 && !within;
  }
};
inline constexpr uint64_t kMaxKeep = 1'000'000;

struct RevisionTime {
  uint64_t revision = 0;
  int64_t time_ns = 0;
};

struct PolicyDecision {
  std::vector<uint64_t> keep;    // ascending
  std::vector<uint64_t> forget;  // ascending
  // Why each kept revision is kept ("last", "daily", "within", "latest",
  // "held"), parallel to `keep`.
  std::vector<std::vector<std::string>> reasons;
};

// Decides which of `revisions` (the kept ones of a store, any order; times
// non-decreasing in revision order) `policy` keeps. The newest revision and
// those in `held` are always kept. An empty policy keeps everything.
PolicyDecision ApplyRetentionPolicy(std::vector<RevisionTime> revisions,
                                    const RetentionPolicy& policy,
                                    const std::vector<uint64_t>& held);

// The pages prune must keep: every page reachable from a kept revision.
struct LivePage {
  uint64_t offset = 0;  // the page's address (PageRef::offset)
  uint32_t size = 0;    // header + payload (PageRef::size)
  bool operator==(const LivePage&) const = default;
};
struct Liveness {
  std::vector<LivePage> pages;  // sorted by offset, unique
  uint64_t live_bytes = 0;      // sum of pages[i].size
  // Pages by what they are (what they were first reached as), and their
  // bytes: a delta base is a chunk a live delta needs but no kept revision
  // names itself.
  uint64_t revision_roots = 0, indirect_pages = 0, fragments = 0, chunks = 0,
           delta_bases = 0;
  uint64_t revision_root_bytes = 0, indirect_bytes = 0, fragment_bytes = 0, chunk_bytes = 0,
           delta_base_bytes = 0;
  // fragment_bytes by the kind of record the leaf holds (a record id's top
  // 4 bits: 1 inodes, 2 sorted-map blocks, 3 chunk index, 4 chunk log).
  std::array<uint64_t, 16> fragment_bytes_by_record_kind{};
  // Fragments written by forgotten revisions that kept revisions' chains
  // still hold, their bytes, and the first kept revision reaching one:
  // where prune's rewrite starts (engine/FORMAT.md, "Re-versioning the kept
  // revisions").
  uint64_t stale_fragment_bytes = 0;
  std::optional<uint64_t> first_stale;
  // Walk counters: indirect pages, leaf references and map blocks met
  // again and skipped.
  uint64_t shared_indirect_skipped = 0, shared_leaves_skipped = 0, shared_blocks_skipped = 0;
  // Returns whether the page at `offset` is live.
  bool Contains(uint64_t offset) const;
  // The same pages by segment, as Store::PackSegments takes them.
  LiveSet BySegment() const;
};

// Walks every revision in `kept` (each must exist and not be forgotten):
// its root page, its record trie's indirect pages, every fragment of every
// leaf reference (whole chains: no chain is shortened), the chunk pages
// named by its inode records (inline lists and chunk-list sorted-map
// blocks), and the base of each delta chunk, transitively; plus the store's
// retention page in force. An indirect page, a leaf reference or a map
// block met before is not walked again, so the cost is the distinct pages
// of the kept revisions. Reads through `db`'s loaders (its caches).
Result<Liveness> ComputeLiveness(Database& db, const std::vector<uint64_t>& kept);

// Where the space of a store goes (`revfs log --json`, `.revfs/stats`).
struct RevisionSpace {
  uint64_t revision = 0;
  // The bytes of the pages this kept revision alone reaches: what forgetting
  // it (and nothing else) and pruning would give back.
  uint64_t alone_bytes = 0;
};
struct SpaceReport {
  std::vector<RevisionSpace> revisions;  // every kept revision, ascending
  uint64_t live_bytes = 0;         // alone + shared + bookkeeping
  uint64_t alone_bytes = 0;        // the sum over revisions
  uint64_t shared_bytes = 0;       // pages two or more kept revisions reach
  uint64_t bookkeeping_bytes = 0;  // the retention page in force
  uint64_t store_bytes = 0;        // every segment file's size
  // store - live: what prune can give back (and the segments' headers and
  // packed tables, a few KiB).
  uint64_t dead_bytes = 0;
};
// The ComputeLiveness walk over every kept revision, noting which revision
// reaches each page; a page met again by another revision is shared, with
// everything below it. Same cost as ComputeLiveness (each distinct page
// read once), plus an edge in memory per page reference met.
Result<SpaceReport> ComputeSpace(Database& db);
// Sets space->store_bytes from the segment files on disk now, and
// dead_bytes from it and live_bytes (a directory listing: cheap).
Status MeasureStoreBytes(Database& db, SpaceReport* space);
// Writes the totals of `space` as members of the JSON object `w` is in
// (log --json's and .revfs/stats' "space").
void WriteSpaceTotals(JsonWriter& w, const SpaceReport& space);

struct PruneOptions {
  uint32_t max_unused_percent = 10;  // 0..100 (PackOptions)
  bool dry_run = false;              // decide and report; change nothing
};
struct PruneReport {
  Liveness live;    // what the kept revisions reach (pages cleared)
  PackReport pack;  // what was (or would be) packed and deleted
  uint64_t kept_revisions = 0;
  uint64_t forgotten_revisions = 0;
  uint64_t store_bytes_before = 0;  // every segment file's size
  uint64_t store_bytes_after = 0;   // the same after prune (as estimated, if dry)
  // The kept revisions' chains held this many bytes of fragments written by
  // forgotten revisions; past --max-unused percent of the live fragment
  // bytes, prune rewrote `rewritten_revisions` (writing `rewrite_bytes`,
  // `rewrite_records` records put or deleted in them) so
  // that none are left (a dry run says how many it would rewrite, writes
  // nothing, and does not count the rewrite's gain in store_bytes_after).
  uint64_t stale_fragment_bytes = 0;
  uint64_t rewritten_revisions = 0;
  uint64_t rewrite_bytes = 0;
  uint64_t rewrite_records = 0;
};

// Prune (engine/FORMAT.md, "Prune"): computes the liveness of the kept
// revisions, rewrites their record tries when forgotten revisions' fragments
// are worth it ("Re-versioning the kept revisions") and computes it again,
// packs or deletes the segments holding dead pages
// (Store::PackSegments) and records the live bytes per segment in the next
// retention page. `db` must be open writable unless dry_run (the writer
// lock is what excludes commits); a crash at any step leaves every kept
// revision readable, and running Prune again finishes the work.
Result<PruneReport> Prune(Database& db, const PruneOptions& options);

}  // namespace revfs

#endif  // REVFS_RETENTION_H_
