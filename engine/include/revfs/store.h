// Store: an on-disk revfs store — the append-only page log, the revisions
// index and the superblock, in one directory:
//   STORE/segments/   the page log: segment files of pages, never
//                     overwritten (%010u; %010u.packed once pruned)
//   STORE/revisions   one checksummed entry per revision
//   STORE/superblock  two alternating slots naming the latest revision
//   STORE/LOCK        flock()ed by the single writer
//
// A commit appends its pages and its revision root, makes them durable, then
// appends the index entry, makes it durable, and only then writes and syncs
// the next superblock slot. A crash at any moment leaves the store at the last
// complete revision; bytes past the committed ends are ignored on open and
// truncated by the next commit.
//
// Thread safety: every const method may be called from any number of threads,
// also while the writer commits (readers see a revision only once its
// superblock slot is durable), and so may Refresh. BeginRevision/
// RevisionWriter and PackSegments belong to one writer thread, and only one
// writer (process) holds a store at a time.
#ifndef REVFS_STORE_H_
#define REVFS_STORE_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "revfs/result.h"
#include "revfs/store_config.h"

namespace revfs {

// Engine-private (engine/src/env/env.h, store/page_log.h,
// store/revision_writer.h).
class Env;
class FileLock;
class PageLog;
class RandomAccessFile;
class RandomRWFile;
class RevisionWriter;
class WritableFile;

// Names a page of the log: its offset (the page's logical address: segment
// offset >> 40, byte offset & (2^40 - 1) of it), total size (header +
// payload) and checksum, so a page that is intact but not the one
// referenced is caught.
// Encoding and page format: engine/src/store/page.h.
struct PageRef {
  uint64_t offset = 0;
  uint32_t size = 0;  // header + payload; 0 means "no page"
  uint64_t hash = 0;  // the page's checksum

  bool IsNull() const { return size == 0; }
  bool operator==(const PageRef&) const = default;
};

// A revision's root page: its number, commit time, message, the root of its
// record trie and named counters (pages and bytes written, files, ...).
// Encoding: engine/src/store/revision.h.
struct RevisionRoot {
  uint64_t number = 0;
  int64_t time_ns = 0;
  std::string message;
  PageRef trie_root;  // of the record trie; null for an empty trie
  uint32_t trie_height = 0;  // levels of indirect pages above the leaves
  std::vector<std::pair<std::string, uint64_t>> counters;

  // Returns the named counter, or 0 when absent.
  uint64_t Counter(std::string_view name) const;
};

// A revision's entry in the revisions index (fixed size, so revision N is
// found in O(1)). Encoding: engine/src/store/revision.h.
struct RevisionEntry {
  uint64_t number = 0;
  int64_t time_ns = 0;
  PageRef root;
};

// The on-disk format this program reads and writes (engine/FORMAT.md has
// every version); a store of any other format is refused.
inline constexpr uint32_t kStoreFormatVersion = 3;

// The superblock in force: the store's one mutable structure, naming the
// latest revision and the committed ends of the files. Slot format:
// engine/src/store/superblock.h.
// Superblock flags (engine/FORMAT.md, "Upgrade from format 2").
// The latest revision's chunk index is format 2's: `revfs upgrade` has not
// finished; commits refuse to read it.
inline constexpr uint32_t kFlagFormat2Index = 1;
inline constexpr uint32_t kKnownSuperblockFlags = kFlagFormat2Index;

struct Superblock {
  uint32_t format_version = kStoreFormatVersion;
  uint32_t flags = 0;  // kFlag*
  uint64_t generation = 0;       // bumped by every commit
  uint64_t latest_revision = 0;  // revisions 0..latest exist
  uint64_t pages_end = 0;        // logical end of the committed pages
  uint64_t index_end = 0;        // committed length of STORE/revisions
  PageRef latest_root;           // revision root of latest_revision
  int64_t created_ns = 0;
  std::array<uint8_t, 16> store_id{};
  StoreConfig config;
  // The retention page in force (forgotten revisions, holds); null when
  // nothing was ever forgotten or held (engine/FORMAT.md, format 3).
  PageRef retention;
};

// A hold: revision `revision` is protected from forget until released.
struct RevisionHold {
  uint64_t revision = 0;
  std::string tag;  // at most kMaxHoldTag bytes; may be empty
  bool operator==(const RevisionHold&) const = default;
};
inline constexpr size_t kMaxHoldTag = 255;

// What the retention page in force says: the forgotten revisions, the holds
// and the last prune's bookkeeping. Encoding: engine/src/store/retention.h.
struct RetentionState {
  struct Range {
    uint64_t first = 0;
    uint64_t count = 0;
    bool operator==(const Range&) const = default;
  };
  struct SegmentLive {
    uint64_t segment = 0;
    uint64_t live_bytes = 0;
    bool operator==(const SegmentLive&) const = default;
  };
  std::vector<Range> forgotten;        // sorted, disjoint, non-adjacent
  std::vector<RevisionHold> holds;     // sorted by revision, unique
  std::vector<SegmentLive> segments;   // sorted by segment (the last prune)
  // A kept revision's root page rewritten by prune (engine/FORMAT.md,
  // "Re-versioning the kept revisions"); read instead of the index's.
  struct RootOverride {
    uint64_t revision = 0;
    PageRef root;
    bool operator==(const RootOverride&) const = default;
  };
  std::vector<RootOverride> overrides;  // sorted by revision, unique, kept

