#include "revfs/inode.h"

#include <sys/stat.h>

#include <cstring>

#include "records/record_page.h"
#include "store/page.h"
#include "tree/history_records.h"
#include "tree/sorted_map.h"
#include "util/coding.h"
#include "util/hash.h"

namespace revfs {
namespace {
// 3: format 3 (engine/FORMAT.md): 32-byte SHA-256 identities, attributes
// inline or a blob. 2: the compact encoding of store format 2 (16-byte
// identities, a plain attribute count), still read.
constexpr uint8_t kInodeFormat = 3;

void PutCompactChunk(std::string* dst, const ChunkRef& c) {
  PutVarint64(dst, c.offset);
  PutVarint64(dst, c.length);
  dst->push_back(c.hole ? 1 : 0);
  if (!c.hole) {
    PutHash(dst, c.hash);
    EncodeCompactPageRef(dst, c.page);
    dst->push_back(static_cast<char>(c.depth));
  }
}

// A digest of a record of `format`: 32 bytes, or the 16 of format byte 2,
// read as a short digest (Digest256::IsShort).
Digest256 GetDigest(Decoder* in, uint8_t format) {
  return GetHash(in, format == 2 ? kShortDigestSize : kDigestSize);
}

ChunkRef GetCompactChunk(Decoder* in, uint8_t format) {
  ChunkRef c;
  c.offset = in->Varint64();
  c.length = in->Varint32();
  c.hole = in->U8() != 0;
  if (!c.hole) {
    c.hash = GetDigest(in, format);
    c.page = DecodeCompactPageRef(in);
    c.depth = in->U8();
  }
  return c;
}

void PutCompactMapRoot(std::string* dst, const MapRoot& m) {
  PutVarint64(dst, m.block);
  if (m.block == 0) return;  // the empty map
  dst->push_back(static_cast<char>(m.level));
  PutHash(dst, m.hash);
  PutVarint64(dst, m.count);
}

MapRoot GetCompactMapRoot(Decoder* in, uint8_t format) {
  MapRoot m;
  m.block = in->Varint64();
  if (m.block == 0) return m;
  m.level = in->U8();
  m.hash = GetDigest(in, format);
  m.count = in->Varint64();
  return m;
}

void PutXattrPairs(std::string* dst, const XattrList& xattrs) {
  for (const auto& [name, value] : xattrs) {
    PutVarint64(dst, name.size());
    *dst += name;
    PutVarint64(dst, value.size());
    *dst += value;
  }
}

// Reads `count` pairs, values up to `max_value` bytes; checks the order
// (strictly ascending names) only when `sorted`.
Status GetXattrPairs(Decoder* in, uint64_t count, size_t max_value, bool sorted,
                     XattrList* out) {
  if (count > in->remaining() / 2) return Status::Corruption("extended attributes: malformed");
  for (uint64_t i = 0; i < count && in->ok(); ++i) {
    std::string name(in->VarBytes(kMaxXattrName));
    std::string value(in->VarBytes(max_value));
    if (sorted && !out->empty() && out->back().first >= name) {
      return Status::Corruption("extended attributes: names out of order");
    }
    out->emplace_back(std::move(name), std::move(value));
  }
  if (!in->ok()) return Status::Corruption("extended attributes: malformed");
  return Status::OK();
}

// The attribute section of a format-3 record: x = count << 1 | blob, then
// the pairs (inline) or the blob's reference.
void PutXattrSection(std::string* dst, const Inode& n) {
  if (!n.xattr_blob) {
    PutVarint64(dst, n.xattrs.size() << 1);
    PutXattrPairs(dst, n.xattrs);
    return;
  }
  const XattrBlob& b = *n.xattr_blob;
  PutVarint64(dst, b.count << 1 | 1);
  PutVarint64(dst, b.size);
  PutHash(dst, b.hash);
  PutCompactMapRoot(dst, b.map);
  PutVarint64(dst, b.chunks.size());
  for (const ChunkRef& c : b.chunks) PutCompactChunk(dst, c);
}

Status GetXattrSection(Decoder* in, uint8_t format, Inode* n) {
  const uint64_t x = in->Varint64();
  if (format == 2) return GetXattrPairs(in, x, kMaxRecordValue, false, &n->xattrs);
  if ((x & 1) == 0) return GetXattrPairs(in, x >> 1, kMaxRecordValue, false, &n->xattrs);
  XattrBlob b;
  b.count = x >> 1;
  b.size = in->Varint64();
  b.hash = GetHash(in);
  b.map = GetCompactMapRoot(in, format);
  const uint64_t nc = in->Varint64();
  if (nc > kInlineChunks) return Status::Corruption("extended attributes: too many chunks");
  for (uint64_t i = 0; i < nc && in->ok(); ++i) b.chunks.push_back(GetCompactChunk(in, format));
  if (!in->ok()) return Status::Corruption("extended attributes: malformed");
  if (b.count == 0 || b.size == 0 || b.count > b.size / 2 ||
      b.map.empty() == b.chunks.empty()) {
    return Status::Corruption("extended attributes: malformed blob reference");
  }
  uint64_t prev_end = 0;
  for (const ChunkRef& c : b.chunks) {
    if (c.hole) return Status::Corruption("extended attributes: a hole in the blob");
    Status s = CheckChunkGeometry(c, prev_end, b.size);
    if (!s.ok()) return s.WithContext("extended attributes");
    prev_end = c.offset + c.length;
  }
  n->xattr_blob = std::move(b);
  return Status::OK();
}
}  // namespace

void EncodeXattrList(std::string* dst, const XattrList& xattrs) {
  PutVarint64(dst, xattrs.size());
  PutXattrPairs(dst, xattrs);
}

Result<XattrList> DecodeXattrList(std::string_view bytes) {
  Decoder in(bytes);
  XattrList out;
  REVFS_RETURN_IF_ERROR(GetXattrPairs(&in, in.Varint64(), kMaxXattrValue, true, &out));
  if (in.remaining() != 0) return Status::Corruption("extended attributes: malformed");
  return out;
}

const char* FileTypeName(FileType t) {
  switch (t) {
    case FileType::kRegular: return "file";
    case FileType::kDirectory: return "dir";
    case FileType::kSymlink: return "symlink";
    case FileType::kFifo: return "fifo";
    case FileType::kCharDevice: return "chardev";
    case FileType::kBlockDevice: return "blockdev";
    case FileType::kSocket: return "socket";
  }
  return "unknown";
}

std::optional<FileType> FileTypeOf(uint32_t m) {
  if (S_ISREG(m)) return FileType::kRegular;
  if (S_ISDIR(m)) return FileType::kDirectory;
  if (S_ISLNK(m)) return FileType::kSymlink;
  if (S_ISFIFO(m)) return FileType::kFifo;
  if (S_ISCHR(m)) return FileType::kCharDevice;
  if (S_ISBLK(m)) return FileType::kBlockDevice;
  if (S_ISSOCK(m)) return FileType::kSocket;
  return std::nullopt;
}

void EncodeChunkRef(std::string* dst, const ChunkRef& c) {
  PutFixed32(dst, c.length);
  dst->push_back(c.hole ? 1 : 0);
  if (!c.hole) {
    PutHash(dst, c.hash);
    EncodePageRef(dst, c.page);
    dst->push_back(static_cast<char>(c.depth));
  }
}

ChunkRef DecodeChunkRef(Decoder* in, uint64_t offset) {
  // Format 2's entry (a 16-byte digest) is told by its length.
  constexpr size_t kShortEntry = 4 + 1 + kShortDigestSize + kEncodedPageRefSize + 1;
  const size_t digest_size = in->remaining() == kShortEntry ? kShortDigestSize : kDigestSize;
  ChunkRef c;
  c.offset = offset;
  c.length = in->U32();
  c.hole = in->U8() != 0;
  if (!c.hole) {
    c.hash = GetHash(in, digest_size);
    c.page = DecodePageRef(in);
    c.depth = in->U8();
  }
  return c;
}

Status CheckChunkGeometry(const ChunkRef& c, uint64_t prev_end, uint64_t file_size) {
  auto bad = [&](const std::string& why) {
    return Status::Corruption("chunk list: chunk at offset " + std::to_string(c.offset) +
                              " (" + std::to_string(c.length) + " bytes) " + why);
  };
  if (c.length == 0) return bad("is empty");
  if (c.offset < prev_end) {
    return bad("overlaps the previous chunk, which ends at " + std::to_string(prev_end));
  }
  if (c.offset > file_size || c.length > file_size - c.offset) {
    return bad("ends past the file's size " + std::to_string(file_size));
  }
  return Status::OK();
}

std::string EncodeInode(const Inode& n) {
  std::string s;
  s.push_back(static_cast<char>(kInodeFormat));
  s.push_back(static_cast<char>(n.type));
  PutVarint64(&s, n.mode);
  PutVarint64(&s, n.uid);
  PutVarint64(&s, n.gid);
  PutVarint64(&s, n.nlink);
  PutVarint64(&s, n.rdev);
  PutVarint64(&s, n.size);
  PutVarint64(&s, ZigZag(n.mtime_ns));
  PutVarint64(&s, ZigZag(static_cast<int64_t>(static_cast<uint64_t>(n.atime_ns) -
                                              static_cast<uint64_t>(n.mtime_ns))));
  PutVarint64(&s, ZigZag(static_cast<int64_t>(static_cast<uint64_t>(n.ctime_ns) -
                                              static_cast<uint64_t>(n.mtime_ns))));
  PutVarint64(&s, n.src_dev);
  PutVarint64(&s, n.src_ino);
  PutHash(&s, n.identity);
  PutVarint64(&s, n.symlink.size());
  s += n.symlink;
  PutXattrSection(&s, n);
  PutCompactMapRoot(&s, n.map);
  PutVarint64(&s, n.chunks.size());
  for (const ChunkRef& c : n.chunks) PutCompactChunk(&s, c);
  return s;
}

Result<Inode> DecodeInode(std::string_view bytes) {
  Decoder in(bytes);
  Inode n;
  const uint8_t format = in.U8();
  if (format != 2 && format != kInodeFormat) return Status::Corruption("inode: unknown format");
  uint8_t type = in.U8();
  if (type < 1 || type > 7) return Status::Corruption("inode: unknown type");
  n.type = static_cast<FileType>(type);
  n.mode = in.Varint32();
  n.uid = in.Varint32();
  n.gid = in.Varint32();
  n.nlink = in.Varint32();
  n.rdev = in.Varint64();
  n.size = in.Varint64();
  n.mtime_ns = UnZigZag(in.Varint64());
  n.atime_ns = static_cast<int64_t>(static_cast<uint64_t>(n.mtime_ns) +
                                    static_cast<uint64_t>(UnZigZag(in.Varint64())));
  n.ctime_ns = static_cast<int64_t>(static_cast<uint64_t>(n.mtime_ns) +
                                    static_cast<uint64_t>(UnZigZag(in.Varint64())));
  n.src_dev = in.Varint64();
  n.src_ino = in.Varint64();
  n.identity = GetDigest(&in, format);
  auto bytes_of = [&](size_t max) { return std::string(in.VarBytes(max)); };
  n.symlink = bytes_of(4096);
  if (Status s = GetXattrSection(&in, format, &n); !s.ok()) return s.WithContext("inode");
  n.map = GetCompactMapRoot(&in, format);
  const uint64_t nc = in.Varint64();
  if (nc > kInlineChunks) return Status::Corruption("inode: too many inline chunks");
  for (uint64_t i = 0; i < nc && in.ok(); ++i) n.chunks.push_back(GetCompactChunk(&in, format));
  if (!in.ok() || in.remaining() != 0) return Status::Corruption("inode: malformed");
  uint64_t prev_end = 0;
  for (const ChunkRef& c : n.chunks) {
    Status s = CheckChunkGeometry(c, prev_end, n.size);
    if (!s.ok()) return s.WithContext("inode");
    prev_end = c.offset + c.length;
  }
  return n;
}

std::string CheckTreeRecord(uint64_t key, std::string_view value) {
  Status s;
  std::string what;
  const uint64_t low = key & (kInodeBase - 1);
  if (key >> 60 == kInodeBase >> 60) {
    s = DecodeInode(value).status();
    what = "inode " + std::to_string(low);
  } else if (key == (kMetaKey | kHistoryKey)) {
    s = history::DecodeHeader(value).status();
    what = "history header";
  } else if (key >> 60 == kPathBase >> 60) {
    s = history::DecodePath(value).status();
    what = "history path " + std::to_string(low);
  } else if (key >> 60 == kVersionBase >> 60) {
    s = history::DecodeVersion(value).status();
    what = "history path " + std::to_string(history::VersionKeyPath(key)) + " entry " +
           std::to_string(history::VersionKeyEntry(key));
  }
  if (s.ok()) return "";
  return what + ": " + std::string(s.message());
}

std::string EncodeDirEntry(const DirEntry& e) {
  std::string s;
  PutFixed64(&s, e.ino);
  s.push_back(static_cast<char>(e.type));
  PutHash(&s, e.identity);
  return s;
}

Result<DirEntry> DecodeDirEntry(std::string_view bytes) {
  Decoder in(bytes);
  DirEntry e;
  e.ino = in.U64();
  uint8_t type = in.U8();
  // Format 2's entry (a 16-byte identity) is told by its length.
  e.identity = GetHash(&in, bytes.size() == 9 + kShortDigestSize ? kShortDigestSize : kDigestSize);
  if (!in.ok() || in.remaining() != 0 || type < 1 || type > 7) {
    return Status::Corruption("directory entry: malformed");
  }
  e.type = static_cast<FileType>(type);
  return e;
}

std::string OffsetKey(uint64_t offset) {
  std::string k(8, '\0');
  for (int i = 0; i < 8; ++i) k[i] = static_cast<char>(offset >> (56 - 8 * i));
  return k;
}

uint64_t OffsetFromKey(std::string_view key) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < key.size(); ++i) v = (v << 8) | static_cast<uint8_t>(key[i]);
  return v;
}

