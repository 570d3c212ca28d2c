#include "revfs/diff.h"

#include <algorithm>

#include "tree/xattr_blob.h"

namespace revfs {
namespace {

struct Differ {
  ReadTrx& a;
  ReadTrx& b;
  const std::function<void(ChangeKind, const std::string&)>& fn;
  const bool compare_bytes;

  static bool SameMetadata(const Inode& x, const Inode& y) {
    return x.mode == y.mode && x.uid == y.uid && x.gid == y.gid && x.mtime_ns == y.mtime_ns &&
           SameXattrs(x, y) && x.rdev == y.rdev;
  }

  Status SameContent(const Inode& x, const Inode& y, bool* same) {
    if (x.type == FileType::kSymlink) {
      *same = x.symlink == y.symlink;
      return Status::OK();
    }
    if (x.type != FileType::kRegular) {
      *same = true;
      return Status::OK();
    }
    if (x.size != y.size) {
      *same = false;
      return Status::OK();
    }
    if (HasShortDigest(x) != HasShortDigest(y)) {
      if (compare_bytes) return SameBytes(x, y, same);
      *same = false;
      return Status::OK();
    }
    if (!x.map.empty() || !y.map.empty()) {
      *same = x.map.hash == y.map.hash && x.chunks.empty() && y.chunks.empty();
      return Status::OK();
    }
    *same = x.chunks.size() == y.chunks.size();
    for (size_t i = 0; *same && i < x.chunks.size(); ++i) {
      const ChunkRef& p = x.chunks[i];
      const ChunkRef& q = y.chunks[i];
      *same = p.offset == q.offset && p.length == q.length && p.hole == q.hole && p.hash == q.hash;
    }
    return Status::OK();
  }

  // Whether a file's content is named by format-2 digests, which say
  // nothing about equality with SHA-256 ones (engine/FORMAT.md, "Format-2
  // content in a format-3 store").
  static bool HasShortDigest(const Inode& f) {
    if (f.map.hash.IsShort()) return true;
    for (const ChunkRef& c : f.chunks) {
      if (c.hash.IsShort()) return true;
    }
    return false;
  }

  // Compares two files of one size by their bytes, a window at a time.
  Status SameBytes(const Inode& x, const Inode& y, bool* same) {
    constexpr uint64_t kWindow = 1 << 20;
    *same = true;
    std::string bx, by;
    for (uint64_t at = 0; at < x.size && *same; at += kWindow) {
      const uint64_t n = std::min(kWindow, x.size - at);
      bx.clear();
      by.clear();
      REVFS_RETURN_IF_ERROR(ReadFile(a.database(), a, x, at, n, [&](std::string_view p) {
        bx.append(p);
        return Status::OK();
      }));
      REVFS_RETURN_IF_ERROR(ReadFile(b.database(), b, y, at, n, [&](std::string_view p) {
        by.append(p);
        return Status::OK();
      }));
      *same = bx == by;
    }
    return Status::OK();
  }

  Status Entry(const std::string& path, const DirEntry& x, const DirEntry& y) {
    if (x.identity == y.identity && x.type == y.type) return Status::OK();  // unchanged subtree
    if (x.type != y.type) {
      fn(ChangeKind::kTypeChanged, path);
      return Status::OK();
    }
    REVFS_ASSIGN_OR_RETURN(Inode ix, GetInode(a, x.ino));
    REVFS_ASSIGN_OR_RETURN(Inode iy, GetInode(b, y.ino));
    if (x.type == FileType::kDirectory) {
      if (!SameMetadata(ix, iy)) fn(ChangeKind::kMetadata, path);
      return Dir(path, ix, iy);
    }
    bool same = false;
    REVFS_RETURN_IF_ERROR(SameContent(ix, iy, &same));
    if (!same) {
      fn(ChangeKind::kModified, path);
    } else if (!SameMetadata(ix, iy)) {
      fn(ChangeKind::kMetadata, path);
    }
    return Status::OK();
  }

  Status Dir(const std::string& path, const Inode& x, const Inode& y) {
    if (x.map.hash == y.map.hash && x.map.block == y.map.block) return Status::OK();
    std::vector<std::pair<std::string, DirEntry>> ex, ey;
    auto collect = [](std::vector<std::pair<std::string, DirEntry>>* out) {
      return [out](std::string_view n, const DirEntry& e) {
        out->emplace_back(std::string(n), e);
        return true;
      };
    };
    REVFS_RETURN_IF_ERROR(ListDirectory(a, x, "", collect(&ex)));
    REVFS_RETURN_IF_ERROR(ListDirectory(b, y, "", collect(&ey)));
    const std::string prefix = path.empty() || path.back() == '/' ? path : path + "/";
    size_t i = 0, j = 0;
    while (i < ex.size() || j < ey.size()) {
      if (j == ey.size() || (i < ex.size() && ex[i].first < ey[j].first)) {
        fn(ChangeKind::kDeleted, prefix + ex[i++].first);
      } else if (i == ex.size() || ey[j].first < ex[i].first) {
        fn(ChangeKind::kAdded, prefix + ey[j++].first);
      } else {
        REVFS_RETURN_IF_ERROR(Entry(prefix + ex[i].first, ex[i].second, ey[j].second));
        ++i, ++j;
      }
    }
    return Status::OK();
  }
};

}  // namespace

Status DiffTrees(ReadTrx& a, ReadTrx& b, const std::string& path,
                 const std::function<void(ChangeKind, const std::string&)>& fn,
                 bool compare_bytes) {
  auto x = ResolvePath(a, path);
  auto y = ResolvePath(b, path);
  if (!x.ok() && !y.ok()) return x.status();
  if (!x.ok()) {
    fn(ChangeKind::kAdded, path);
    return Status::OK();
  }
  if (!y.ok()) {
    fn(ChangeKind::kDeleted, path);
    return Status::OK();
  }
  Differ d{a, b, fn, compare_bytes};
  DirEntry ex{x->first, x->second.type, x->second.identity};
  DirEntry ey{y->first, y->second.type, y->second.identity};
  if (ex.type == FileType::kDirectory && ey.type == FileType::kDirectory) {
    if (!Differ::SameMetadata(x->second, y->second) && a.revision() > 0 && b.revision() > 0) {
      fn(ChangeKind::kMetadata, path.empty() ? "/" : path);
    }
    return d.Dir(path, x->second, y->second);
  }
  return d.Entry(path, ex, ey);
}

}  // namespace revfs