  bool IsForgotten(uint64_t revision) const;
  // Returns the hold on `revision`, or null.
  const RevisionHold* HoldOf(uint64_t revision) const;
  // Returns the newest revision <= `revision` not forgotten, or nullopt.
  std::optional<uint64_t> KeptAtOrBefore(uint64_t revision) const;
  // Adds `revisions` (any order, duplicates allowed) to the forgotten ranges
  // and drops their root overrides.
  void AddForgotten(const std::vector<uint64_t>& revisions);
  uint64_t ForgottenCount() const;
  bool operator==(const RetentionState&) const = default;
};

// The pages prune keeps, by segment: for each segment number, the address
// and size of every live page in it (Store::PackSegments).
struct LiveSet {
  std::map<uint32_t, std::map<uint64_t, uint32_t>> segments;

  // Adds the page `ref` names.
  void Add(const PageRef& ref) {
    segments[static_cast<uint32_t>(ref.offset >> 40)][ref.offset] = ref.size;
  }
};

struct PackOptions {
  // A segment is packed when its dead bytes exceed this percentage of the
  // bytes it stores.
  uint32_t max_unused_percent = 10;
  // Decide and report as if packing, but write, rename and unlink nothing.
  bool dry_run = false;
  // Also decide for the newest segment (a dry run of a prune that would
  // seal it first; see Store::SealNewestSegment).
  bool include_newest = false;
};

// What PackSegments did.
struct PackReport {
  uint64_t segments_packed = 0;
  uint64_t segments_deleted = 0;     // held nothing live
  uint64_t leftovers_removed = 0;    // plain files already packed, temp files
  uint64_t bytes_before = 0;         // stored in the segments looked at
  uint64_t bytes_after = 0;
  uint64_t bytes_copied = 0;         // live pages written into packed files
  std::map<uint32_t, uint64_t> live_bytes;  // per segment kept
};

struct StoreOptions {
  Env* env = nullptr;     // the OS seam; Env::Default() when null
  bool writable = false;  // take the writer lock (Busy if another holds it)
};

// What `revfs verify` found.
struct VerifyReport {
  struct Damage {
    std::optional<uint64_t> revision;  // the revision affected, when known
    // "pages" (a page found by reference), "segments/0000000003" or
    // "segments/0000000003.packed" (found scanning that file), "revisions",
    // "superblock"
    std::string file;
    uint64_t offset = 0;
    std::string what;
  };
  std::vector<Damage> damage;
  uint64_t revisions_checked = 0;
  uint64_t pages_checked = 0;
  bool clean() const { return damage.empty(); }
};

// What Store::Upgrade did.
struct UpgradeReport {
  uint32_t from_format = 0;    // 2, or kStoreFormatVersion if nothing was to do
  uint64_t revisions = 0;      // latest revision + 1
  uint64_t page_bytes = 0;     // the page log, now segment 0
};

class Store {
 public:
  // Makes a new store at `path` holding revision 0, the empty tree, committed
  // at `time_ns`. `path` must not exist or be an empty directory. The store
  // appears whole or not at all (built aside, then renamed into place).
  static Status Create(const std::string& path, const StoreConfig& config,
                       const StoreOptions& options, int64_t time_ns);

