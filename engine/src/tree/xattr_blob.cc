#include "tree/xattr_blob.h"

#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "content/chunker.h"
#include "tree/file_chunks.h"
#include "tree/sorted_map.h"
#include "util/hash.h"

namespace revfs {

Result<XattrBlob> StoreXattrBlob(WriteTrx& trx, Database& db, const XattrList& xattrs,
                                 const MapRoot& old_map,
                                 const std::function<uint64_t()>& next_block,
                                 ContentStats* stats) {
  std::string bytes;
  EncodeXattrList(&bytes, xattrs);
  XattrBlob blob;
  blob.size = bytes.size();
  blob.count = xattrs.size();
  blob.hash = HashBytes(bytes);
  // Cut like file content, so that a blob that changes in one attribute
  // keeps its other chunks (and one of 64 KiB is one chunk).
  const Chunker chunker{ChunkerParams{}};
  std::vector<ChunkRef> chunks;
  for (size_t pos = 0; pos < bytes.size();) {
    const size_t n = chunker.FindCut(reinterpret_cast<const uint8_t*>(bytes.data() + pos),
                                     bytes.size() - pos);
    REVFS_ASSIGN_OR_RETURN(ChunkRef c,
                           StoreChunk(trx, db, std::string_view(bytes).substr(pos, n), pos, stats));
    chunks.push_back(c);
    pos += n;
  }
  if (chunks.size() <= kInlineChunks) {
    blob.chunks = std::move(chunks);
    return blob;
  }
  SortedMapWriter writer(&trx, kMapBlockBase, next_block, old_map);
  std::string value;
  for (const ChunkRef& c : chunks) {
    value.clear();
    EncodeChunkRef(&value, c);
    REVFS_RETURN_IF_ERROR(writer.Add(OffsetKey(c.offset), value));
  }
  REVFS_ASSIGN_OR_RETURN(blob.map, writer.Finish());
  return blob;
}

Result<XattrList> LoadXattrs(Database& rs, ReadTrx& trx, const Inode& inode) {
  if (!inode.xattr_blob) return inode.xattrs;
  const XattrBlob& blob = *inode.xattr_blob;
  if (blob.size > (uint64_t{1} << 32)) {
    return Status::Corruption("extended attributes: blob of " + std::to_string(blob.size) +
                              " bytes");
  }
  Inode content;  // the blob read as a file
  content.size = blob.size;
  content.chunks = blob.chunks;
  content.map = blob.map;
  std::string bytes;
  bytes.reserve(blob.size);
  REVFS_RETURN_IF_ERROR(ReadFile(rs, trx, content, 0, blob.size, [&](std::string_view piece) {
    bytes.append(piece);
    return Status::OK();
  }));
  if (bytes.size() != blob.size || HashBytes(bytes) != blob.hash) {
    return Status::Corruption("extended attributes: blob does not match its hash");
  }
  auto list = DecodeXattrList(bytes);
  if (!list.ok()) return list.status();
  if (list->size() != blob.count) {
    return Status::Corruption("extended attributes: blob holds " + std::to_string(list->size()) +
                              " attributes, not " + std::to_string(blob.count));
  }
  return list;
}

bool SameXattrs(const Inode& a, const Inode& b) {
  if (!a.xattr_blob && !b.xattr_blob) return a.xattrs == b.xattrs;
  auto digest = [](const Inode& n) {
    if (n.xattr_blob) return std::make_pair(n.xattr_blob->size, n.xattr_blob->hash);
    std::string bytes;
    EncodeXattrList(&bytes, n.xattrs);
    return std::make_pair(static_cast<uint64_t>(bytes.size()), HashBytes(bytes));
  };
  return digest(a) == digest(b);
}

namespace {

// ReadPathXattrs and ReadFdXattrs through `list` and `get` (l*xattr or
// f*xattr; -1 and errno on failure).
int ReadSourceXattrs(const std::function<ssize_t(char*, size_t)>& list,
                     const std::function<ssize_t(const char*, char*, size_t)>& get,
                     XattrList* out) {
  out->clear();
  // Sized by a query, read, and again if it grew in between.
  auto read = [](const std::function<ssize_t(char*, size_t)>& call, std::string* buf) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      ssize_t n = call(nullptr, 0);
      if (n < 0) return errno;
      buf->resize(static_cast<size_t>(n));
      if (n == 0) return 0;
      n = call(buf->data(), buf->size());
      if (n >= 0) {
        buf->resize(static_cast<size_t>(n));
        return 0;
      }
      if (errno != ERANGE) return errno;
    }
    return ERANGE;
  };
  std::string names;
  int err = read(list, &names);
  if (err == ENOTSUP || err == ENODATA) return 0;
  if (err != 0) return err;
  for (size_t pos = 0; pos < names.size();) {
    std::string name(names.c_str() + pos);
    pos += name.size() + 1;
    if (name.empty()) continue;
    std::string value;
    err = read([&](char* buf, size_t size) { return get(name.c_str(), buf, size); }, &value);
    if (err == ENODATA) continue;  // removed since listed
    if (err != 0) return err;
    out->emplace_back(std::move(name), std::move(value));
  }
  std::sort(out->begin(), out->end());
  return 0;
}

}  // namespace

int ReadPathXattrs(const std::string& path, XattrList* out) {
  const char* p = path.c_str();
  return ReadSourceXattrs([p](char* buf, size_t size) { return ::llistxattr(p, buf, size); },
                          [p](const char* name, char* buf, size_t size) {
                            return ::lgetxattr(p, name, buf, size);
                          },
                          out);
}

int ReadFdXattrs(int fd, XattrList* out) {
  return ReadSourceXattrs([fd](char* buf, size_t size) { return ::flistxattr(fd, buf, size); },
                          [fd](const char* name, char* buf, size_t size) {
                            return ::fgetxattr(fd, name, buf, size);
                          },
                          out);
}

}  // namespace revfs
