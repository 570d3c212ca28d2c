// Database: versioned records over a Store — the engine's read and write
// transactions.
//
// Records (64-bit key -> bytes) live in leaf pages reached through a trie of
// indirect pages, copy-on-write per revision; a changed leaf is written as a
// fragment under the store's versioning approach (records/versioning.h) and
// a read combines fragments. All page memory comes from the one
// SegmentAllocator of the Database, shared by its two loaders — record pages
// (PageLoader) and content chunks (ChunkLoader) — and is held through pins
// (PinnedView).
//
// Thread safety: a Database may be shared by any number of threads. Each
// ReadTrx is used by one thread at a time; any number may be open at once on
// any revisions, never blocked by the writer. One WriteTrx at a time.
#ifndef REVFS_DATABASE_H_
#define REVFS_DATABASE_H_

#include <any>
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "revfs/hash.h"
#include "revfs/memory.h"
#include "revfs/result.h"
#include "revfs/store.h"

namespace revfs {

// Engine-private (engine/src/records/, content/, memory/, store/page.h).
class ChunkLoader;
class PageLoader;
class CombinedPage;
class Segment;
class SegmentAllocator;
struct LeafRef;
struct SlotChange;
enum class PageKind : uint8_t;

struct DatabaseOptions {
  StoreOptions store;
  MemoryOptions memory;
  // How many threads may read at once (the mount: its FUSE threads plus its
  // prefetch threads). Each may hold a pinned segment of the largest size
  // while its read is served, so the pool's budget is raised, if needed, to
  // the caches' capacities plus reader_threads x kMaxSegmentSize: the
  // caches filled to capacity then never leave a reader without memory.
  // Applies to the allocator the store makes (not to a shared_allocator).
  unsigned reader_threads = 4;
};

// Counters of the record layer (fragments combined per load, pages written).
struct RecordStats {
  // Chains are at most kMaxChain (64) fragments long: [0..64].
  static constexpr size_t kHistogram = 65;
  std::array<uint64_t, kHistogram> fragments_per_load{};  // [n] = loads combining n
  uint64_t max_fragments_per_load = 0;
  uint64_t leaf_loads = 0;
  uint64_t read_trx_opened = 0;
  uint64_t point_reads = 0;  // ReadTrx::Get calls: a walk down the trie each
  uint64_t range_reads = 0;  // ReadTrx::Scan calls (over a non-empty trie)
  uint64_t commits = 0;
  // Reads that met a page packed away and went on from their revision's
  // root rewritten by prune (ReadTrx::Reresolve).
  uint64_t reads_moved_to_rewritten_roots = 0;
};

class ReadTrx;
class WriteTrx;
class WriteSpill;  // engine-private (records/write_spill.h)

class Database {
 public:
  static Result<std::unique_ptr<Database>> Open(const std::string& path,
                                                   const DatabaseOptions& options);
  ~Database();

  Store& store() { return *store_; }
  const Store& store() const { return *store_; }
  // The loaders and their allocator (engine-private types: the layers above
  // records, and tests).
  PageLoader& page_loader() { return *page_loader_; }
  ChunkLoader& chunk_loader() { return *chunk_loader_; }
  SegmentAllocator& allocator() { return *allocator_; }

  // Opens a read-only transaction on revision `number` (NotFound past the
  // latest). Cheap: no I/O once the revision's root is known.
  Result<std::unique_ptr<ReadTrx>> BeginRead(uint64_t number);
  // Opens a read-only transaction on the newest revision at or before `time_ns`.
  Result<std::unique_ptr<ReadTrx>> BeginReadAt(int64_t time_ns);
  // Starts the one write transaction, based on the latest revision.
  Result<std::unique_ptr<WriteTrx>> BeginWrite();