  static Result<std::unique_ptr<Store>> Open(const std::string& path,
                                             const StoreOptions& options);

  // Turns a format-2 store into this format in place (engine/FORMAT.md,
  // "Upgrade from format 2"): STORE/pages becomes segment 0, then the next
  // superblock slot is written as format 3 with kFlagFormat2Index, which
  // FinishUpgrade (revfs/tree.h) then clears. Takes the writer lock (Busy
  // if held). Restartable: a crash between the two steps leaves a store
  // that is refused as format 2 and that a rerun finishes; a store already
  // of this format is left as it is. NotSupported for any other format.
  static Status Upgrade(const std::string& path, const StoreOptions& options,
                        UpgradeReport* report);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const { return path_; }
  const StoreConfig& config() const { return config_; }
  Env* env() const { return env_; }
  const PageLog& pages() const { return *pages_; }
  // Returns the superblock in force (a copy).
  Superblock superblock() const;
  uint64_t latest_revision() const;

  // Picks up revisions committed by another process since Open or the last
  // Refresh. Cheap when nothing changed (reads the two superblock slots).
  // On a new superblock generation it also drops the handles of segment
  // files that prune has since packed, replaced or deleted, so that later
  // reads open the new files; a read under way keeps reading through the
  // descriptor it holds (an unlinked file stays readable while open).
  Status Refresh();

  // Returns revision `number`'s index entry: NotFound past the latest,
  // Corruption if that entry is damaged.
  Result<RevisionEntry> GetRevision(uint64_t number) const;
  // Returns the newest revision committed at or before `time_ns`; NotFound if
  // revision 0 is younger than that.
  Result<uint64_t> RevisionAt(int64_t time_ns) const;
  // Reads and checks revision `number`'s root page.
  Result<RevisionRoot> ReadRevisionRoot(uint64_t number) const;

  // Retention (store/store_retention.cc). A forgotten revision keeps its
  // number and index entry but reads as NotFound everywhere; the latest
  // revision and held ones are never forgotten. Forget, Hold and Release
  // each append a retention page, sync it and write the next superblock
  // slot: one atomic, durable switch, like a commit, under the writer lock
  // (ReadOnly unless opened writable, Busy while a commit is in progress).
  //
  // Forgets `revisions`: InvalidArgument naming the first that is the
  // latest or held, NotFound naming the first that does not exist or is
  // already forgotten; nothing is forgotten then.
  Status Forget(const std::vector<uint64_t>& revisions);
  // Holds revision `revision` with `tag` (replacing the tag of an existing
  // hold): NotFound if it does not exist or is forgotten, InvalidArgument if
  // the tag is longer than kMaxHoldTag.
  Status Hold(uint64_t revision, std::string tag);
  // Releases the hold on `revision`: NotFound if it is not held.
  Status Release(uint64_t revision);
  bool IsForgotten(uint64_t revision) const;
  // Returns the revisions not forgotten, ascending (the latest is last).
  std::vector<uint64_t> KeptRevisions() const;
  // Returns the holds, by revision.
  std::vector<RevisionHold> Holds() const;
  // Returns the retention state in force (a copy).
  RetentionState retention() const;

  // Starts the next commit (RevisionWriter is engine-private: the Database's
  // WriteTrx uses it). ReadOnly unless opened writable; Busy while another
  // RevisionWriter of this store is alive.
  Result<std::unique_ptr<RevisionWriter>> BeginRevision();
  // Starts prune's rewrite of kept revisions' record tries (engine/FORMAT.md,
  // "Re-versioning the kept revisions"): the writer appends their pages and
  // new root pages (RevisionWriter::AppendRoot), and InstallRoots makes them
  // the roots in force. Same errors as BeginRevision.
  Result<std::unique_ptr<RevisionWriter>> BeginRewrite();
  // Makes `roots` (each a kept revision and the root page `rewrite`
  // appended for it) the revisions' roots: syncs the pages, then the same
  // durable switch as Forget's. InvalidArgument if one is forgotten or
  // missing; the rewrite is finished either way. The switch clears the
  // superblock flags `clear_flags` (kFlag*).
  Status InstallRoots(RevisionWriter* rewrite,
                      const std::vector<RetentionState::RootOverride>& roots,
                      uint32_t clear_flags = 0);

