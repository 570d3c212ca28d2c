// RevFs: the mount's names. The fixed ones (the root, latest, revisions/,
// at/, history/, .revfs/ and its stats file), the revisions and at/ links
// under them, and the entries of a revision: their lookups, attributes and
// the listings of the fixed directories; the latest revision as requests
// see it. What is below history/ is history_view.cc's.
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "attributes.h"
#include "damage_log.h"
#include "space_cache.h"
#include "xattr_cache.h"
#include "file_entries.h"
#include "listing_cursors.h"
#include "node_table.h"
#include "op_stats.h"
#include "prefetcher.h"
#include "revfs/fusefs/fusefs.h"
#include "revfs/time_util.h"

namespace revfs::fusefs {
namespace {

using Kind = Node::Kind;

// The most decimal digits that always fit in 64 bits (2^64 is about
// 1.8e19): a longer name is no revision.
constexpr size_t kMaxRevisionDigits = 19;

std::optional<uint64_t> ParseRevision(std::string_view name) {
  if (name.empty() || name.size() > kMaxRevisionDigits) return std::nullopt;
  uint64_t n = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (name.size() > 1 && name[0] == '0') return std::nullopt;  // one name per revision
  return n;
}

}  // namespace

RevFs::RevFs(Database* db, FsOptions options)
    : db_(db),
      options_(options),
      nodes_(std::make_unique<NodeTable>()),
      cursors_(std::make_unique<ListingCursors>()),
      file_entries_(std::make_unique<FileEntries>(options_.readdirplus)),
      op_stats_(std::make_unique<OpStats>()),
      damage_log_(std::make_unique<DamageLog>()),
      xattr_cache_(std::make_unique<XattrCache>()),
      space_cache_(std::make_unique<SpaceCache>()),
      prefetcher_(std::make_unique<Prefetcher>(db, nodes_.get(), options_)) {}

RevFs::~RevFs() = default;  // prefetcher_ first: its threads are joined

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

std::vector<uint64_t> RevFs::PollForgotten() {
  RetentionState now = db_->store().retention();
  std::vector<uint64_t> gone;
  for (const RetentionState::Range& range : now.forgotten) {
    for (uint64_t r = range.first; r < range.first + range.count; ++r) {
      if (!seen_retention_.IsForgotten(r)) gone.push_back(r);
    }
  }
  seen_retention_ = std::move(now);
  return gone;
}

void RevFs::Forget(uint64_t id, uint64_t count) { nodes_->Forget(id, count); }

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
    case Kind::kHistory:
    case Kind::kMeta: {
      a.st.st_mode = S_IFDIR | 0555;
      a.st.st_nlink = 2;
      a.st.st_size = kDirectorySize;
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
    case Kind::kStatsCopy:
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
    case Kind::kHistoryDir: {  // never changes: it reads one revision's index
      a.st.st_ino = HistoryDirStIno(node.ino);
      a.st.st_mode = S_IFDIR | 0555;
      a.st.st_nlink = 2;
      a.st.st_size = kDirectorySize;
      a.timeout = options_.long_timeout;
      auto entry = db_->store().GetRevision(node.rev);
      FillTimes(&a.st, entry.ok() ? entry->time_ns : 0);
      return a;
    }
    case Kind::kHistoryLink: {
      REVFS_ASSIGN_OR_RETURN(std::string target, HistoryLinkTarget(node));
      a.st.st_ino = HistoryLinkStIno(node.ino);
      a.st.st_mode = S_IFLNK | 0777;
      a.st.st_nlink = 1;
      a.st.st_size = static_cast<off_t>(target.size());
      a.timeout = options_.long_timeout;
      auto entry = db_->store().GetRevision(node.rev);
      FillTimes(&a.st, entry.ok() ? entry->time_ns : 0);
      return a;
    }
  }
  return Status::InvalidArgument("unknown node kind");
}

NodeAttr RevFs::AttrOfInode(const Node& node, uint64_t id, const Inode& inode) const {
  NodeAttr a;
  FillFromInode(inode, &a.st);
  a.st.st_ino = node.kind == Kind::kRevRoot
                    ? DirStIno(node, id)
                    : StInoOf(node.rev, node.ino, inode.type, inode.identity, options_.unique_ino);
  a.timeout = options_.long_timeout;
  return a;
}

Result<NodeAttr> RevFs::GetAttr(uint64_t id) {
  REVFS_ASSIGN_OR_RETURN(Node node, nodes_->Get(id));
  return AttrOf(node, id);
}

