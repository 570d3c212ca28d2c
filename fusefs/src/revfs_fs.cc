// RevFs: node table, attributes, lookups, listings and reads.
#include "revfs/fusefs/fusefs.h"

#include <pthread.h>
#include <sched.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <mutex>

#include "revfs/json.h"
#include "revfs/time_util.h"

namespace revfs::fusefs {
namespace {

constexpr uint64_t kRevisionsNode = RevFs::kRevisionsNode, kAtNode = RevFs::kAtNode, kMetaNode = 4,
                   kStatsNode = RevFs::kStatsNode, kLatestNode = 6;
constexpr uint64_t kFirstDynamicNode = 16;  // below: the fixed nodes (root, revisions/ ...)

// splitmix64's finalizer: every input bit spreads over the whole output.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
// Set in every st_ino made from a hash: apart from the fixed nodes' numbers.
constexpr uint64_t kHashedIno = uint64_t{1} << 63;
// Tags that keep the st_ino of revisions' roots and at/ links apart from
// those of entries.
constexpr uint64_t kRevRootTag = 0x5265764672526f6full, kAtLinkTag = 0x52657646416c6e6bull;

// The st_ino of revisions/REV and of an at/ link to revision REV: one
// formula each for stat and the listings (d_ino must equal st_ino).
ino_t RevRootStIno(uint64_t rev) { return Mix(Mix(rev) ^ kRevRootTag) | kHashedIno; }
ino_t AtLinkStIno(uint64_t rev) { return Mix(Mix(rev) ^ kAtLinkTag) | kHashedIno; }

void FillTimes(struct stat* st, int64_t ns) {
  st->st_mtim = st->st_atim = st->st_ctim = TimespecFromNanos(ns);
}

std::optional<uint64_t> ParseRevision(std::string_view name) {
  if (name.empty() || name.size() > 19) return std::nullopt;
  uint64_t n = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (name.size() > 1 && name[0] == '0') return std::nullopt;  // one name per revision
  return n;
}

mode_t ModeOfType(FileType t) {
  switch (t) {
    case FileType::kDirectory: return S_IFDIR;
    case FileType::kSymlink: return S_IFLNK;
    case FileType::kFifo: return S_IFIFO;
    case FileType::kCharDevice: return S_IFCHR;
    case FileType::kBlockDevice: return S_IFBLK;
    case FileType::kSocket: return S_IFSOCK;
    default: return S_IFREG;
  }
}

// Logs the exception being handled (a background job's; never rethrown).
void LogThrown(const char* what) noexcept {
  try {
    try {
      throw;
    } catch (const std::exception& e) {
      if (auto log = spdlog::get("revfs")) log->error("{}: {}", what, e.what());
    } catch (...) {
      if (auto log = spdlog::get("revfs")) log->error("{}: unknown exception", what);
    }
  } catch (...) {  // logging failed too (memory short): the job just ends
  }
}

}  // namespace

struct RevFs::FileHandle {
  bool stats = false;
  std::string stats_json;
  uint64_t node = 0;
  std::atomic<bool> read{false};  // FirstRead was called
  uint64_t rev = 0;
  Inode inode;
  ReadAhead ahead;
};

RevFs::RevFs(Database* db, FsOptions options) : db_(db), options_(options) {
  const Kind fixed[] = {Kind::kRoot, Kind::kRevisions, Kind::kAt,
                        Kind::kMeta, Kind::kStats,     Kind::kLatest};
  for (uint64_t i = 0; i < 6; ++i) nodes_[i + 1].kind = fixed[i];
  for (unsigned i = 0; i < options_.prefetch_threads; ++i) {
    prefetchers_.emplace_back([this] { PrefetchLoop(); });
  }
  if (DirReadAheadOn()) {
    for (unsigned i = 0; i < kDirReadAheadThreads; ++i) {
      prefetchers_.emplace_back([this] { DirReadAheadLoop(); });
    }
  }
}

RevFs::~RevFs() {
  {
    std::lock_guard lock(prefetch_mu_);
    prefetch_stop_ = true;
  }
  prefetch_cv_.notify_all();
  dir_cv_.notify_all();
  for (std::thread& t : prefetchers_) t.join();
}

void RevFs::PrefetchLoop() {
  // Decoding ahead uses only CPU time nobody else wants: the threads
  // answering requests always come first.
  sched_param param{};
  (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);
  // ... and never make a reader wait: a reader asking for a chunk this
  // thread is decoding decodes it itself (a starved idle thread could take
  // seconds).
  Database::MarkBackgroundThread();
  while (true) {
    ChunkRef chunk;
    {
      std::unique_lock lock(prefetch_mu_);
      prefetch_cv_.wait(lock, [this] { return prefetch_stop_ || !prefetch_queue_.empty(); });
      if (prefetch_stop_) return;
      chunk = prefetch_queue_.front();
      prefetch_queue_.pop_front();
    }
    // Decoded into the chunk cache; the pin is dropped at once. Nothing
    // thrown may end the thread (and with it the daemon).
    try {
      (void)db_->PrefetchChunk(chunk.hash, chunk.page, chunk.length);
    } catch (...) {
      LogThrown("chunk prefetch");
    }
  }
}

void RevFs::DirReadAheadLoop() {
  // At normal priority, unlike the chunk prefetchers: a store into a file
  // holds its pages locked, and readers of the file (and StopKernelCacheFill)
  // wait for it, so it must not be starved by a busy machine.
  while (true) {
    uint64_t dir = 0;
    {
      std::unique_lock lock(prefetch_mu_);
      dir_cv_.wait(lock, [this] { return prefetch_stop_ || !dir_queue_.empty(); });
      if (prefetch_stop_) return;
      dir = dir_queue_.front();
      dir_queue_.pop_front();
    }
    try {
      ReadAheadDirectory(dir);
    } catch (...) {  // a job is only a hint: the reads it helps still work
      LogThrown("directory read-ahead");
    }
    dirs_read_ahead_.fetch_add(1, std::memory_order_relaxed);
  }
}

void RevFs::QueuePrefetch(const std::vector<ChunkRef>& chunks) {
  if (chunks.empty() || prefetchers_.empty()) return;
  size_t queued = 0;
  {
    std::lock_guard lock(prefetch_mu_);
    for (const ChunkRef& c : chunks) {
      if (prefetch_queue_.size() >= kPrefetchQueueMax) break;
      prefetch_queue_.push_back(c);
      ++queued;
    }
  }
  prefetches_.fetch_add(queued, std::memory_order_relaxed);
  if (queued == 1) {
    prefetch_cv_.notify_one();
  } else if (queued > 1) {
    prefetch_cv_.notify_all();
  }
}

void RevFs::MaybePrefetch(const Inode& file, ReadAhead& ahead, ReadTrx& trx, uint64_t offset,
                          uint64_t end) {
  constexpr uint64_t kNear = 4u << 20;  // the kernel's reads in flight stay within this
  uint64_t seen = ahead.max_end.load(std::memory_order_relaxed);
  const bool sequential = offset == 0 || (offset <= seen + kNear && offset + kNear >= seen);
  while (end > seen && !ahead.max_end.compare_exchange_weak(seen, end)) {
  }
  if (!sequential || end >= file.size || options_.readahead_bytes == 0) return;
  const uint64_t to = std::min<uint64_t>(file.size, end + options_.readahead_bytes);
  uint64_t queued = ahead.queued_to.load(std::memory_order_relaxed);
  uint64_t from;
  do {  // one thread queues [from, to)
    from = std::max(queued, end);
    if (from >= to) return;
  } while (!ahead.queued_to.compare_exchange_weak(queued, to));
  std::vector<ChunkRef> chunks;
  (void)ForEachChunk(trx, file, from, [&](const ChunkRef& c) {
    if (c.offset >= to) return false;
    if (c.offset >= from && !c.hole) chunks.push_back(c);
    return true;
  });
  QueuePrefetch(chunks);
}

void RevFs::PrefetchFirstChunk(const Inode& file, ReadTrx& trx) {
  if (file.type != FileType::kRegular || file.size == 0 || options_.lookup_prefetch_max == 0) {
    return;
  }
  std::vector<ChunkRef> chunks;
  (void)ForEachChunk(trx, file, 0, [&](const ChunkRef& c) {
    if (!c.hole && c.length <= options_.lookup_prefetch_max) chunks.push_back(c);
    return false;
  });
  QueuePrefetch(chunks);
}

void RevFs::FirstRead(uint64_t id) {
  if (!DirReadAheadOn()) return;
  uint64_t dir = 0;
  {
    std::unique_lock lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return;
    it->second.cached = true;
    auto parent = nodes_.find(it->second.parent);
    if (parent == nodes_.end() || parent->second.dir_read_ahead) return;
    parent->second.dir_read_ahead = true;
    dir = parent->first;
  }
  {
    std::lock_guard lock(prefetch_mu_);
    dir_queue_.push_back(dir);  // once per directory node, so bounded
  }
  dirs_queued_.fetch_add(1, std::memory_order_relaxed);
  dir_cv_.notify_one();
}

void RevFs::ReadAheadDirectory(uint64_t dir_id) {
  if (cache_fill_stopping_.load()) return;
  auto dir = GetNode(dir_id);
  if (!dir.ok() || (dir->kind != Kind::kEntry && dir->kind != Kind::kRevRoot)) return;
  auto trx = db_->BeginRead(dir->rev);
  if (!trx.ok()) return;
  auto dir_inode = InodeOf(*dir, **trx);
  if (!dir_inode.ok() || dir_inode->type != FileType::kDirectory) return;
  // The directory's regular files, at most kReadAheadScanMax entries looked
  // at: a huge directory of which one file was looked up is not walked whole.
  std::vector<uint64_t> inos;
  size_t scanned = 0;
  if (!ListDirectory(**trx, *dir_inode, "", [&](std::string_view, const DirEntry& e) {
         if (e.type == FileType::kRegular) inos.push_back(e.ino);
         return ++scanned < kReadAheadScanMax;
       }).ok()) {
    return;
  }
  // Only files the kernel knows (looked up, not forgotten) and has not read:
  // it drops what it is given for a node it does not have.
  std::vector<std::pair<uint64_t, uint64_t>> files;  // (node, ino)
  {
    std::unique_lock lock(mu_);
    for (uint64_t ino : inos) {
      auto known = ids_.find(Key{Kind::kEntry, dir->rev, ino});
      if (known == ids_.end()) continue;
      Node& n = nodes_[known->second];
      if (n.cached) continue;
      n.cached = true;
      files.emplace_back(known->second, ino);
    }
  }
  uint64_t budget = options_.dir_readahead_bytes;
  for (const auto& [id, ino] : files) {
    if (cache_fill_stopping_.load()) return;
    auto file = GetInode(**trx, ino);
    if (!file.ok() || file->type != FileType::kRegular || file->size == 0 ||
        file->size > options_.lookup_prefetch_max) {
      continue;
    }
    if (file->size > budget) break;
    budget -= file->size;
    std::vector<PinnedView> pins;
    std::vector<std::string_view> pieces;
    if (!ReadFilePinned(*db_, **trx, *file, 0, file->size, &pins, &pieces).ok()) continue;
    std::shared_lock lock(cache_fill_mu_);
    if (!cache_fill_ || cache_fill_stopping_.load()) return;
    if (cache_fill_(id, pieces) == 0) {
      files_read_ahead_.fetch_add(1, std::memory_order_relaxed);
      bytes_read_ahead_.fetch_add(file->size, std::memory_order_relaxed);
    }
  }
}

void RevFs::SetKernelCacheFill(KernelCacheFill store) {
  std::unique_lock lock(cache_fill_mu_);
  cache_fill_ = std::move(store);
  cache_fill_stopping_.store(false);
}

void RevFs::StopKernelCacheFill() {
  // First no new store starts (read-ahead checks this before taking the
  // lock), then the lock waits for the ones under way.
  cache_fill_stopping_.store(true);
  std::unique_lock lock(cache_fill_mu_);
  cache_fill_ = nullptr;
}

uint64_t RevFs::Latest() {
  // Without a watcher every request reads the superblock. With one, only
  // the first after a change does; a failed refresh keeps what we knew and
  // leaves the next request to try again.
  if (!change_driven_.load(std::memory_order_acquire)) {
    (void)db_->store().Refresh();
  } else if (const uint64_t changes = store_changes_.load(std::memory_order_acquire);
             refreshed_changes_.load(std::memory_order_acquire) != changes &&
             db_->store().Refresh().ok()) {
    refreshed_changes_.store(changes, std::memory_order_release);
  }
  return db_->store().latest_revision();
}

void RevFs::NoteStoreChanged() {
  store_changes_.fetch_add(1, std::memory_order_acq_rel);
  change_driven_.store(true, std::memory_order_release);
}

bool RevFs::PollNewRevision() {
  const uint64_t latest = Latest();
  return last_seen_latest_.exchange(latest) != latest;
}

Result<RevFs::Node> RevFs::GetNode(uint64_t id) const {
  std::shared_lock lock(mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return Status::NotFound("stale node " + std::to_string(id));
  return it->second;
}

uint64_t RevFs::Intern(Kind kind, uint64_t rev, uint64_t ino, uint64_t parent) {
  std::unique_lock lock(mu_);
  auto [it, inserted] = ids_.try_emplace(Key{kind, rev, ino}, next_id_);
  if (inserted) {
    Node& n = nodes_[next_id_++];
    n.kind = kind;
    n.rev = rev;
    n.ino = ino;
    n.parent = parent;
  }
  ++nodes_[it->second].lookups;
  return it->second;
}

uint64_t RevFs::NewStatsNode() {
  auto json = std::make_shared<const std::string>(StatsJson() + "\n");
  std::unique_lock lock(mu_);
  const uint64_t id = next_id_++;
  Node node;
  node.kind = Kind::kStatsSnapshot;
  node.ino = id;
  node.lookups = 1;
  node.stats = std::move(json);
  nodes_[id] = std::move(node);
  ids_[Key{Kind::kStatsSnapshot, 0, id}] = id;
  return id;
}

void RevFs::Forget(uint64_t id, uint64_t count) {
  std::unique_lock lock(mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end() || id < kFirstDynamicNode) return;  // the fixed nodes stay
  Node& n = it->second;
  n.lookups = count >= n.lookups ? 0 : n.lookups - count;
  if (n.lookups == 0) {
    ids_.erase(Key{n.kind, n.rev, n.ino});
    nodes_.erase(it);
  }
}

ino_t RevFs::StInoOf(uint64_t rev, uint64_t ino, FileType type, const Hash128& identity) const {
  if (options_.unique_ino || type == FileType::kDirectory) return Mix(Mix(rev) ^ ino) | kHashedIno;
  return Mix(identity.lo ^ Mix(identity.hi ^ Mix(ino))) | kHashedIno;
}

ino_t RevFs::DirStIno(const Node& node, uint64_t id) const {
  switch (node.kind) {
    case Kind::kRevRoot: return RevRootStIno(node.rev);
    case Kind::kEntry: return StInoOf(node.rev, node.ino, FileType::kDirectory, {});
    default: return id;  // the fixed directories
  }
}

void RevFs::FillFromInode(const Inode& n, struct stat* st) const {
  st->st_mode = n.mode;
  st->st_nlink = n.nlink;
  st->st_uid = n.uid;
  st->st_gid = n.gid;
  st->st_rdev = n.rdev;
  st->st_size = static_cast<off_t>(n.type == FileType::kSymlink ? n.symlink.size() : n.size);
  st->st_blksize = 4096;
  st->st_blocks = static_cast<blkcnt_t>((n.size + 511) / 512);
  // Normalised: times before 1970 must still have tv_nsec in [0, 1e9).
  st->st_atim = TimespecFromNanos(n.atime_ns);
  st->st_mtim = TimespecFromNanos(n.mtime_ns);
  st->st_ctim = TimespecFromNanos(n.ctime_ns);
  if (n.type == FileType::kDirectory) st->st_size = 4096;
}

Result<Inode> RevFs::InodeOf(const Node& node, ReadTrx& trx) {
  if (node.kind == Kind::kRevRoot) {
    REVFS_ASSIGN_OR_RETURN(auto root, ResolvePath(trx, ""));
    return std::move(root.second);
  }
  return GetInode(trx, node.ino);
}

Result<NodeAttr> RevFs::AttrOf(const Node& node, uint64_t id) {
  NodeAttr a;
  a.st.st_ino = id;
  a.st.st_uid = options_.uid;
  a.st.st_gid = options_.gid;
  a.timeout = options_.short_timeout;
  switch (node.kind) {
    case Kind::kRoot:
    case Kind::kRevisions:
    case Kind::kAt:
    case Kind::kMeta: {
      a.st.st_mode = S_IFDIR | 0555;
      a.st.st_nlink = 2;
      a.st.st_size = 4096;
      uint64_t latest = Latest();
      auto entry = db_->store().GetRevision(latest);
      FillTimes(&a.st, entry.ok() ? entry->time_ns : 0);
      return a;
    }
    case Kind::kStats:
      a.st.st_mode = S_IFREG | 0444;
      a.st.st_nlink = 1;
      a.timeout = 0;
      return a;
    case Kind::kStatsSnapshot:
      a.st.st_ino = kStatsNode;  // each lookup makes a node; stat shows one file
      a.st.st_mode = S_IFREG | 0444;
      a.st.st_nlink = 1;
      a.st.st_size = static_cast<off_t>(node.stats ? node.stats->size() : 0);
      a.timeout = 0;
      return a;
    case Kind::kLatest:
    case Kind::kAtLink: {
      uint64_t rev = node.kind == Kind::kLatest ? Latest() : node.rev;
      std::string target = (node.kind == Kind::kLatest ? "revisions/" : "../revisions/") + std::to_string(rev);
      a.st.st_mode = S_IFLNK | 0777;
      a.st.st_nlink = 1;
      a.st.st_size = static_cast<off_t>(target.size());
      if (node.kind == Kind::kAtLink) a.st.st_ino = AtLinkStIno(node.rev);
      auto entry = db_->store().GetRevision(rev);
      FillTimes(&a.st, entry.ok() ? entry->time_ns : 0);
      return a;
    }
    case Kind::kRevRoot:
    case Kind::kEntry: {
      REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(node.rev));
      REVFS_ASSIGN_OR_RETURN(Inode inode, InodeOf(node, *trx));
      return AttrOfInode(node, id, inode);
    }
  }
  return Status::InvalidArgument("unknown node kind");
}

NodeAttr RevFs::AttrOfInode(const Node& node, uint64_t id, const Inode& inode) const {
  NodeAttr a;
  FillFromInode(inode, &a.st);
  a.st.st_ino = node.kind == Kind::kRevRoot
                    ? DirStIno(node, id)
                    : StInoOf(node.rev, node.ino, inode.type, inode.identity);
  a.timeout = options_.long_timeout;
  return a;
}

Result<NodeAttr> RevFs::GetAttr(uint64_t id) {
  REVFS_ASSIGN_OR_RETURN(Node node, GetNode(id));
  return AttrOf(node, id);
}

Result<EntryReply> RevFs::Lookup(uint64_t parent, std::string_view name) {
  REVFS_ASSIGN_OR_RETURN(Node p, GetNode(parent));
  EntryReply r;
  r.entry_timeout = options_.short_timeout;
  std::optional<std::pair<Kind, std::pair<uint64_t, uint64_t>>> target;  // kind, (rev, ino)
  switch (p.kind) {
    case Kind::kRoot:
      if (name == "latest") r.node = kLatestNode;
      if (name == "revisions") r.node = kRevisionsNode;
      if (name == "at") r.node = kAtNode;
      if (name == ".revfs") r.node = kMetaNode;
      break;
    case Kind::kMeta:
      if (name == "stats") r.node = no_open_ ? NewStatsNode() : kStatsNode;
      break;
    case Kind::kRevisions: {
      auto rev = ParseRevision(name);
      if (rev && *rev <= Latest()) target = {Kind::kRevRoot, {*rev, 0}};
      break;
    }
    case Kind::kAt: {
      // A name without a fraction of a second names that whole second (the
      // listing truncates commit times to seconds). Far times saturate: past
      // the last commit is the latest revision, before revision 0 ENOENT.
      auto t = ParseTimeLast(name);
      if (t.ok()) {
        Latest();
        auto rev = db_->store().RevisionAt(*t);
        if (rev.ok()) target = {Kind::kAtLink, {*rev, 0}};
      }
      break;
    }
    case Kind::kRevRoot:
    case Kind::kEntry: {
      r.entry_timeout = options_.long_timeout;  // negative entries too
      REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(p.rev));
      REVFS_ASSIGN_OR_RETURN(Inode dir, InodeOf(p, *trx));
      if (dir.type != FileType::kDirectory) return Status::NotFound("not a directory");
      if (p.rev == 0) break;
      REVFS_ASSIGN_OR_RETURN(auto entry, LookupEntry(*trx, dir, name));
      if (!entry) break;
      return ChildEntry(parent, p.rev, entry->ino, *trx);
    }
    default:
      return Status::NotFound("not a directory");
  }
  if (target) r.node = Intern(target->first, target->second.first, target->second.second);
  if (r.node == 0) return r;  // negative
  auto attr = GetAttr(r.node);
  if (!attr.ok()) {
    if (r.node >= kFirstDynamicNode) Forget(r.node, 1);
    return attr.status();
  }
  r.attr = *attr;
  if (target && target->first != Kind::kAtLink) r.entry_timeout = options_.long_timeout;
  if (p.kind == Kind::kMeta) r.entry_timeout = 0;  // each open of stats looks it up anew
  return r;
}