  // Prune's rewrite of kept revisions' record tries (engine/FORMAT.md,
  // "Re-versioning the kept revisions"): each of `revisions` (ascending,
  // kept, past `base`) is written again as a commit based on the rewritten
  // one before it would write it (the first on `base`'s trie as it is, or
  // on the empty trie), with the same records; the new roots are installed
  // in one durable switch (Store::InstallRoots). Busy while a write
  // transaction is open; on failure no root changes.
  struct RewriteReport {
    uint64_t revisions = 0;        // rewritten
    uint64_t records_changed = 0;  // put or deleted, summed over them
    uint64_t pages_written = 0;    // fragments, indirect and root pages
    uint64_t bytes_written = 0;
  };
  struct RewriteOptions {
    // Called for each revision once its records are in the transaction,
    // before it is written: a change the rewrite makes to that revision
    // (FinishUpgrade drops format 2's chunk index); none by default.
    std::function<Status(uint64_t revision, WriteTrx& trx)> edit;
    // Keys the record difference leaves alone: their records stay as the
    // rewritten base has them (Reindex writes the history afresh).
    std::function<bool(uint64_t key)> keep_base;
    uint32_t clear_flags = 0;  // superblock flags (kFlag*) the switch clears
  };
  Status RewriteRevisions(std::optional<uint64_t> base, const std::vector<uint64_t>& revisions,
                          RewriteReport* report, const RewriteOptions& options);
  Status RewriteRevisions(std::optional<uint64_t> base, const std::vector<uint64_t>& revisions,
                          RewriteReport* report) {
    return RewriteRevisions(base, revisions, report, RewriteOptions());
  }

  // Returns why a record is malformed for a layer above (the tree model's
  // inodes), or "" when it is fine.
  using RecordCheck = std::function<std::string(uint64_t key, std::string_view value)>;

  // Checks the store (Store::Verify) and then every record trie reachable
  // from every revision: each indirect page and fragment once, its checksum,
  // levels, leaf numbers, chain order and the chain-length bound of the
  // store's versioning approach, and that each chain combines. With `check`,
  // also each record of each distinct combined chain: records can be
  // checksum-valid and still unusable, and only the layer above knows.
  Status Verify(VerifyReport* report, const RecordCheck& check = nullptr);

  // Decodes content chunk `hash` (stored in `page`, `raw_size` bytes) into
  // the chunk cache, unpinned at once, for a reader to find there
  // (prefetchers); its error, if any, is met again by that reader.
  Status PrefetchChunk(const Digest256& hash, const PageRef& page, uint32_t raw_size);
  // Marks the calling thread, for the rest of its life, as a background
  // thread (a prefetcher at idle priority): a reader never waits for a
  // chunk decode such a thread started, it decodes alongside. Call it first
  // thing in the thread.
  static void MarkBackgroundThread();

  // State a layer above keeps across this Database's write transactions
  // (the tree layer's chunk index filters, tree/chunk_index.h): writer
  // thread only; records/ never reads it.
  std::any& writer_extension() { return writer_extension_; }

  // Drops every unpinned cached page and chunk (pinned ones retire).
  void ClearCaches();
  // Returns pins held now across the caches of both loaders.
  uint64_t PinsHeld() const;

  RecordStats stats() const;
  // Returns the record layer's and the memory system's counters as JSON.
  std::string StatsJson() const;

 private:
  friend class ReadTrx;
  friend class WriteTrx;
  struct TrieInfo {
    PageRef root;
    uint32_t height = 0;
    int64_t time_ns = 0;
    PageRef root_page;  // the revision root page it was read from
  };

  class TrieDiff;  // records/rewrite.cc
  explicit Database(std::unique_ptr<Store> store);
  // Returns revision `number`'s record trie root; takes tries_->mu.
  Result<TrieInfo> GetTrie(uint64_t number);
  struct VerifyState;
  // `parent`: the level of the page `ref` came from (the trie's height + 1
  // and `root` for the root page).
  void VerifyTriePage(VerifyState& st, const PageRef& ref, int parent, uint64_t first_leaf,
                      bool root);
  void VerifyLeaf(VerifyState& st, const LeafRef& leaf, uint64_t number);
  void NoteLeafLoad(size_t fragments);
  // The "memory" object of StatsJson: pool, pins, caches.
  std::string MemoryStatsJson() const;

  std::unique_ptr<Store> store_;
  std::unique_ptr<SegmentAllocator> owned_allocator_;  // unless a shared one is used
  SegmentAllocator* allocator_ = nullptr;
  // Destroyed before the allocator (declared after it).
  std::unique_ptr<PageLoader> page_loader_;
  std::unique_ptr<ChunkLoader> chunk_loader_;
  // MemoryOptions::cache_written_leaves: the bytes of leaf images a commit
  // may hold for it (0: off).
  size_t written_leaves_budget_ = 0;
  // The revision roots seen, behind their own lock (records/database_tries.h).
  struct Tries;
  const std::unique_ptr<Tries> tries_;