namespace {

// Returns *next, moved to a leaf's first slot when `per_leaf` of its own
// leaf's slots are taken, and advances it.
uint64_t TakeSpread(uint64_t* next, uint64_t per_leaf) {
  if (SlotOf(*next) >= per_leaf) *next = (LeafOf(*next) + 1) << kLeafBits;
  return (*next)++;
}

}  // namespace

uint64_t TakeInodeNumber(TreeMeta* m) {
  static_assert(kInodesPerLeaf <= kLeafSlots && kLeafSlots % kInodesPerLeaf == 0);
  return TakeSpread(&m->next_ino, kInodesPerLeaf);
}

uint64_t TakeBlockId(TreeMeta* m) {
  static_assert(kBlocksPerLeaf <= kLeafSlots && kLeafSlots % kBlocksPerLeaf == 0);
  return TakeSpread(&m->next_block, kBlocksPerLeaf);
}

std::string EncodeTreeMeta(const TreeMeta& m) {
  std::string s;
  PutFixed64(&s, m.next_ino);
  PutFixed64(&s, m.next_block);
  return s;
}

Result<TreeMeta> DecodeTreeMeta(std::string_view bytes) {
  Decoder in(bytes);
  TreeMeta m;
  m.next_ino = in.U64();
  m.next_block = in.U64();
  if (!in.ok()) return Status::Corruption("tree metadata: malformed");
  return m;
}

Digest256 ComputeIdentity(const Inode& n, const Digest256& content) {
  Hasher h;
  h.UpdateU64(static_cast<uint64_t>(n.type));
  h.UpdateU64(n.mode);
  h.UpdateU64(n.uid);
  h.UpdateU64(n.gid);
  h.UpdateU64(n.rdev);
  h.UpdateU64(n.size);
  h.UpdateU64(static_cast<uint64_t>(n.mtime_ns));
  h.Update(n.symlink);
  for (const auto& [name, value] : n.xattrs) {
    h.UpdateU64(name.size());
    h.Update(name);
    h.UpdateU64(value.size());
    h.Update(value);
  }
  h.Update(content);
  return h.Digest();
}

}  // namespace revfs
