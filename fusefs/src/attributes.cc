// st_ino formulas and struct stat from stored inodes.
#include "attributes.h"

#include "revfs/time_util.h"

namespace revfs::fusefs {
namespace {

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
constexpr uint64_t kRevRootTag = 0x5265764672526f6full, kAtLinkTag = 0x52657646416c6e6bull,
                   kHistoryDirTag = 0x5265764648446972ull, kHistoryLinkTag = 0x526576464c6e6b43ull;

// What stat reports as the preferred I/O size: the page size the kernel
// reads in.
constexpr blksize_t kIoBlockSize = 4096;
// st_blocks counts 512-byte units (POSIX), whatever the block size.
constexpr uint64_t kStatBlockUnit = 512;

}  // namespace

ino_t StInoOf(uint64_t rev, uint64_t ino, FileType type, const Digest256& identity,
              bool unique_ino) {
  if (unique_ino || type == FileType::kDirectory) return Mix(Mix(rev) ^ ino) | kHashedIno;
  return Mix(identity.Word(1) ^ Mix(identity.Word(0) ^ Mix(ino))) | kHashedIno;
}

ino_t RevRootStIno(uint64_t rev) { return Mix(Mix(rev) ^ kRevRootTag) | kHashedIno; }
ino_t AtLinkStIno(uint64_t rev) { return Mix(Mix(rev) ^ kAtLinkTag) | kHashedIno; }
ino_t HistoryDirStIno(uint64_t path) { return Mix(Mix(path) ^ kHistoryDirTag) | kHashedIno; }
ino_t HistoryLinkStIno(uint64_t path) { return Mix(Mix(path) ^ kHistoryLinkTag) | kHashedIno; }

ino_t DirStIno(const Node& node, uint64_t id) {
  switch (node.kind) {
    case Node::Kind::kRevRoot: return RevRootStIno(node.rev);
    case Node::Kind::kEntry: return StInoOf(node.rev, node.ino, FileType::kDirectory, {}, false);
    case Node::Kind::kHistoryDir: return HistoryDirStIno(node.ino);
    default: return id;  // the fixed directories
  }
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

void FillTimes(struct stat* st, int64_t ns) {
  st->st_mtim = st->st_atim = st->st_ctim = TimespecFromNanos(ns);
}

void FillFromInode(const Inode& n, struct stat* st) {
  st->st_mode = n.mode;
  st->st_nlink = n.nlink;
  st->st_uid = n.uid;
  st->st_gid = n.gid;
  st->st_rdev = n.rdev;
  st->st_size = static_cast<off_t>(n.type == FileType::kSymlink ? n.symlink.size() : n.size);
  st->st_blksize = kIoBlockSize;
  st->st_blocks = static_cast<blkcnt_t>((n.size + kStatBlockUnit - 1) / kStatBlockUnit);
  // Normalised: times before 1970 must still have tv_nsec in [0, 1e9).
  st->st_atim = TimespecFromNanos(n.atime_ns);
  st->st_mtim = TimespecFromNanos(n.mtime_ns);
  st->st_ctim = TimespecFromNanos(n.ctime_ns);
  if (n.type == FileType::kDirectory) st->st_size = kDirectorySize;
}

}  // namespace revfs::fusefs
