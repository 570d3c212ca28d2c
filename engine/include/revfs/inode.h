// The tree model on records: how a directory tree is stored in the
// versioned record space.
//
// Record keys, by their top four bits:
//   0  store metadata (key 0: id counters; key 1: the exclusion patterns
//      the revision was captured with, if any: count u32, then per
//      pattern length u32 | bytes; readers that do not know key 1 ignore it)
//   1  inodes                        1 << 60 | inode number
//   2  sorted-map blocks             2 << 60 | block id  (directories, big files)
//   3  chunk index                   3 << 60 | manifest and runs (engine/FORMAT.md)
//   4  recent-chunk log              4 << 60 | record number (< 1024)
//   5  history: path records         5 << 60 | path id     (revfs/history.h)
//   6  history: version entries      6 << 60 | entry >> 4 << 42 | path id << 8 | entry & 15
//   7  history: names-map blocks     7 << 60 | block id
//
// An inode record holds what stat(2) shows (type, mode, owner, size, times
// with nanoseconds, nlink, rdev), the symlink target, the extended
// attributes (inline while the record fits, else a reference to a blob
// stored as chunks: XattrBlob), and the content: for a directory the sorted map of its
// entries (name -> DirEntry); for a regular file its chunk list, inline when
// short and a sorted map (keyed by big-endian file offset) when long. Each
// inode also carries its content identity: a hash of its metadata and content
// (chunk hashes for files, the entry map's Merkle root for directories), so
// identical files and subtrees are recognised without reading them.
//
// Thread safety: value types and pure functions.
#ifndef REVFS_INODE_H_
#define REVFS_INODE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "revfs/hash.h"
#include "revfs/result.h"
#include "revfs/store.h"