Result<EntryReply> RevFs::ChildEntry(uint64_t parent, uint64_t rev, uint64_t ino,
                                     ReadTrx& trx) {
  // The child is read once: its attributes, and the first chunk of a small
  // file queued for decoding (it is likely read next).
  REVFS_ASSIGN_OR_RETURN(Inode child, GetInode(trx, ino));
  EntryReply r;
  r.entry_timeout = options_.long_timeout;
  r.node = Intern(Kind::kEntry, rev, ino, parent);
  Node n;
  n.kind = Kind::kEntry;
  n.rev = rev;
  n.ino = ino;
  r.attr = AttrOfInode(n, r.node, child);
  PrefetchFirstChunk(child, trx);
  return r;
}

Result<EntryReply> RevFs::LookupListed(uint64_t parent, const DirItem& item) {
  if (item.node_hint == 0) return Lookup(parent, item.name);
  REVFS_ASSIGN_OR_RETURN(Node p, GetNode(parent));
  REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(p.rev));
  return ChildEntry(parent, p.rev, item.node_hint, *trx);
}

Result<std::string> RevFs::ReadLink(uint64_t id) {
  REVFS_ASSIGN_OR_RETURN(Node node, GetNode(id));
  if (node.kind == Kind::kLatest) return "revisions/" + std::to_string(Latest());
  if (node.kind == Kind::kAtLink) return "../revisions/" + std::to_string(node.rev);
  if (node.kind != Kind::kEntry) return Status::InvalidArgument("not a symlink");
  REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(node.rev));
  REVFS_ASSIGN_OR_RETURN(Inode inode, GetInode(*trx, node.ino));
  if (inode.type != FileType::kSymlink) return Status::InvalidArgument("not a symlink");
  return inode.symlink;
}

