// RevFs: reading files and what else is read of a node — open and release,
// the one read entry point (by open handle or by node), readlink,
// SEEK_DATA/SEEK_HOLE and extended attributes. Reads pin the chunks they
// need and hand out pieces of the pinned pages; the prefetcher is told of
// each read.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "damage_log.h"
#include "node_table.h"
#include "prefetcher.h"
#include "revfs/fusefs/fusefs.h"
#include "xattr_cache.h"

namespace revfs::fusefs {

using Kind = Node::Kind;

// What Open hands the kernel in fi->fh.
struct RevFs::FileHandle {
  uint64_t node = 0;  // the file's node (0 for the stats file)
  // What is read: an entry with its inode and its sequential reader's
  // progress (this handle's own), or a stats copy taken at open.
  Node file;
  std::atomic<bool> read{false};  // its first read was told to the prefetcher
};

Result<uint64_t> RevFs::Open(uint64_t id, bool* keep_cache, bool* direct_io) {
  REVFS_ASSIGN_OR_RETURN(Node node, nodes_->Get(id));
  auto handle = std::make_unique<FileHandle>();
  if (node.kind == Kind::kStats) {
    handle->file.kind = Kind::kStatsCopy;
    handle->file.stats = std::make_shared<const std::string>(StatsJson() + "\n");
    *keep_cache = false;
    *direct_io = true;
  } else if (node.kind == Kind::kEntry) {
    REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(node.rev));
    REVFS_ASSIGN_OR_RETURN(Inode inode, GetInode(*trx, node.ino));
    if (inode.type != FileType::kRegular) return Status::InvalidArgument("not a file");
    handle->file.kind = Kind::kEntry;
    handle->file.rev = node.rev;
    handle->file.ino = node.ino;
    handle->file.file = std::make_shared<const Inode>(std::move(inode));
    handle->file.ahead = std::make_shared<ReadAhead>();
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

void RevFs::Release(uint64_t fh) {
  std::unique_ptr<FileHandle> handle(reinterpret_cast<FileHandle*>(fh));
  handles_open_.fetch_sub(1, std::memory_order_relaxed);
}

Status RevFs::Read(uint64_t id, uint64_t fh, uint64_t offset, size_t size,
                   std::vector<PinnedView>* pins, std::vector<std::string_view>* pieces) {
  // The file: the open handle's, or node `id`'s (a copy: the node may be
  // forgotten meanwhile; what it points to stays alive through the copy).
  auto* handle = reinterpret_cast<FileHandle*>(fh);
  Node node;
  if (handle != nullptr) {
    node = handle->file;
  } else {
    REVFS_ASSIGN_OR_RETURN(node, nodes_->Get(id));
  }
  if (node.kind == Kind::kStatsCopy) {
    // The copy lives as long as its handle or node; the reply copies it out
    // before the kernel can release the one or forget the other.
    if (node.stats && offset < node.stats->size()) {
      pieces->push_back(std::string_view(*node.stats).substr(offset, size));
    }
    return Status::OK();
  }
  if (node.kind != Kind::kEntry) return Status::InvalidArgument("not a file");
  REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(node.rev));
  bool first = false;  // this read is the file's first: the prefetcher is told
  if (!node.file) {
    // A node's first read: its inode is read once and shared, with the
    // sequential reader's progress, by all readers of the node.
    REVFS_ASSIGN_OR_RETURN(Inode loaded, GetInode(*trx, node.ino));
    if (loaded.type != FileType::kRegular) return Status::InvalidArgument("not a file");
    node.file = std::make_shared<const Inode>(std::move(loaded));
    node.ahead = std::make_shared<ReadAhead>();
    first = nodes_->ShareFileState(id, &node.file, &node.ahead);
  }
  const Inode& inode = *node.file;
  Status s = ReadFilePinned(*db_, *trx, inode, offset, size, pins, pieces);
  if (!s.ok()) {
    // Logged once per file; the reader gets EIO, the rest of the mount goes
    // on. A handle names the file by its size and identity, a node by its
    // stored inode number.
    damage_log_->Once(node.rev, inode.identity.Word(1), [&] {
      if (auto log = spdlog::get("revfs")) {
        if (handle != nullptr) {
          log->error("revision {}: file of {} bytes (identity {}): {}", node.rev, inode.size,
                     inode.identity.ToHex(), s.message());
        } else {
          log->error("revision {}: inode {}: {}", node.rev, node.ino, s.message());
        }
      }
    });
    return s;
  }
  prefetcher_->AfterRead(inode, *node.ahead, *trx, offset,
                         std::min<uint64_t>(offset + size, inode.size));
  if (handle != nullptr) {
    id = handle->node;
    first = !handle->read.exchange(true);
  }
  if (first) prefetcher_->FirstRead(id);
  return Status::OK();
}

Result<std::string> RevFs::ReadLink(uint64_t id) {
  REVFS_ASSIGN_OR_RETURN(Node node, nodes_->Get(id));
  if (node.kind == Kind::kLatest) return "revisions/" + std::to_string(Latest());
  if (node.kind == Kind::kAtLink) return "../revisions/" + std::to_string(node.rev);
  if (node.kind == Kind::kHistoryLink) return HistoryLinkTarget(node);
  if (node.kind != Kind::kEntry) return Status::InvalidArgument("not a symlink");
  REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(node.rev));
  REVFS_ASSIGN_OR_RETURN(Inode inode, GetInode(*trx, node.ino));
  if (inode.type != FileType::kSymlink) return Status::InvalidArgument("not a symlink");
  return inode.symlink;
}

Result<int64_t> RevFs::SeekDataOrHole(uint64_t id, uint64_t offset, int whence) {
  if (whence != SEEK_DATA && whence != SEEK_HOLE) return Status::InvalidArgument("whence");
  REVFS_ASSIGN_OR_RETURN(Node node, nodes_->Get(id));
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

Result<std::shared_ptr<const XattrList>> RevFs::Xattrs(uint64_t id) {
  static const auto kNone = std::make_shared<const XattrList>();
  REVFS_ASSIGN_OR_RETURN(Node node, nodes_->Get(id));
  if (node.no_xattrs) return kNone;  // known from the inode its entry was made of
  if (node.kind != Kind::kEntry && node.kind != Kind::kRevRoot) return kNone;
  if (node.kind == Kind::kRevRoot && node.rev == 0) return kNone;
  REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(node.rev));
  REVFS_ASSIGN_OR_RETURN(Inode inode, InodeOf(node, *trx));
  if (!inode.xattr_blob) return std::make_shared<const XattrList>(std::move(inode.xattrs));
  const XattrBlob& blob = *inode.xattr_blob;
  if (auto cached = xattr_cache_->Get(blob.size, blob.hash)) return cached;
  // Its chunks come through the chunk cache.
  REVFS_ASSIGN_OR_RETURN(XattrList list, LoadXattrs(*db_, *trx, inode));
  auto shared = std::make_shared<const XattrList>(std::move(list));
  xattr_cache_->Put(blob.size, blob.hash, shared);
  return shared;
}

void RevFs::SetKernelCacheFill(KernelCacheFill fill) {
  prefetcher_->SetKernelCacheFill(std::move(fill));
}

void RevFs::StopKernelCacheFill() { prefetcher_->StopKernelCacheFill(); }

}  // namespace revfs::fusefs