Result<EntryReply> RevFs::Lookup(uint64_t parent, std::string_view name) {
  REVFS_ASSIGN_OR_RETURN(Node p, nodes_->Get(parent));
  EntryReply r;
  r.entry_timeout = options_.short_timeout;
  std::optional<std::pair<Kind, std::pair<uint64_t, uint64_t>>> target;  // kind, (rev, ino)
  switch (p.kind) {
    case Kind::kRoot:
      if (name == "latest") r.node = kLatestNode;
      if (name == "revisions") r.node = kRevisionsNode;
      if (name == "at") r.node = kAtNode;
      if (name == "history") r.node = kHistoryNode;
      if (name == ".revfs") r.node = kMetaNode;
      break;
    case Kind::kMeta:
      if (name == "stats") {
        r.node = no_open_ ? nodes_->AddStatsCopy(
                                std::make_shared<const std::string>(StatsJson() + "\n"))
                          : kStatsNode;
      }
      break;
    case Kind::kRevisions: {
      auto rev = ParseRevision(name);
      if (rev && *rev <= Latest() && !db_->store().IsForgotten(*rev)) {
        target = {Kind::kRevRoot, {*rev, 0}};
      }
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
      if (entry->type != FileType::kDirectory) file_entries_->FileLookedUp(FileEntries::Now());
      return ChildEntry(parent, p.rev, entry->ino, *trx);
    }
    case Kind::kHistory:
    case Kind::kHistoryDir:
      return LookupHistory(p, parent, name);
    default:
      return Status::NotFound("not a directory");
  }
  if (target) r.node = nodes_->Intern(target->first, target->second.first, target->second.second);
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
  EntryReply r = EntryOfInode(parent, rev, ino, child);
  prefetcher_->AfterLookup(child, trx);
  return r;
}

EntryReply RevFs::EntryOfInode(uint64_t parent, uint64_t rev, uint64_t ino, const Inode& inode) {
  EntryReply r;
  r.entry_timeout = options_.long_timeout;
  r.node = nodes_->Intern(Kind::kEntry, rev, ino, parent,
                          inode.xattrs.empty() && !inode.xattr_blob);
  Node n;
  n.kind = Kind::kEntry;
  n.rev = rev;
  n.ino = ino;
  r.attr = AttrOfInode(n, r.node, inode);
  return r;
}

Result<EntryReply> RevFs::LookupListed(uint64_t parent, const DirItem& item) {
  if (item.node_hint == 0) return Lookup(parent, item.name);
  if (item.hint_rev != 0) return VersionEntry(parent, item.hint_rev, item.node_hint);
  REVFS_ASSIGN_OR_RETURN(Node p, nodes_->Get(parent));
  REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(p.rev));
  return ChildEntry(parent, p.rev, item.node_hint, *trx);
}

Result<bool> RevFs::OpenDir(uint64_t id) {
  REVFS_ASSIGN_OR_RETURN(Node node, nodes_->Get(id));
  switch (node.kind) {
    case Kind::kRoot:
    case Kind::kRevisions:
    case Kind::kAt:
    case Kind::kMeta:
    case Kind::kHistory:
      return false;
    case Kind::kRevRoot:
    case Kind::kHistoryDir:
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
  REVFS_ASSIGN_OR_RETURN(Node node, nodes_->Get(id));
  if (node.kind == Kind::kRevRoot || node.kind == Kind::kEntry) {
    return ReadStoreDir(node, id, offset, fn);
  }
  if (node.kind == Kind::kHistory || node.kind == Kind::kHistoryDir) {
    return ReadHistoryDir(node, id, offset, fn);
  }
  // The fixed directories: made whole, they are small (revisions/ is
  // generated by position).
  std::vector<DirItem> items = {{".", 0, S_IFDIR, id}, {"..", 0, S_IFDIR, kRootNode}};
  switch (node.kind) {
    case Kind::kRoot:
      items.push_back({"latest", 0, S_IFLNK, kLatestNode});
      items.push_back({"revisions", 0, S_IFDIR, kRevisionsNode});
      items.push_back({"at", 0, S_IFDIR, kAtNode});
      items.push_back({"history", 0, S_IFDIR, kHistoryNode});
      items.push_back({".revfs", 0, S_IFDIR, kMetaNode});
      break;
    case Kind::kMeta:
      items.push_back({"stats", 0, S_IFREG, kStatsNode});
      break;
    case Kind::kRevisions: {  // generated by position: the kept revisions follow the dots
      for (; offset < kFirstEntryPosition; ++offset) {
        if (!fn(items[offset])) return Status::OK();
      }
      // Positions count the kept revisions (a forget shifts the later ones,
      // as removing names from any directory may during a listing).
      Latest();
      const std::vector<uint64_t> kept = db_->store().KeptRevisions();
      for (size_t i = offset - kFirstEntryPosition; i < kept.size(); ++i) {
        const uint64_t r = kept[i];
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

}  // namespace revfs::fusefs
