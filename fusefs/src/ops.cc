// The libfuse3 low-level callbacks: one handler per operation, each calling
// one RevFs function and making exactly one reply, behind an exception wall.
#include "ops.h"

#include <fcntl.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "op_stats.h"
#include "revfs/fusefs/fuse_errno.h"
#include "revfs/fusefs/fusefs.h"

namespace revfs::fusefs {
namespace {

// The kernel's own read-ahead window, at most 1 MiB: the daemon reads
// further ahead itself (the chunk prefetchers, FsOptions::readahead_bytes).
constexpr unsigned kMaxKernelReadahead = 1u << 20;
// Every entry reply's generation: node ids are never reused, so one
// generation serves them all.
constexpr uint64_t kGeneration = 1;
// The block size statfs reports, and counts the store's pages file in.
constexpr unsigned long kStatfsBlockSize = 4096;
// Extended attributes for privileged callers only (see OnListxattr).
constexpr std::string_view kTrustedPrefix = "trusted.";

RevFs* Fs(fuse_req_t req) { return static_cast<RevFs*>(fuse_req_userdata(req)); }

// Runs `body`, which must reply exactly once; replies EIO or ENOMEM for it if
// it throws, so that nothing escapes into libfuse's C code.
template <typename Body>
void Wall(fuse_req_t req, int op, Body body) {
  RevFs* fs = Fs(req);  // the request is gone once replied to
  const auto start = std::chrono::steady_clock::now();
  try {
    body();
  } catch (const std::bad_alloc&) {
    fuse_reply_err(req, ENOMEM);
  } catch (...) {
    fuse_reply_err(req, EIO);
  }
  fs->CountOp(op, static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                 std::chrono::steady_clock::now() - start)
                                                 .count()));
}

void ReplyError(fuse_req_t req, const Status& s) { fuse_reply_err(req, ToErrno(s)); }

fuse_entry_param ToEntry(const EntryReply& r) {
  fuse_entry_param e;
  std::memset(&e, 0, sizeof(e));
  e.ino = r.node;
  e.generation = kGeneration;
  e.attr = r.attr.st;
  e.attr_timeout = r.attr.timeout;
  e.entry_timeout = r.entry_timeout;
  return e;
}

void OnInit(void* userdata, fuse_conn_info* conn) {
  RevFs* fs = static_cast<RevFs*>(userdata);
  if (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) fs->EnableNoOpen();
  if (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) fs->EnableNoOpendir();
  // Where the kernel checks permissions it also enforces the stored ACLs
  // (system.posix_acl_access/default, served by getxattr), as it does on
  // ext4; without this it would check the modes alone. Only then: asking
  // for ACLs makes the kernel turn default_permissions on by itself, which
  // would silently undo no_default_permissions.
  if (fs->posix_acl() && (conn->capable & FUSE_CAP_POSIX_ACL)) {
    conn->want |= FUSE_CAP_POSIX_ACL;
  } else {
    conn->want &= ~FUSE_CAP_POSIX_ACL;
  }
  conn->max_readahead = std::min<unsigned>(conn->max_readahead, kMaxKernelReadahead);
  // Symlink targets are cached by the kernel: stored ones never change, and
  // Serve's watcher drops the cached target of latest when a commit lands.
  // Without this every path resolved through latest/ asks for its target
  // again: ls -lR MOUNT/latest/ sent three readlinks per file.
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) {
    conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  }
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;  // revisions never change
}

void OnLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Wall(req, kOpLookup, [&] {
    auto r = Fs(req)->Lookup(parent, name);
    if (!r.ok()) return ReplyError(req, r.status());
    fuse_entry_param e = ToEntry(*r);
    fuse_reply_entry(req, &e);
  });
}

void OnForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Wall(req, kOpForget, [&] {
    Fs(req)->Forget(ino, nlookup);
    fuse_reply_none(req);
  });
}

void OnForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  Wall(req, kOpForget, [&] {
    for (size_t i = 0; i < count; ++i) Fs(req)->Forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
  });
}

void OnGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Wall(req, kOpGetattr, [&] {
    auto a = Fs(req)->GetAttr(ino);
    if (!a.ok()) return ReplyError(req, a.status());
    fuse_reply_attr(req, &a->st, a->timeout);
  });
}

void OnReadlink(fuse_req_t req, fuse_ino_t ino) {
  Wall(req, kOpReadlink, [&] {
    auto target = Fs(req)->ReadLink(ino);
    if (!target.ok()) return ReplyError(req, target.status());
    fuse_reply_readlink(req, target->c_str());
  });
}

void OnOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Wall(req, kOpOpendir, [&] {
    if (Fs(req)->no_opendir()) {
      // From now on directories open without asking.
      return static_cast<void>(fuse_reply_err(req, ENOSYS));
    }
    auto stable = Fs(req)->OpenDir(ino);
    if (!stable.ok()) return ReplyError(req, stable.status());
    fi->fh = 0;  // listings are read by position, nothing is held per handle
    fi->cache_readdir = *stable;
    fi->keep_cache = *stable;  // a revision's listing never changes
    fuse_reply_open(req, fi);
  });
}

