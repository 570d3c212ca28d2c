// Database and ReadTrx: opening revisions and reading records through
// pinned pages. The write path lives in write_trx.cc.
#include "revfs/database.h"

#include <algorithm>

#include "content/chunk_loader.h"
#include "records/indirect_page.h"
#include "records/database_tries.h"
#include "records/page_loader.h"
#include "records/record_page.h"
#include "store/revision_writer.h"
#include "revfs/json.h"
#include "revfs/pool_check.h"

namespace revfs {

static_assert(RecordStats::kHistogram == kMaxChain + 1, "a bucket per chain length");

Result<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                 const DatabaseOptions& options) {
  REVFS_ASSIGN_OR_RETURN(auto store, Store::Open(path, options.store));
  const MemoryOptions& memory = options.memory;
  // What a commit may hold of the images it caches (cache_written_leaves).
  const size_t written_leaves_budget =
      memory.cache_written_leaves ? memory.page_cache_bytes / 2 : 0;
  std::unique_ptr<Database> db(new Database(std::move(store)));
  if (memory.shared_allocator) {
    db->allocator_ = memory.shared_allocator;
  } else {
    // Headroom beyond the caches for what readers pin at once.
    AllocatorOptions allocator = memory.allocator;
    // The images a commit keeps for the cache (cache_written_leaves) wait
    // beside the caches until it is durable.
    const size_t caches = memory.fragment_cache_bytes + memory.page_cache_bytes +
                          memory.chunk_cache_bytes + written_leaves_budget;
    const size_t readers = std::max(1u, options.reader_threads);
    allocator.budget_bytes = std::max(allocator.budget_bytes, caches + readers * kMaxSegmentSize);
    REVFS_ASSIGN_OR_RETURN(db->owned_allocator_, SegmentAllocator::Create(allocator));
    db->allocator_ = db->owned_allocator_.get();
  }
  const PageLog* log = &db->store_->pages();
  db->page_loader_ = std::make_unique<PageLoader>(
      log, db->allocator_,
      PageLoaderOptions{memory.fragment_cache_bytes, memory.page_cache_bytes,
                        memory.combine_hook});
  db->chunk_loader_ = std::make_unique<ChunkLoader>(
      log, db->allocator_,
      ChunkLoaderOptions{memory.chunk_cache_bytes, memory.chunk_miss_hook,
                         memory.chunk_decode_hook});
  db->written_leaves_budget_ = written_leaves_budget;
  return db;
}

Database::Database(std::unique_ptr<Store> store)
    : store_(std::move(store)), tries_(std::make_unique<Tries>()) {}

Database::~Database() = default;

Status Database::PrefetchChunk(const Digest256& hash, const PageRef& page, uint32_t raw_size) {
  return chunk_loader_->Chunk(hash, page, raw_size).status();
}

void Database::MarkBackgroundThread() { ChunkLoader::MarkBackgroundThread(); }

void Database::ClearCaches() {
  page_loader_->Clear();
  chunk_loader_->Clear();
}

uint64_t Database::PinsHeld() const {
  return page_loader_->PinsHeld() + chunk_loader_->PinsHeld();
}

Status CheckPoolReturned(Database& db) {
  db.ClearCaches();
  return CheckSegmentsReturned(db.allocator(), db.PinsHeld());
}