Result<bool> RevFs::OpenDir(uint64_t id) {
  REVFS_ASSIGN_OR_RETURN(Node node, GetNode(id));
  switch (node.kind) {
    case Kind::kRoot:
    case Kind::kRevisions:
    case Kind::kAt:
    case Kind::kMeta:
      return false;
    case Kind::kRevRoot:
      return true;
    case Kind::kEntry: {
      REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(node.rev));
      REVFS_ASSIGN_OR_RETURN(Inode dir, GetInode(*trx, node.ino));
      if (dir.type != FileType::kDirectory) return Status::InvalidArgument("not a directory");
      return true;
    }
    default:
      return Status::InvalidArgument("not a directory");
  }
}

Status RevFs::ReadDir(uint64_t id, uint64_t offset, const std::function<bool(const DirItem&)>& fn) {
  REVFS_ASSIGN_OR_RETURN(Node node, GetNode(id));
  if (node.kind == Kind::kRevRoot || node.kind == Kind::kEntry) {
    return ReadStoreDir(node, id, offset, fn);
  }
  // The synthetic directories: made whole, they are small (revisions/ is
  // generated by position).
  std::vector<DirItem> items = {{".", 0, S_IFDIR, id}, {"..", 0, S_IFDIR, kRootNode}};
  switch (node.kind) {
    case Kind::kRoot:
      items.push_back({"latest", 0, S_IFLNK, kLatestNode});
      items.push_back({"revisions", 0, S_IFDIR, kRevisionsNode});
      items.push_back({"at", 0, S_IFDIR, kAtNode});
      items.push_back({".revfs", 0, S_IFDIR, kMetaNode});
      break;
    case Kind::kMeta:
      items.push_back({"stats", 0, S_IFREG, kStatsNode});
      break;
    case Kind::kRevisions: {  // generated by position: revision r is item r + 2
      for (; offset < 2; ++offset) {
        if (!fn(items[offset])) return Status::OK();
      }
      for (uint64_t r = offset - 2, latest = Latest(); r <= latest; ++r) {
        if (!fn({std::to_string(r), 0, S_IFDIR, RevRootStIno(r)})) break;
      }
      return Status::OK();
    }
    case Kind::kAt: {
      std::string last;
      for (uint64_t r = 0, latest = Latest(); r <= latest; ++r) {
        auto e = db_->store().GetRevision(r);
        if (!e.ok()) continue;
        // A name is a whole second: it resolves to the last revision in it.
        std::string name = FormatTimeCompact(e->time_ns);
        const ino_t st_ino = AtLinkStIno(r);
        if (name == last) {
          items.back().st_ino = st_ino;
          continue;
        }
        items.push_back({name, 0, S_IFLNK, st_ino});
        last = std::move(name);
      }
      break;
    }
    default:
      return Status::InvalidArgument("not a directory");
  }
  for (size_t i = offset; i < items.size(); ++i) {
    if (!fn(items[i])) break;
  }
  return Status::OK();
}