  // Checks every superblock slot, index entry, revision root and page of the
  // log (every segment: a plain one page header by page header, a packed one
  // its table checksum and each page), and records what is damaged in
  // `report`.
  Status Verify(VerifyReport* report) const;

  // Prune's storage step (engine/FORMAT.md, "Prune"): for each segment
  // older than the newest, unlinks it when `live` names no page in it, and
  // packs it (copies its live pages into %010u.packed, at their addresses)
  // when its dead bytes exceed options.max_unused_percent; removes plain
  // files already packed and temporary files left by a crash. Every live
  // page stays readable at every moment, and a crash at any step leaves a
  // store that a rerun finishes. Corruption (and nothing touched for that
  // segment) when `live` names a page the segment does not hold intact.
  // Needs the writer lock and no commit in progress.
  Status PackSegments(const LiveSet& live, const PackOptions& options, PackReport* report);
  // Makes the next page go to a new segment, so that the one appended to
  // until now may be packed: writes the retention page in force again there
  // and switches the superblock to it (durable, like Forget). Writer lock.
  Status SealNewestSegment();
  // Writes the retention page in force again, twice, so that both
  // superblock slots name the current end of the pages: neither names a
  // segment packing may pack or delete (the older slot, a crash's
  // fallback, may name an older segment after a commit or a rewrite that
  // rolled over). Durable, like Forget. Writer lock.
  Status SettleSlots();
  // Whether the superblock slot not in force (a crash's fallback) names a
  // pages' end outside the segment appended to (false if it is not valid:
  // there is nothing to fall back on either way).
  Result<bool> FallbackSlotInOlderSegment() const;
  // Records the live bytes per segment that a prune left (the retention
  // page's bookkeeping: dead bytes awaiting prune are what a segment stores
  // beyond them). The same durable switch as Forget's.
  Status RecordPrune(const std::map<uint32_t, uint64_t>& live_bytes);

 private:
  friend class RevisionWriter;
  struct Files;

  Store(std::string path, Env* env);
  Status LoadState(bool writer);
  Status LoadIndex(const Superblock& sb, std::vector<RevisionEntry>* entries,
                   std::vector<bool>* damaged) const;
  Status PrepareAppend();
  Result<uint64_t> FinishRevision(RevisionWriter* commit, RevisionRoot root);
  Status WriteSuperblock(const Superblock& next);
  void VerifySegments(uint64_t pages_end, VerifyReport* report) const;
  Status PackSegment(uint32_t segment, const std::map<uint64_t, uint32_t>& live,
                     const PackOptions& options, PackReport* report);
  Status LoadRetention(const Superblock& sb, RetentionState* out) const;
  // Appends `next` as the retention page and switches the superblock to it.
  Status SwitchRetention(const RetentionState& next);
  // SwitchRetention's writes, after its checks and PrepareAppend; the new
  // superblock has the flags `clear_flags` cleared.
  Status CommitRetention(const RetentionState& next, uint32_t clear_flags = 0);

  const std::string path_;
  Env* const env_;
  StoreConfig config_;
  std::unique_ptr<PageLog> pages_;
  std::unique_ptr<RandomAccessFile> index_reader_;
  std::unique_ptr<RandomAccessFile> superblock_reader_;

  // What readers share with the writer and Refresh: the superblock in force
  // and the revisions index, behind one mutex (store/store_state.h).
  struct State;
  const std::unique_ptr<State> state_;

  // Writer state (writer thread only).
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<WritableFile> index_writer_;
  std::unique_ptr<RandomRWFile> superblock_writer_;
  bool writer_open_ = false;
  bool dirty_ = false;  // bytes may lie past the committed ends
};

}  // namespace revfs

#endif  // REVFS_STORE_H_