namespace revfs {

class Decoder;  // engine/src/util/coding.h

inline constexpr uint64_t kMetaKey = 0;
inline constexpr uint64_t kExcludeKey = 1;
inline constexpr uint64_t kInodeBase = uint64_t{1} << 60;
inline constexpr uint64_t kMapBlockBase = uint64_t{2} << 60;
inline constexpr uint64_t kChunkIndexBase = uint64_t{3} << 60;
inline constexpr uint64_t kChunkLogBase = uint64_t{4} << 60;
inline constexpr uint64_t kHistoryKey = 2;  // the history header, in kind 0
inline constexpr uint64_t kPathBase = uint64_t{5} << 60;
inline constexpr uint64_t kVersionBase = uint64_t{6} << 60;
inline constexpr uint64_t kNamesBlockBase = uint64_t{7} << 60;
inline constexpr uint64_t kRootIno = 1;

enum class FileType : uint8_t {
  kRegular = 1,
  kDirectory = 2,
  kSymlink = 3,
  kFifo = 4,
  kCharDevice = 5,
  kBlockDevice = 6,
  kSocket = 7,
};
const char* FileTypeName(FileType t);
// Returns the type of a st_mode, or nullopt for an unknown one.
std::optional<FileType> FileTypeOf(uint32_t st_mode);

// The root of a sorted map (engine/src/tree/sorted_map.h): a directory's
// entries or a long file's chunk list.
struct MapRoot {
  uint64_t block = 0;  // the top block; 0: the empty map
  uint8_t level = 0;
  Digest256 hash;       // Merkle hash of the whole map
  uint64_t count = 0;  // entries
  bool empty() const { return block == 0; }
  bool operator==(const MapRoot&) const = default;
};

// One stored chunk of file content, or a hole.
struct ChunkRef {
  uint64_t offset = 0;  // in the file
  uint32_t length = 0;
  bool hole = false;    // a run of zeros not stored
  Digest256 hash;         // of the raw bytes
  PageRef page;         // the chunk page (not for holes)
  uint8_t depth = 0;    // delta chain length below this chunk (0: whole)
};
void EncodeChunkRef(std::string* dst, const ChunkRef& c);  // all but `offset`
// Decodes the one entry `in` holds: format 2's (42 bytes, a short digest)
// is told by its length.
ChunkRef DecodeChunkRef(Decoder* in, uint64_t offset);

// Checks the place of chunk `c` in a file of `file_size` bytes whose previous
// chunk ends at `prev_end` (0 before the first): chunks come in offset order,
// do not overlap, are not empty and lie inside the file. Gaps between chunks
// and after the last are holes too (they read as zeros). Corruption
// otherwise: a checksum only proves the bytes are the ones written, and the
// read path slices chunks by these numbers.
Status CheckChunkGeometry(const ChunkRef& c, uint64_t prev_end, uint64_t file_size);

// Extended attributes too large for their inode record: the list
// (EncodeXattrList) stored as chunks like file content, read on demand
// (LoadXattrs, revfs/tree.h). `size` bytes, cut into `chunks` (offsets in
// the blob) or, past kInlineChunks, a sorted map like a long file's.
struct XattrBlob {
  uint64_t size = 0;
  uint64_t count = 0;  // attributes in the list
  Digest256 hash;      // HashBytes (SHA-256) of the list's bytes
  MapRoot map;
  std::vector<ChunkRef> chunks;
};

// Limits of Linux (XATTR_NAME_MAX, XATTR_SIZE_MAX).
inline constexpr size_t kMaxXattrName = 255;
inline constexpr size_t kMaxXattrValue = 65536;
using XattrList = std::vector<std::pair<std::string, std::string>>;  // sorted by name

// The encoding of an attribute list, inline in a record or as a blob:
// count varint | count x { name length varint | name | value length varint |
// value }.
void EncodeXattrList(std::string* dst, const XattrList& xattrs);
// Decodes a whole blob; Corruption if malformed, unsorted or past the limits.
Result<XattrList> DecodeXattrList(std::string_view bytes);

struct Inode {
  FileType type = FileType::kRegular;
  uint32_t mode = 0;  // full st_mode
  uint32_t uid = 0, gid = 0;
  uint32_t nlink = 1;
  uint64_t rdev = 0;
  uint64_t size = 0;
  int64_t atime_ns = 0, mtime_ns = 0, ctime_ns = 0;
  uint64_t src_dev = 0, src_ino = 0;  // the source file, for change detection
  Digest256 identity;
  std::string symlink;
  // Sorted by name. Empty when the attributes are in `xattr_blob` (a
  // decoded record does not load them).
  XattrList xattrs;
  std::optional<XattrBlob> xattr_blob;
  // Content: directories and long files use `map`; short files `chunks`.
  MapRoot map;
  std::vector<ChunkRef> chunks;
};

// Inline chunk lists up to this many entries; longer ones go in a sorted map.
inline constexpr size_t kInlineChunks = 16;

std::string EncodeInode(const Inode& inode);
// Decodes an inode record; Corruption if malformed, including an inline chunk
// list that fails CheckChunkGeometry.
Result<Inode> DecodeInode(std::string_view bytes);

// Returns why `value`, the record under `key`, is malformed as an inode
// record or a record of the history index (its header, a path, a version
// entry), or "" when it is none of those or decodes (a check for
// Database::Verify, which knows records only as bytes).
std::string CheckTreeRecord(uint64_t key, std::string_view value);

// A directory entry's value (its key is the name).
struct DirEntry {
  uint64_t ino = 0;
  FileType type = FileType::kRegular;
  Digest256 identity;
};
std::string EncodeDirEntry(const DirEntry& e);
// Decodes an entry of format 3 (41 bytes) or format 2 (25: a short
// identity).
Result<DirEntry> DecodeDirEntry(std::string_view bytes);

// Big-endian offsets sort as bytes in numeric order (chunk-list map keys).
std::string OffsetKey(uint64_t offset);
uint64_t OffsetFromKey(std::string_view key);

// Store-wide counters, under kMetaKey.
struct TreeMeta {
  uint64_t next_ino = kRootIno + 1;
  uint64_t next_block = 1;
};
std::string EncodeTreeMeta(const TreeMeta& m);
// Inode numbers are handed out kInodesPerLeaf to a record leaf: the first
// kInodesPerLeaf of each leaf's 1,024 slots, then the next leaf's. A
// revision that changes a few inodes in many places (100 edits over a
// 200,000-file tree) writes each touched leaf's share of the sliding
// window's carry, so fewer inodes a leaf mean proportionally fewer bytes;
// the numbers of one directory's entries stay neighbours. Stores whose
// inodes were numbered densely read the same: the numbers are keys.
inline constexpr uint64_t kInodesPerLeaf = 64;
// Returns m->next_ino, moved to a leaf's first slot when its own leaf is
// full, and advances it.
uint64_t TakeInodeNumber(TreeMeta* m);
// Sorted-map block ids (directory entries, long chunk lists) are handed out
// kBlocksPerLeaf to a record leaf, for the same reason: a changed block is
// written under a new id and its old one deleted, so a revision touches the
// leaf of every block it replaces, and a leaf of 1,024 blocks (600 KB of
// directory entries) carried about 75 KB a revision for one tombstone. 64,
// not fewer: a cold walk of the tree (find) reads every map leaf, and 16 to
// a leaf made it 30 % slower.
inline constexpr uint64_t kBlocksPerLeaf = 64;
// Returns m->next_block, moved to a leaf's first slot when its own leaf is
// full, and advances it.
uint64_t TakeBlockId(TreeMeta* m);
Result<TreeMeta> DecodeTreeMeta(std::string_view bytes);

// Computes the identity of `inode` from its metadata and content.
Digest256 ComputeIdentity(const Inode& inode, const Digest256& content);

}  // namespace revfs

#endif  // REVFS_INODE_H_