Status RevFs::ReadStoreDir(const Node& node, uint64_t id, uint64_t offset,
                           const std::function<bool(const DirItem&)>& fn) {
  REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(node.rev));
  REVFS_ASSIGN_OR_RETURN(Inode dir, InodeOf(node, *trx));
  if (dir.type != FileType::kDirectory) return Status::InvalidArgument("not a directory");
  uint64_t parent_ino = kRevisionsNode;
  if (node.kind == Kind::kEntry) {
    auto parent = GetNode(node.parent);
    parent_ino = parent.ok() ? DirStIno(*parent, node.parent) : 0;
  }
  const DirItem dots[] = {{".", 0, S_IFDIR, DirStIno(node, id)}, {"..", 0, S_IFDIR, parent_ino}};
  for (; offset < 2; ++offset) {
    if (!fn(dots[offset])) return Status::OK();
  }
  if (node.rev == 0) return Status::OK();  // revision 0 is the empty tree
  // Resume after the name that ended the previous call, or count from the
  // start when it is no longer remembered.
  std::string after;
  uint64_t skip = 0;
  if (offset > 2) {
    std::lock_guard lock(cursors_mu_);
    auto it = cursors_.find(CursorKey{id, offset});
    if (it != cursors_.end()) {
      after = it->second;
    } else {
      skip = offset - 2;
    }
  }
  DirItem item;
  bool taken_any = false;
  Status s = ListDirectory(*trx, dir, after, [&](std::string_view name, const DirEntry& e) {
    if (skip > 0) {
      --skip;
      return true;
    }
    item.name.assign(name);
    item.node_hint = e.ino;
    item.type = ModeOfType(e.type);
    item.st_ino = StInoOf(node.rev, e.ino, e.type, e.identity);
    if (!fn(item)) return false;
    taken_any = true;
    after.assign(name);
    ++offset;
    return true;
  });
  if (taken_any) {
    std::lock_guard lock(cursors_mu_);
    auto [it, inserted] = cursors_.insert_or_assign(CursorKey{id, offset}, after);
    if (inserted) {
      cursor_order_.push_back(it->first);
      if (cursor_order_.size() > kCursorsMax) {
        cursors_.erase(cursor_order_.front());
        cursor_order_.pop_front();
      }
    }
  }
  return s;
}