Result<Database::TrieInfo> Database::GetTrie(uint64_t number) {
  if (number > store_->latest_revision()) REVFS_RETURN_IF_ERROR(store_->Refresh());
  // The store says whether the revision may be read, and which root page is
  // in force: prune may have rewritten it since it was cached
  // (engine/FORMAT.md, "Re-versioning the kept revisions").
  REVFS_ASSIGN_OR_RETURN(RevisionEntry entry, store_->GetRevision(number));
  {
    ReaderMutexLock lock(&tries_->mu);
    auto it = tries_->map.find(number);
    if (it != tries_->map.end() && it->second.root_page == entry.root) return it->second;
  }
  auto read = store_->ReadRevisionRoot(number);
  if (!read.ok() && read.status().IsCorruption()) {
    // A root page prune rewrote and packed away since this Database last
    // looked (a daemon told of changes only by a notification): the store's
    // state in force names the new one.
    REVFS_RETURN_IF_ERROR(store_->Refresh());
    REVFS_ASSIGN_OR_RETURN(RevisionEntry now, store_->GetRevision(number));
    if (!(now.root == entry.root)) {
      entry = now;
      read = store_->ReadRevisionRoot(number);
    }
  }
  REVFS_ASSIGN_OR_RETURN(RevisionRoot root, std::move(read));
  if (root.trie_height > kMaxTrieHeight || root.trie_root.IsNull() != (root.trie_height == 0)) {
    return Status::Corruption("revision " + std::to_string(number) +
                              ": record trie root is inconsistent");
  }
  TrieInfo info{root.trie_root, root.trie_height, root.time_ns, entry.root};
  WriterMutexLock lock(&tries_->mu);
  tries_->map.insert_or_assign(number, info);
  return info;
}

Result<std::unique_ptr<ReadTrx>> Database::BeginRead(uint64_t number) {
  REVFS_ASSIGN_OR_RETURN(TrieInfo trie, GetTrie(number));
  read_trx_opened_.fetch_add(1, std::memory_order_relaxed);
  return std::unique_ptr<ReadTrx>(new ReadTrx(this, number, trie));
}

Result<std::unique_ptr<ReadTrx>> Database::BeginReadAt(int64_t time_ns) {
  REVFS_RETURN_IF_ERROR(store_->Refresh());
  REVFS_ASSIGN_OR_RETURN(uint64_t number, store_->RevisionAt(time_ns));
  return BeginRead(number);
}

Result<std::unique_ptr<WriteTrx>> Database::BeginWrite() {
  if (write_open_) return Status::Busy(store_->path() + ": a write transaction is open");
  REVFS_ASSIGN_OR_RETURN(auto commit, store_->BeginRevision());
  REVFS_ASSIGN_OR_RETURN(auto base, BeginRead(store_->latest_revision()));
  std::unique_ptr<WriteTrx> trx(new WriteTrx(this, std::move(base)));
  trx->commit_ = std::move(commit);
  trx->writer_ = trx->commit_.get();
  write_open_ = true;
  return trx;
}

void Database::NoteLeafLoad(size_t fragments) {
  size_t bucket = std::min(fragments, RecordStats::kHistogram - 1);
  fragments_per_load_[bucket].fetch_add(1, std::memory_order_relaxed);
  uint64_t seen = max_fragments_per_load_.load(std::memory_order_relaxed);
  while (fragments > seen &&
         !max_fragments_per_load_.compare_exchange_weak(seen, fragments,
                                                        std::memory_order_relaxed)) {
  }
}

RecordStats Database::stats() const {
  RecordStats s;
  for (size_t i = 0; i < s.fragments_per_load.size(); ++i) {
    s.fragments_per_load[i] = fragments_per_load_[i].load(std::memory_order_relaxed);
    s.leaf_loads += s.fragments_per_load[i];
  }
  s.max_fragments_per_load = max_fragments_per_load_.load(std::memory_order_relaxed);
  s.read_trx_opened = read_trx_opened_.load(std::memory_order_relaxed);
  s.point_reads = point_reads_.load(std::memory_order_relaxed);
  s.range_reads = range_reads_.load(std::memory_order_relaxed);
  s.commits = commits_.load(std::memory_order_relaxed);
  s.reads_moved_to_rewritten_roots = reads_moved_.load(std::memory_order_relaxed);
  return s;
}