  std::array<std::atomic<uint64_t>, RecordStats::kHistogram> fragments_per_load_{};
  std::atomic<uint64_t> max_fragments_per_load_{0};
  std::atomic<uint64_t> read_trx_opened_{0};
  std::atomic<uint64_t> point_reads_{0};
  std::atomic<uint64_t> range_reads_{0};
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> reads_moved_{0};
  bool write_open_ = false;  // writer thread only
  std::any writer_extension_;  // writer thread only
};

// A record's bytes, pinned: valid until this object is destroyed.
class PinnedRecord {
 public:
  PinnedRecord(PinnedView page, std::string_view value)
      : page_(std::move(page)), value_(value) {}
  // A record a write transaction holds (WriteTrx::View): its own copy.
  explicit PinnedRecord(std::string value)
      : owned_(std::make_shared<const std::string>(std::move(value))), value_(*owned_) {}
  std::string_view value() const { return value_; }

 private:
  PinnedView page_;
  std::shared_ptr<const std::string> owned_;
  std::string_view value_;
};

class ReadTrx {
 public:
  uint64_t revision() const { return revision_; }
  int64_t time_ns() const { return trie_.time_ns; }
  Database& database() const { return *rs_; }

  // Returns the record under `key`, or nullopt if there is none.
  Result<std::optional<PinnedRecord>> Get(uint64_t key);
  // Calls `fn(key, value)` for every record with first <= key <= last in key
  // order, until it returns false. `value` is valid during the call only.
  Status Scan(uint64_t first, uint64_t last,
              const std::function<bool(uint64_t, std::string_view)>& fn);

 private:
  friend class Database;
  friend class WriteTrx;
  ReadTrx(Database* rs, uint64_t revision, Database::TrieInfo trie)
      : rs_(rs), revision_(revision), trie_(trie) {}
  Result<std::optional<PinnedRecord>> GetOnce(uint64_t key);
  // After a read failed with `failed`: whether prune has since rewritten
  // this revision's root (engine/FORMAT.md, "Re-versioning the kept
  // revisions"), in which case the transaction now reads the new one.
  bool Reresolve(const Status& failed);
  // Finds the leaf reference of `leaf`, if the trie has one.
  Result<std::optional<LeafRef>> FindLeaf(uint64_t leaf);
  // `parent`: the level of the page `ref` came from (height + 1: the root).
  Status ScanTriePage(const PageRef& ref, int parent, uint64_t first_leaf, uint64_t first,
                  uint64_t last, const std::function<bool(uint64_t, std::string_view)>& fn,
                  bool* stop);

  Database* const rs_;
  const uint64_t revision_;
  Database::TrieInfo trie_;  // replaced only by Reresolve
  // Set on a WriteTrx::View: Get reads through that transaction, and Scan
  // is not offered.
  WriteTrx* through_ = nullptr;
};

class WriteTrx {
 public:
  ~WriteTrx();

  // The revision Commit will create.
  uint64_t revision() const { return number_; }
  Status Put(uint64_t key, std::string_view value);
  Status Delete(uint64_t key);
  // Returns the record as this transaction sees it (its own changes first).
  Result<std::optional<std::string>> Get(uint64_t key);
  // The number of changed records held in memory plus the leaves whose
  // changes were parked on disk: 0 when nothing changed.
  size_t pending() const;
  // Bounds the record changes held in memory (values plus about 80 bytes
  // of bookkeeping per record): past `bytes`, the changes of every leaf are
  // parked in a scratch file (records/write_spill.h) and read back leaf by
  // leaf when Commit writes it (or when Get asks for one of them, which may
  // exceed the budget by that one leaf until the next Put or Delete).
  // Default kDefaultSpillBudget.
  static constexpr size_t kDefaultSpillBudget = size_t{32} << 20;
  void set_spill_budget(size_t bytes) { spill_budget_ = bytes; }
  // The revision this transaction builds on, for reading unchanged state.
  ReadTrx& base() { return *base_; }
  // A read transaction that sees what this one would commit (Get reads
  // through it; Scan is NotSupported), so that readers of the tree model
  // (GetInode, ListDirectory, DiffTrees) run on it. Valid while this
  // transaction is.
  std::unique_ptr<ReadTrx> View();
  // Appends a page that records of this transaction will reference (content
  // chunks); durable and reachable only once Commit succeeds.
  Result<PageRef> AppendPage(PageKind kind, std::string_view payload);

  // State a layer above keeps for this transaction's lifetime (the tree
  // layer's chunk index, tree/chunk_index.h); records/ never reads it.
  std::any& extension() { return extension_; }

  // Writes every changed leaf as a fragment, the changed path of the trie, and
  // commits the revision atomically. `counters` are added to the revision's.
  Result<uint64_t> Commit(int64_t time_ns, std::string message,
                          std::vector<std::pair<std::string, uint64_t>> counters = {});