Result<std::vector<uint64_t>> RevFs::ReadDirPlus(
    uint64_t dir, uint64_t offset, size_t max_children,
    const std::function<bool(const DirItem&, const EntryReply*)>& add) {
  std::vector<uint64_t> counted;
  counted.reserve(max_children);  // so recording a lookup never throws
  struct GiveBack {
    RevFs* fs;
    std::vector<uint64_t>* nodes;
    bool kept = false;
    ~GiveBack() {
      if (kept) return;
      for (uint64_t node : *nodes) fs->Forget(node, 1);
    }
  } give_back{this, &counted};
  REVFS_RETURN_IF_ERROR(ReadDir(dir, offset, [&](const DirItem& item) {
    if (item.name == "." || item.name == "..") return add(item, nullptr);
    if (counted.size() == max_children) return false;
    auto entry = LookupListed(dir, item);
    const bool looked_up = entry.ok() && entry->node != 0;
    if (looked_up) counted.push_back(entry->node);
    if (add(item, looked_up ? &*entry : nullptr)) return true;
    if (looked_up) {  // not taken: the lookup does not count
      counted.pop_back();
      Forget(entry->node, 1);
    }
    return false;
  }));
  give_back.kept = true;
  return counted;
}

Result<std::vector<DirItem>> RevFs::ListDir(uint64_t id) {
  std::vector<DirItem> items;
  REVFS_RETURN_IF_ERROR(ReadDir(id, 0, [&](const DirItem& item) {
    items.push_back(item);
    return true;
  }));
  return items;
}

