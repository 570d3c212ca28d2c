// Reading a revision's directory tree: inodes, paths and directory listings.
#include "revfs/tree.h"

#include <algorithm>
#include <numeric>
#include <optional>

#include "tree/sorted_map.h"

namespace revfs {

Result<Inode> GetInode(ReadTrx& trx, uint64_t ino) {
  REVFS_ASSIGN_OR_RETURN(auto record, trx.Get(kInodeBase | ino));
  if (!record) {
    return Status::NotFound("inode " + std::to_string(ino) + " not in revision " +
                            std::to_string(trx.revision()));
  }
  auto inode = DecodeInode(record->value());
  if (!inode.ok()) return inode.status().WithContext("inode " + std::to_string(ino));
  return inode;
}

std::vector<Result<Inode>> GetInodes(ReadTrx& trx, const std::vector<uint64_t>& inos) {
  // Filled in inode-number order; an empty slot was not found.
  std::vector<std::optional<Result<Inode>>> found(inos.size());
  std::vector<size_t> order(inos.size());  // indexes of inos, by inode number
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return inos[a] < inos[b]; });
  for (size_t begin = 0; begin < order.size();) {
    // One run: sorted numbers no more than kInodeRunGap apart.
    size_t end = begin + 1;
    while (end < order.size() && inos[order[end]] - inos[order[end - 1]] <= kInodeRunGap) ++end;
    const uint64_t first = inos[order[begin]], last = inos[order[end - 1]];
    bool scanned = false;
    if (end - begin > 1) {
      size_t next = begin;  // the first of the run not yet matched
      Status s = trx.Scan(kInodeBase | first, kInodeBase | last,
                          [&](uint64_t key, std::string_view value) {
                            const uint64_t ino = key & ~kInodeBase;
                            while (next < end && inos[order[next]] < ino) ++next;  // not stored
                            for (; next < end && inos[order[next]] == ino; ++next) {
                              auto inode = DecodeInode(value);
                              if (!inode.ok()) {
                                inode = inode.status().WithContext("inode " + std::to_string(ino));
                              }
                              found[order[next]] = std::move(inode);
                            }
                            return next < end;
                          });
      scanned = s.ok();
    }
    if (!scanned) {  // one at a time, so that each gets its own error
      for (size_t i = begin; i < end; ++i) found[order[i]] = GetInode(trx, inos[order[i]]);
    }
    begin = end;
  }
  std::vector<Result<Inode>> out;
  out.reserve(inos.size());
  for (size_t i = 0; i < inos.size(); ++i) {
    if (found[i]) {
      out.push_back(std::move(*found[i]));
    } else {
      out.push_back(Status::NotFound("inode " + std::to_string(inos[i]) + " not in revision " +
                                     std::to_string(trx.revision())));
    }
  }
  return out;
}

Result<std::optional<DirEntry>> LookupEntry(ReadTrx& trx, const Inode& dir, std::string_view name) {
  if (dir.type != FileType::kDirectory) return Status::NotFound("not a directory");
  REVFS_ASSIGN_OR_RETURN(auto value, MapGet(trx, kMapBlockBase, dir.map, name));
  if (!value) return std::optional<DirEntry>();
  REVFS_ASSIGN_OR_RETURN(DirEntry e, DecodeDirEntry(*value));
  return std::optional<DirEntry>(e);
}

Result<std::pair<uint64_t, Inode>> ResolvePath(ReadTrx& trx, std::string_view path) {
  uint64_t ino = kRootIno;
  if (trx.revision() == 0) {
    // Revision 0 is the empty tree: its root is an empty directory.
    Inode root;
    root.type = FileType::kDirectory;
    root.mode = 040755;
    root.nlink = 2;
    root.mtime_ns = root.ctime_ns = root.atime_ns = trx.time_ns();
    if (path.find_first_not_of('/') != std::string_view::npos) {
      return Status::NotFound(std::string(path) + ": no such file in revision 0");
    }
    return std::make_pair(ino, root);
  }
  REVFS_ASSIGN_OR_RETURN(Inode inode, GetInode(trx, ino));
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view name = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (name.empty() || name == ".") continue;
    if (inode.type != FileType::kDirectory) {
      return Status::NotFound(std::string(path) + ": not a directory on the way");
    }
    REVFS_ASSIGN_OR_RETURN(auto entry, LookupEntry(trx, inode, name));
    if (!entry) {
      return Status::NotFound(std::string(path) + ": no such file in revision " +
                              std::to_string(trx.revision()));
    }
    ino = entry->ino;
    REVFS_ASSIGN_OR_RETURN(inode, GetInode(trx, ino));
  }
  return std::make_pair(ino, std::move(inode));
}

Status ListDirectory(ReadTrx& trx, const Inode& dir, std::string_view after,
                     const std::function<bool(std::string_view, const DirEntry&)>& fn) {
  if (dir.type != FileType::kDirectory) return Status::InvalidArgument("not a directory");
  Status error;
  REVFS_RETURN_IF_ERROR(MapScan(trx, kMapBlockBase, dir.map, after,
                                [&](std::string_view name, std::string_view value) {
                                  if (!after.empty() && name == after) return true;
                                  auto e = DecodeDirEntry(value);
                                  if (!e.ok()) {
                                    error = e.status();
                                    return false;
                                  }
                                  return fn(name, *e);
                                }));
  return error;
}

}  // namespace revfs