// The smallest entry fuse_add_direntry_plus makes: the kernel's entry_out
// (128 bytes), a dirent header (24) and a name padded to 8.
constexpr size_t kMinDirentPlus = 128 + 24 + 8;

void Readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*, bool plus) {
  Wall(req, kOpReaddir, [&] {
    RevFs* fs = Fs(req);
    // The reply is built in this thread's buffer: one allocation per thread,
    // not a zero-filled one per request (replies are up to the kernel's
    // getdents buffer, tens of KiB, and a walk sends two per directory).
    thread_local std::vector<char> reply;
    if (reply.size() < size) reply.resize(size);
    char* const buf = reply.data();
    size_t used = 0;
    auto next = static_cast<off_t>(off);
    if (!plus) {
      Status s = fs->ReadDir(ino, static_cast<uint64_t>(off), [&](const DirItem& item) {
        struct stat st;
        std::memset(&st, 0, sizeof(st));
        st.st_ino = item.st_ino;
        st.st_mode = item.type;
        const size_t need = fuse_add_direntry(req, buf + used, size - used,
                                              item.name.c_str(), &st, ++next);
        if (need > size - used) return false;
        used += need;
        return true;
      });
      // A listing that cannot be read whole fails whole: never a silent gap.
      if (!s.ok()) return ReplyError(req, s);
      return static_cast<void>(fuse_reply_buf(req, buf, used));
    }
    auto counted = fs->ReadDirPlus(
        ino, static_cast<uint64_t>(off), size / kMinDirentPlus + 1,
        [&](const DirItem& item, const EntryReply* entry) {
          fuse_entry_param e;
          std::memset(&e, 0, sizeof(e));
          e.attr.st_ino = item.st_ino;
          e.attr.st_mode = item.type;
          // Without an entry (node 0) the kernel lists the name and makes no
          // dentry, so looking the child up asks again and gets the error.
          if (entry != nullptr) e = ToEntry(*entry);
          const size_t need = fuse_add_direntry_plus(req, buf + used, size - used,
                                                     item.name.c_str(), &e, ++next);
          if (need > size - used) return false;
          used += need;
          return true;
        });
    if (!counted.ok()) return ReplyError(req, counted.status());
    if (fuse_reply_buf(req, buf, used) != 0) {
      for (uint64_t node : *counted) fs->Forget(node, 1);  // the kernel never got them
    }
  });
}

void OnReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Readdir(req, ino, size, off, fi, false);
}
void OnReaddirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Readdir(req, ino, size, off, fi, true);
}

void OnReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  Wall(req, kOpRelease, [&] { fuse_reply_err(req, 0); });
}

void OnOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Wall(req, kOpOpen, [&] {
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
      return ReplyError(req, Status::ReadOnly("history is read-only"));
    }
    if (Fs(req)->no_open()) {
      // From now on the kernel opens without asking and keeps the page cache.
      return static_cast<void>(fuse_reply_err(req, ENOSYS));
    }
    bool keep_cache = false, direct_io = false;
    auto fh = Fs(req)->Open(ino, &keep_cache, &direct_io);
    if (!fh.ok()) return ReplyError(req, fh.status());
    fi->fh = *fh;
    fi->keep_cache = keep_cache;
    fi->direct_io = direct_io;
    if (fuse_reply_open(req, fi) != 0) Fs(req)->Release(*fh);
  });
}

void OnRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Wall(req, kOpRead, [&] {
    // The pins live until the reply has been written to the kernel.
    std::vector<PinnedView> pins;
    std::vector<std::string_view> pieces;
    // fi->fh: what open gave, or RevFs::kNoHandle in no_open mode.
    Status s = Fs(req)->Read(ino, fi->fh, static_cast<uint64_t>(off), size, &pins, &pieces);
    if (!s.ok()) return ReplyError(req, s);
    std::vector<iovec> iov(pieces.size());
    for (size_t i = 0; i < pieces.size(); ++i) {
      iov[i].iov_base = const_cast<char*>(pieces[i].data());
      iov[i].iov_len = pieces[i].size();
    }
    fuse_reply_iov(req, iov.data(), static_cast<int>(iov.size()));
  });
}

// SEEK_DATA/SEEK_HOLE: without this the kernel takes every byte for data,
// so cp --sparse, tar -S and rsync -S would fill holes in.
void OnLseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info*) {
  Wall(req, kOpRead, [&] {
    if (off < 0) return static_cast<void>(fuse_reply_err(req, EINVAL));
    auto at = Fs(req)->SeekDataOrHole(ino, static_cast<uint64_t>(off), whence);
    if (!at.ok()) return ReplyError(req, at.status());
    if (*at < 0) return static_cast<void>(fuse_reply_err(req, ENXIO));
    fuse_reply_lseek(req, static_cast<off_t>(*at));
  });
}

void OnRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Wall(req, kOpRelease, [&] {
    if (fi->fh != 0) Fs(req)->Release(fi->fh);
    fuse_reply_err(req, 0);
  });
}

void OnGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Wall(req, kOpXattr, [&] {
    // trusted.* is for privileged callers only (see OnListxattr); the VFS
    // refuses it first, this holds should the kernel ever not.
    if (std::string_view(name).rfind(kTrustedPrefix, 0) == 0 && fuse_req_ctx(req)->uid != 0) {
      return static_cast<void>(fuse_reply_err(req, ENODATA));
    }
    auto xattrs = Fs(req)->Xattrs(ino);
    if (!xattrs.ok()) return ReplyError(req, xattrs.status());
    const XattrList& list = **xattrs;  // sorted by name
    auto it = std::lower_bound(list.begin(), list.end(), std::string_view(name),
                               [](const auto& x, std::string_view n) { return x.first < n; });
    if (it == list.end() || it->first != name) {
      return static_cast<void>(fuse_reply_err(req, ENODATA));
    }
    const std::string& v = it->second;
    if (size == 0) return static_cast<void>(fuse_reply_xattr(req, v.size()));
    if (size < v.size()) return static_cast<void>(fuse_reply_err(req, ERANGE));
    fuse_reply_buf(req, v.data(), v.size());
  });
}

void OnListxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Wall(req, kOpXattr, [&] {
    auto xattrs = Fs(req)->Xattrs(ino);
    if (!xattrs.ok()) return ReplyError(req, xattrs.status());
    // trusted.* names are listed to privileged callers only, as ext4 and
    // tmpfs do: they ask for CAP_SYS_ADMIN, and the VFS answers an
    // unprivileged getxattr of them ENODATA. A request carries the caller's
    // fsuid, not its capabilities, so uid 0 stands for CAP_SYS_ADMIN: a
    // root process without it still sees the names, a non-root process
    // holding it does not.
    const bool privileged = fuse_req_ctx(req)->uid == 0;
    std::string names;
    for (const auto& [n, v] : **xattrs) {
      if (!privileged && n.rfind(kTrustedPrefix, 0) == 0) continue;
      names.append(n).push_back('\0');
    }
    if (size == 0) return static_cast<void>(fuse_reply_xattr(req, names.size()));
    if (size < names.size()) return static_cast<void>(fuse_reply_err(req, ERANGE));
    fuse_reply_buf(req, names.data(), names.size());
  });
}

void OnStatfs(fuse_req_t req, fuse_ino_t) {
  Wall(req, kOpStatfs, [&] {
    struct statvfs st;
    std::memset(&st, 0, sizeof(st));
    st.f_bsize = st.f_frsize = kStatfsBlockSize;
    st.f_blocks = Fs(req)->db().store().superblock().pages_end / kStatfsBlockSize + 1;
    st.f_namemax = NAME_MAX;
    fuse_reply_statfs(req, &st);
  });
}

// Every write-side operation: history is read-only.
void Erofs(fuse_req_t req) {
  Wall(req, kOpWrite, [&] { fuse_reply_err(req, EROFS); });
}
void OnMkdir(fuse_req_t req, fuse_ino_t, const char*, mode_t) { Erofs(req); }
void OnMknod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) { Erofs(req); }
void OnSymlink(fuse_req_t req, const char*, fuse_ino_t, const char*) { Erofs(req); }
void OnLink(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { Erofs(req); }
void OnUnlink(fuse_req_t req, fuse_ino_t, const char*) { Erofs(req); }
void OnRename(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) {
  Erofs(req);
}
void OnSetattr(fuse_req_t req, fuse_ino_t, struct stat*, int, fuse_file_info*) { Erofs(req); }
void OnSetxattr(fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) { Erofs(req); }
void OnRemovexattr(fuse_req_t req, fuse_ino_t, const char*) { Erofs(req); }
void OnCreate(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) { Erofs(req); }
void OnWrite(fuse_req_t req, fuse_ino_t, const char*, size_t, off_t, fuse_file_info*) {
  Erofs(req);
}

}  // namespace

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof(ops));
  ops.init = OnInit;
  ops.lookup = OnLookup;
  ops.forget = OnForget;
  ops.forget_multi = OnForgetMulti;
  ops.getattr = OnGetattr;
  ops.readlink = OnReadlink;
  ops.opendir = OnOpendir;
  ops.readdir = OnReaddir;
  ops.readdirplus = OnReaddirplus;
  ops.releasedir = OnReleasedir;
  ops.open = OnOpen;
  ops.read = OnRead;
  ops.release = OnRelease;
  ops.lseek = OnLseek;
  ops.getxattr = OnGetxattr;
  ops.listxattr = OnListxattr;
  ops.statfs = OnStatfs;
  ops.mkdir = OnMkdir;
  ops.mknod = OnMknod;
  ops.symlink = OnSymlink;
  ops.link = OnLink;
  ops.unlink = OnUnlink;
  ops.rmdir = OnUnlink;
  ops.rename = OnRename;
  ops.setattr = OnSetattr;
  ops.setxattr = OnSetxattr;
  ops.removexattr = OnRemovexattr;
  ops.create = OnCreate;
  ops.write = OnWrite;
  return ops;
}

}  // namespace revfs::fusefs