Result<uint64_t> RevFs::Open(uint64_t id, bool* keep_cache, bool* direct_io) {
  REVFS_ASSIGN_OR_RETURN(Node node, GetNode(id));
  auto handle = std::make_unique<FileHandle>();
  if (node.kind == Kind::kStats) {
    handle->stats = true;
    handle->stats_json = StatsJson() + "\n";
    *keep_cache = false;
    *direct_io = true;
  } else if (node.kind == Kind::kEntry) {
    REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(node.rev));
    REVFS_ASSIGN_OR_RETURN(handle->inode, GetInode(*trx, node.ino));
    if (handle->inode.type != FileType::kRegular) return Status::InvalidArgument("not a file");
    handle->rev = node.rev;
    handle->node = id;
    *keep_cache = true;  // the content of a revision never changes
    *direct_io = false;
  } else {
    return Status::InvalidArgument("not a file");
  }
  handles_open_.fetch_add(1, std::memory_order_relaxed);
  // The one place a bare pointer crosses into FUSE: fi->fh, taken back in Release.
  return reinterpret_cast<uint64_t>(handle.release());
}

Status RevFs::Read(uint64_t fh, uint64_t offset, size_t size, std::vector<PinnedView>* pins,
                   std::vector<std::string_view>* pieces, std::string* scratch) {
  auto* handle = reinterpret_cast<FileHandle*>(fh);
  if (handle->stats) {
    if (offset < handle->stats_json.size()) {
      pieces->push_back(std::string_view(handle->stats_json).substr(offset, size));
    }
    return Status::OK();
  }
  REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(handle->rev));
  Status s = ReadFilePinned(*db_, *trx, handle->inode, offset, size, pins, pieces);
  if (!s.ok()) {
    // Logged once per file; the reader gets EIO, the rest of the mount goes on.
    std::lock_guard lock(logged_mu_);
    if (logged_.insert({handle->rev, handle->inode.identity.lo}).second) {
      if (auto log = spdlog::get("revfs")) {
        log->error("revision {}: file of {} bytes (identity {}): {}", handle->rev,
                   handle->inode.size, handle->inode.identity.ToHex(), s.message());
      }
    }
    return s;
  }
  MaybePrefetch(handle->inode, handle->ahead, *trx, offset,
                std::min<uint64_t>(offset + size, handle->inode.size));
  if (!handle->read.exchange(true)) FirstRead(handle->node);
  return Status::OK();
}