 private:
  friend class Database;
  struct BasePage;
  struct Changed;
  WriteTrx(Database* rs, std::unique_ptr<ReadTrx> base);
  // Writes every changed leaf and the changed path of the trie; its root
  // and height, and the record layer's counters appended to `counters`.
  Status WriteTrie(PageRef* root, uint32_t* height,
                   std::vector<std::pair<std::string, uint64_t>>* counters);
  // Prune's rewrite (Database::RewriteRevisions): writes the trie, then
  // `old` again with it as its trie (and the counter "reversioned" bumped);
  // returns the new root page and the trie.
  Result<std::pair<PageRef, Database::TrieInfo>> CommitRewrite(RevisionRoot old);
  // Writes the page of `level` above `changed`; a null PageRef, writing
  // nothing, when no leaf is left below it.
  Result<PageRef> Rebuild(int level, const BasePage& base, std::span<const Changed> changed);
  // Returns the level of the indirect page `ref`, a child of a page of
  // `parent_level`; Corruption unless it is lower.
  Result<int> PageLevel(const PageRef& ref, int parent_level);
  // Writes `leaf`'s next fragment; nullopt, writing nothing, when no record
  // is left in it.
  Result<std::optional<LeafRef>> WriteLeaf(uint64_t leaf, const std::optional<LeafRef>& prev,
                                           std::span<const SlotChange> changes);
  // MemoryOptions::cache_written_leaves: makes the combined image of the
  // leaf whose new fragment (at `offset`) is `payload`, over `current`, the
  // image of its previous chain, of which the new chain keeps `kept`; held
  // in written_ unless the budget is spent or it cannot be made.
  void KeepImage(uint64_t offset, std::string_view payload, const CombinedPage& current,
                 std::span<const size_t> kept);
  // Likewise for the indirect page written at `offset`, whose unpacked
  // payload is `payload`.
  void KeepIndirect(uint64_t offset, std::string_view payload);
  // A segment of `size` bytes for what KeepImage and KeepIndirect hold,
  // within the budget and taken without waiting; empty when there is none.
  Segment KeptSegment(size_t size);
  // Parks every change held in memory once they exceed the budget.
  Status MaybeSpill();
  // Brings `leaf`'s parked changes back into changes_.
  Status Unspill(uint64_t leaf);
  // Removes and returns `leaf`'s changes (parked ones included), by slot.
  Result<std::vector<SlotChange>> TakeLeafChanges(uint64_t leaf);
  // The zstd level record pages are packed with (0: uncompressed).
  int PackLevel() const;

  Database* const rs_;
  std::unique_ptr<ReadTrx> base_;
  std::map<uint64_t, std::optional<std::string>> changes_;  // key -> value/tombstone
  size_t pending_bytes_ = 0;  // what changes_ holds, as set_spill_budget counts it
  size_t spill_budget_ = kDefaultSpillBudget;
  std::unique_ptr<WriteSpill> spill_;  // created at the first spill
  uint64_t spills_ = 0;
  uint64_t pending_peak_ = 0;
  uint64_t puts_ = 0;
  uint64_t deletes_ = 0;
  uint64_t number_;  // the revision written: the base's + 1, or a rewritten one
  std::unique_ptr<RevisionWriter> commit_;  // null in a rewrite
  RevisionWriter* writer_ = nullptr;        // commit_, or the rewrite's
  std::any extension_;
  uint64_t fragments_full_ = 0;
  uint64_t fragments_partial_ = 0;
  uint64_t indirect_written_ = 0;
  // Bytes of the pages written, by what they hold: indirect pages, and leaf
  // fragments by the record kind of their keys (key >> 60: 0 metadata,
  // 1 inodes, 2 sorted-map blocks, 3 chunk index, 4 recent-chunk log; 5
  // anything else).
  uint64_t indirect_bytes_ = 0;
  uint64_t leaf_bytes_[6] = {};
  // The combined images of the leaves this commit wrote and its indirect
  // pages, cached once it is durable (MemoryOptions::cache_written_leaves),
  // by the offset of each one's new fragment or page. Segments: returned on
  // every way out.
  struct WrittenLeaf;
  std::vector<WrittenLeaf> written_;
  size_t written_bytes_ = 0;
  // The cache keys of the base revision's leaf images and indirect pages
  // this commit replaces, dropped from the cache once it is durable (with
  // cache_written_leaves only).
  std::vector<uint64_t> superseded_;
  bool done_ = false;
};

}  // namespace revfs

#endif  // REVFS_DATABASE_H_