std::string Database::StatsJson() const {
  RecordStats s = stats();
  JsonWriter w;
  w.BeginObject();
  w.Key("records").BeginObject();
  w.Key("leaf_combines").Uint(s.leaf_loads);
  w.Key("max_fragments_per_combine").Uint(s.max_fragments_per_load);
  w.Key("fragments_per_combine").BeginObject();
  for (size_t i = 1; i < s.fragments_per_load.size(); ++i) {
    if (s.fragments_per_load[i]) w.Key(std::to_string(i)).Uint(s.fragments_per_load[i]);
  }
  w.EndObject();
  w.Key("read_trx_opened").Uint(s.read_trx_opened);
  w.Key("point_reads").Uint(s.point_reads);
  w.Key("range_reads").Uint(s.range_reads);
  w.Key("commits").Uint(s.commits);
  w.Key("reads_moved_to_rewritten_roots").Uint(s.reads_moved_to_rewritten_roots);
  w.EndObject();
  w.Key("memory").Raw(MemoryStatsJson());
  w.EndObject();
  return w.str();
}

std::string Database::MemoryStatsJson() const {
  std::vector<CacheStats> caches = page_loader_->stats();  // fragments, pages
  caches.push_back(chunk_loader_->stats());
  uint64_t pins = 0, cached = 0;
  for (const CacheStats& c : caches) {
    pins += c.pins_held;
    cached += c.usage_bytes;
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("pool").Raw(allocator_->stats().ToJson());
  w.Key("pins_held").Uint(pins);
  w.Key("chunk_decodes_past_background").Uint(chunk_loader_->decodes_past_background());
  // With no pins held, every segment in use is a cached one.
  w.Key("cached_bytes").Uint(cached);
  w.Key("caches").BeginArray();
  for (const CacheStats& c : caches) w.Raw(c.ToJson());
  w.EndArray();
  w.EndObject();
  return w.str();
}

Result<std::optional<LeafRef>> ReadTrx::FindLeaf(uint64_t leaf) {
  if (trie_.height == 0 || leaf >= LeavesCovered(static_cast<int>(trie_.height))) {
    return std::optional<LeafRef>();
  }
  PageRef ref = trie_.root;
  int parent = 0;  // the level of the page `ref` came from; 0 for the root
  for (;;) {
    REVFS_ASSIGN_OR_RETURN(PinnedView pinned, rs_->page_loader_->Indirect(ref));
    REVFS_ASSIGN_OR_RETURN(IndirectPage page, IndirectPage::Parse(pinned.bytes()));
    const int level = page.level();
    if (parent == 0 ? level != static_cast<int>(trie_.height) : level >= parent) {
      return Status::Corruption("indirect page at offset " + std::to_string(ref.offset) +
                                " has the wrong level");
    }
    if (parent != 0 && !ChildCovers(leaf, parent, level)) return std::optional<LeafRef>();
    auto i = page.Find(IndirectSlot(leaf, level));
    if (!i) return std::optional<LeafRef>();
    REVFS_ASSIGN_OR_RETURN(IndirectChild child, page.child_at(*i));
    if (level == 1) return std::optional<LeafRef>(std::get<LeafRef>(std::move(child)));
    ref = std::get<PageRef>(child);
    parent = level;
  }
}

bool ReadTrx::Reresolve(const Status& failed) {
  // Only a page missing from its segment, and only for a revision read
  // from a root page (not a rewrite's base).
  if (!failed.IsCorruption() || trie_.root_page.IsNull()) return false;
  if (!rs_->store_->Refresh().ok()) return false;
  auto now = rs_->GetTrie(revision_);
  if (!now.ok() || now->root_page == trie_.root_page) return false;
  trie_ = *now;
  rs_->reads_moved_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

Result<std::optional<PinnedRecord>> ReadTrx::Get(uint64_t key) {
  if (through_) {
    REVFS_ASSIGN_OR_RETURN(std::optional<std::string> value, through_->Get(key));
    if (!value) return std::optional<PinnedRecord>();
    return std::optional<PinnedRecord>(PinnedRecord(std::move(*value)));
  }
  rs_->point_reads_.fetch_add(1, std::memory_order_relaxed);
  auto got = GetOnce(key);
  if (!got.ok() && Reresolve(got.status())) return GetOnce(key);
  return got;
}

Result<std::optional<PinnedRecord>> ReadTrx::GetOnce(uint64_t key) {
  REVFS_ASSIGN_OR_RETURN(std::optional<LeafRef> leaf, FindLeaf(LeafOf(key)));
  if (!leaf) return std::optional<PinnedRecord>();
  size_t combined = 0;
  REVFS_ASSIGN_OR_RETURN(PinnedView page, rs_->page_loader_->Leaf(*leaf, &combined));
  if (combined) rs_->NoteLeafLoad(combined);
  auto record = CombinedPage(page.bytes()).Find(SlotOf(key));
  if (!record) return std::optional<PinnedRecord>();
  std::string_view value = record->value;
  return std::optional<PinnedRecord>(PinnedRecord(std::move(page), value));
}

Status ReadTrx::Scan(uint64_t first, uint64_t last,
                     const std::function<bool(uint64_t, std::string_view)>& fn) {
  if (through_) return Status::NotSupported("a scan of a write transaction's view");
  if (trie_.height == 0 || first > last) return Status::OK();
  rs_->range_reads_.fetch_add(1, std::memory_order_relaxed);
  // The key after the last one delivered: where a scan moved to a
  // rewritten root goes on (its records are the same).
  uint64_t next = first;
  bool done = false;
  auto note = [&](uint64_t key, std::string_view value) {
    if (key == UINT64_MAX) done = true;
    next = key + 1;
    return fn(key, value);
  };
  bool stop = false;
  Status s = ScanTriePage(trie_.root, static_cast<int>(trie_.height) + 1, 0, first, last, note,
                          &stop);
  if (s.ok() || done || !Reresolve(s)) return s;
  if (trie_.height == 0 || next > last) return Status::OK();
  stop = false;
  return ScanTriePage(trie_.root, static_cast<int>(trie_.height) + 1, 0, next, last, fn, &stop);
}

Status ReadTrx::ScanTriePage(const PageRef& ref, int parent, uint64_t first_leaf, uint64_t first,
                         uint64_t last,
                         const std::function<bool(uint64_t, std::string_view)>& fn,
                         bool* stop) {
  REVFS_ASSIGN_OR_RETURN(PinnedView pinned, rs_->page_loader_->Indirect(ref));
  REVFS_ASSIGN_OR_RETURN(IndirectPage page, IndirectPage::Parse(pinned.bytes()));
  const int level = page.level();
  // The root (parent height + 1) has exactly the trie's height; a child any
  // lower level than its parent.
  if (parent == static_cast<int>(trie_.height) + 1 ? level != parent - 1 : level >= parent) {
    return Status::Corruption("indirect page at offset " + std::to_string(ref.offset) +
                              " has the wrong level");
  }
  const uint64_t span = LeavesCovered(level - 1);  // leaves under one child
  for (size_t i = 0; i < page.size() && !*stop; ++i) {
    const uint64_t child_first = first_leaf + page.slot_at(i) * span;
    const uint64_t child_last = child_first + span - 1;
    if (child_last < LeafOf(first) || child_first > LeafOf(last)) continue;
    REVFS_ASSIGN_OR_RETURN(IndirectChild child, page.child_at(i));
    if (level > 1) {
      REVFS_RETURN_IF_ERROR(
          ScanTriePage(std::get<PageRef>(child), level, child_first, first, last, fn, stop));
      continue;
    }
    size_t combined = 0;
    REVFS_ASSIGN_OR_RETURN(PinnedView leaf, rs_->page_loader_->Leaf(std::get<LeafRef>(child), &combined));
    if (combined) rs_->NoteLeafLoad(combined);
    CombinedPage records(leaf.bytes());
    const uint64_t base_key = child_first << kLeafBits;
    for (size_t r = records.LowerBound(child_first == LeafOf(first) ? SlotOf(first) : 0);
         r < records.size(); ++r) {
      auto rec = records.at(r);
      const uint64_t key = base_key | rec.slot;
      if (key > last) {
        *stop = true;
        break;
      }
      if (!fn(key, rec.value)) {
        *stop = true;
        break;
      }
    }
  }
  return Status::OK();
}

}  // namespace revfs