Result<int64_t> RevFs::SeekDataOrHole(uint64_t id, uint64_t offset, int whence) {
  if (whence != SEEK_DATA && whence != SEEK_HOLE) return Status::InvalidArgument("whence");
  REVFS_ASSIGN_OR_RETURN(Node node, GetNode(id));
  if (node.kind != Kind::kEntry) return Status::InvalidArgument("not a file");
  REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(node.rev));
  REVFS_ASSIGN_OR_RETURN(Inode file, GetInode(*trx, node.ino));
  if (file.type != FileType::kRegular) return Status::InvalidArgument("not a file");
  if (offset >= file.size) return int64_t{-1};
  int64_t found = -1;
  uint64_t pos = offset;  // SEEK_HOLE: the data so far runs up to pos
  REVFS_RETURN_IF_ERROR(ForEachChunk(*trx, file, offset, [&](const ChunkRef& c) {
    const uint64_t end = c.offset + c.length;
    if (end <= offset) return true;
    if (whence == SEEK_DATA) {
      if (c.hole) return true;
      found = static_cast<int64_t>(std::max(offset, c.offset));
      return false;
    }
    if (c.hole || c.offset > pos) return false;  // pos is in a hole or a gap
    pos = end;
    return pos < file.size;
  }));
  if (whence == SEEK_HOLE) found = static_cast<int64_t>(std::min(pos, file.size));
  return found;
}

