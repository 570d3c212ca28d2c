// RevFs: listings of a revision's directories, read by position and resumed
// through ListingCursors; readdirplus (a listing with each child looked up)
// and ListDir over any directory.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attributes.h"
#include "file_entries.h"
#include "listing_cursors.h"
#include "node_table.h"
#include "revfs/fusefs/fusefs.h"

namespace revfs::fusefs {

Status RevFs::ReadStoreDir(const Node& node, uint64_t id, uint64_t offset,
                           const std::function<bool(const DirItem&)>& fn) {
  REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(node.rev));
  REVFS_ASSIGN_OR_RETURN(Inode dir, InodeOf(node, *trx));
  if (dir.type != FileType::kDirectory) return Status::InvalidArgument("not a directory");
  uint64_t parent_ino = kRevisionsNode;
  if (node.kind == Node::Kind::kEntry) {
    auto parent = nodes_->Get(node.parent);
    parent_ino = parent.ok() ? DirStIno(*parent, node.parent) : 0;
  }
  const DirItem dots[] = {{".", 0, S_IFDIR, DirStIno(node, id)}, {"..", 0, S_IFDIR, parent_ino}};
  for (; offset < kFirstEntryPosition; ++offset) {
    if (!fn(dots[offset])) return Status::OK();
  }
  if (node.rev == 0) return Status::OK();  // revision 0 is the empty tree
  // Resume after the name that ended the previous call, or count from the
  // start when it is no longer remembered.
  std::string after;
  uint64_t skip = 0;
  if (offset > kFirstEntryPosition) {
    if (std::optional<std::string> name = cursors_->Find(id, offset)) {
      after = std::move(*name);
    } else {
      skip = offset - kFirstEntryPosition;
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
    item.st_ino = StInoOf(node.rev, e.ino, e.type, e.identity, options_.unique_ino);
    if (!fn(item)) return false;
    taken_any = true;
    after.assign(name);
    ++offset;
    return true;
  });
  if (taken_any) cursors_->Remember(id, offset, after);
  return s;
}

Result<std::vector<uint64_t>> RevFs::ReadDirPlus(
    uint64_t dir, uint64_t offset, size_t max_children,
    const std::function<bool(const DirItem&, const EntryReply*)>& add) {
  // One pass over the listing: the items of this reply first (at most
  // max_children children), then their inodes in one batch (GetInodes: a
  // scan per run of neighbouring inode numbers, not a point read each),
  // then the replies. No child is searched for in the directory again.
  std::vector<DirItem> items;
  items.reserve(std::min<size_t>(max_children, 1024) + kFirstEntryPosition);
  size_t children = 0;
  REVFS_RETURN_IF_ERROR(ReadDir(dir, offset, [&](const DirItem& item) {
    const bool dot = offset + items.size() < kFirstEntryPosition;
    if (!dot && children == max_children) return false;
    items.push_back(item);
    if (!dot) ++children;
    return true;
  }));
  // A stored file is listed by its name alone unless file_entries_ says
  // stat walks are under way (fusefs/src/file_entries.h); a subdirectory
  // always gets its entry.
  const bool give_files = file_entries_->Give(FileEntries::Now());
  auto wants_entry = [&](size_t i) {
    const DirItem& item = items[i];
    return offset + i >= kFirstEntryPosition && item.node_hint != 0 && item.hint_rev == 0 &&
           (give_files || S_ISDIR(item.type));
  };
  std::vector<uint64_t> inos;  // the stored children's with entries, in item order
  std::unique_ptr<ReadTrx> trx;
  uint64_t rev = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (wants_entry(i)) inos.push_back(items[i].node_hint);
  }
  std::vector<Result<Inode>> inodes;
  if (!inos.empty()) {
    REVFS_ASSIGN_OR_RETURN(Node node, nodes_->Get(dir));
    rev = node.rev;
    REVFS_ASSIGN_OR_RETURN(trx, db_->BeginRead(rev));
    inodes = GetInodes(*trx, inos);
  }

  std::vector<uint64_t> counted;
  counted.reserve(items.size());  // so recording a lookup never throws
  struct GiveBack {
    RevFs* fs;
    std::vector<uint64_t>* nodes;
    bool kept = false;
    ~GiveBack() {
      if (kept) return;
      for (uint64_t node : *nodes) fs->Forget(node, 1);
    }
  } give_back{this, &counted};
  size_t next_inode = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const DirItem& item = items[i];
    const uint64_t position = offset + i;
    if (position < kFirstEntryPosition) {
      if (!add(item, nullptr)) break;
      continue;
    }
    std::optional<Result<EntryReply>> entry;
    if (item.hint_rev != 0) {
      // A version in history/: listed without its entry. Its attributes are
      // in its own revision (a trie descent each, cold: reads that grow
      // with the history's size); a listing of names needs none, and a
      // lookup (stat, ls -l) reads them.
    } else if (item.node_hint == 0) {
      entry = LookupListed(dir, item);  // a fixed directory's child
    } else if (!wants_entry(i)) {
      ++names_only_;  // a file listed by its name: a stat looks it up
    } else if (const Result<Inode>& inode = inodes[next_inode++]; inode.ok()) {
      entry = EntryOfInode(dir, rev, item.node_hint, *inode);
    }
    const bool looked_up = entry && entry->ok() && (*entry)->node != 0;
    if (looked_up) counted.push_back((*entry)->node);
    if (add(item, looked_up ? &**entry : nullptr)) continue;
    if (looked_up) {  // not taken: the lookup does not count
      counted.pop_back();
      Forget((*entry)->node, 1);
    }
    // The next reply resumes here: remember the name before it, so that it
    // is not counted from the start.
    if (i > 0 && position > kFirstEntryPosition) {
      const DirItem& before = items[i - 1];
      cursors_->Remember(dir, position, before.cursor.empty() ? before.name : before.cursor);
    }
    break;
  }
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

}  // namespace revfs::fusefs