Status RevFs::ReadNode(uint64_t id, uint64_t offset, size_t size, std::vector<PinnedView>* pins,
                       std::vector<std::string_view>* pieces) {
  REVFS_ASSIGN_OR_RETURN(Node node, GetNode(id));
  if (node.kind == Kind::kStatsSnapshot) {
    // The snapshot lives as long as the node; the reply copies it out before
    // the kernel can forget the node.
    if (node.stats && offset < node.stats->size()) {
      pieces->push_back(std::string_view(*node.stats).substr(offset, size));
    }
    return Status::OK();
  }
  if (node.kind != Kind::kEntry) return Status::InvalidArgument("not a file");
  REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(node.rev));
  std::shared_ptr<const Inode> inode = node.file;
  std::shared_ptr<ReadAhead> ahead = node.ahead;
  bool first = false;
  if (!inode) {
    REVFS_ASSIGN_OR_RETURN(Inode loaded, GetInode(*trx, node.ino));
    if (loaded.type != FileType::kRegular) return Status::InvalidArgument("not a file");
    inode = std::make_shared<const Inode>(std::move(loaded));
    ahead = std::make_shared<ReadAhead>();
    std::unique_lock lock(mu_);
    auto it = nodes_.find(id);
    if (it != nodes_.end()) {
      if (it->second.file) {  // another reader was first: share its state
        inode = it->second.file;
        ahead = it->second.ahead;
      } else {
        it->second.file = inode;
        it->second.ahead = ahead;
        first = true;
      }
    }
  }
  Status s = ReadFilePinned(*db_, *trx, *inode, offset, size, pins, pieces);
  if (!s.ok()) {
    std::lock_guard lock(logged_mu_);
    if (logged_.insert({node.rev, inode->identity.lo}).second) {
      if (auto log = spdlog::get("revfs")) {
        log->error("revision {}: inode {}: {}", node.rev, node.ino, s.message());
      }
    }
    return s;
  }
  MaybePrefetch(*inode, *ahead, *trx, offset, std::min<uint64_t>(offset + size, inode->size));
  if (first) FirstRead(id);
  return Status::OK();
}

void RevFs::Release(uint64_t fh) {
  std::unique_ptr<FileHandle> handle(reinterpret_cast<FileHandle*>(fh));
  handles_open_.fetch_sub(1, std::memory_order_relaxed);
}

Result<std::vector<std::pair<std::string, std::string>>> RevFs::Xattrs(uint64_t id) {
  REVFS_ASSIGN_OR_RETURN(Node node, GetNode(id));
  if (node.kind != Kind::kEntry && node.kind != Kind::kRevRoot) {
    return std::vector<std::pair<std::string, std::string>>();
  }
  if (node.kind == Kind::kRevRoot && node.rev == 0) {
    return std::vector<std::pair<std::string, std::string>>();
  }
  REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(node.rev));
  REVFS_ASSIGN_OR_RETURN(Inode inode, InodeOf(node, *trx));
  return inode.xattrs;
}

void RevFs::CountOp(int op, uint64_t nanos) {
  op_count_[op].fetch_add(1, std::memory_order_relaxed);
  op_nanos_[op].fetch_add(nanos, std::memory_order_relaxed);
}

std::string RevFs::StatsJson() const {
  static const char* kNames[] = {"lookup", "getattr", "readlink", "opendir", "readdir", "open",
                                 "read",   "release", "xattr",    "statfs",  "forget",  "write"};
  JsonWriter w;
  w.BeginObject();
  w.Key("store").String(db_->store().path());
  w.Key("latest").Uint(db_->store().latest_revision());
  w.Key("engine").Raw(db_->StatsJson());
  {
    std::shared_lock lock(mu_);
    w.Key("nodes").Uint(nodes_.size());
  }
  w.Key("open_files").Uint(handles_open_.load());
  w.Key("chunks_prefetched").Uint(prefetches_.load());
  w.Key("dirs_queued").Uint(dirs_queued_.load());
  w.Key("dirs_read_ahead").Uint(dirs_read_ahead_.load());
  w.Key("files_read_ahead").Uint(files_read_ahead_.load());
  w.Key("bytes_read_ahead").Uint(bytes_read_ahead_.load());
  w.Key("ops").BeginObject();
  for (int i = 0; i < kOpCount; ++i) {
    w.Key(kNames[i]).BeginObject();
    uint64_t n = op_count_[i].load();
    w.Key("count").Uint(n);
    w.Key("mean_us").Double(n ? static_cast<double>(op_nanos_[i].load()) / n / 1000.0 : 0.0);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return w.str();
}

}  // namespace revfs::fusefs
