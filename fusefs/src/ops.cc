// The libfuse3 low-level callbacks: one handler per operation, each calling
// one RevFs function and making exactly one reply, behind an exception wall.
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <thread>

#include "op_stats.h"
#include "revfs/fusefs/fuse_errno.h"
#include "revfs/fusefs/fusefs.h"
#include "store_watch.h"

namespace revfs::fusefs {
namespace {

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
  e.generation = 1;
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
  conn->max_readahead = std::min<unsigned>(conn->max_readahead, 1u << 20);
  // Symlinks are not cached in the page cache: latest changes its target.
  conn->want &= ~FUSE_CAP_CACHE_SYMLINKS;
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
    std::string buf(size, '\0');
    size_t used = 0;
    auto next = static_cast<off_t>(off);
    if (!plus) {
      Status s = fs->ReadDir(ino, static_cast<uint64_t>(off), [&](const DirItem& item) {
        struct stat st;
        std::memset(&st, 0, sizeof(st));
        st.st_ino = item.st_ino;
        st.st_mode = item.type;
        const size_t need = fuse_add_direntry(req, buf.data() + used, size - used,
                                              item.name.c_str(), &st, ++next);
        if (need > size - used) return false;
        used += need;
        return true;
      });
      // A listing that cannot be read whole fails whole: never a silent gap.
      if (!s.ok()) return ReplyError(req, s);
      return static_cast<void>(fuse_reply_buf(req, buf.data(), used));
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
          const size_t need = fuse_add_direntry_plus(req, buf.data() + used, size - used,
                                                     item.name.c_str(), &e, ++next);
          if (need > size - used) return false;
          used += need;
          return true;
        });
    if (!counted.ok()) return ReplyError(req, counted.status());
    if (fuse_reply_buf(req, buf.data(), used) != 0) {
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
    if (std::strncmp(name, "trusted.", 8) == 0 && fuse_req_ctx(req)->uid != 0) {
      return static_cast<void>(fuse_reply_err(req, ENODATA));
    }
    auto xattrs = Fs(req)->Xattrs(ino);
    if (!xattrs.ok()) return ReplyError(req, xattrs.status());
    for (const auto& [n, v] : *xattrs) {
      if (n != name) continue;
      if (size == 0) return static_cast<void>(fuse_reply_xattr(req, v.size()));
      if (size < v.size()) return static_cast<void>(fuse_reply_err(req, ERANGE));
      return static_cast<void>(fuse_reply_buf(req, v.data(), v.size()));
    }
    fuse_reply_err(req, ENODATA);
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
    for (const auto& [n, v] : *xattrs) {
      if (!privileged && n.rfind("trusted.", 0) == 0) continue;
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
    st.f_bsize = st.f_frsize = 4096;
    st.f_blocks = Fs(req)->db().store().superblock().pages_end / 4096 + 1;
    st.f_namemax = 255;
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

// SIGTERM, SIGINT and SIGHUP end the mount through the watcher thread (see
// Serve): the handler only writes the signal's number to a pipe. The pipe is
// made once per process and never closed, so a handler running late on
// another thread never writes into a reused descriptor.
std::atomic<int> signal_write_fd{-1};

int SignalReadFd() {  // -1 if the pipe cannot be made
  static const int read_fd = [] {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    signal_write_fd.store(fds[1]);
    return fds[0];
  }();
  return read_fd;
}

void OnSignal(int sig) {
  const int saved = errno;
  const int fd = signal_write_fd.load();
  const char c = static_cast<char>(sig);
  if (fd >= 0) (void)!::write(fd, &c, 1);
  errno = saved;
}

constexpr char kWatcherQuit = 0;  // not a signal number

// Sends SIGTERM, SIGINT and SIGHUP to OnSignal where they have their default
// action (as libfuse does: a SIGINT ignored by the shell stays ignored), and
// ignores SIGPIPE if it has its default action; puts back what it changed.
class SignalGuard {
 public:
  SignalGuard() {
    struct sigaction sa = {};
    sa.sa_handler = OnSignal;  // no SA_RESTART: the loop's waits return EINTR
    sigemptyset(&sa.sa_mask);
    struct sigaction ignore = {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE}) {
      Saved saved{sig, {}};
      if (sigaction(sig, nullptr, &saved.old) != 0 || saved.old.sa_handler != SIG_DFL) continue;
      if (sigaction(sig, sig == SIGPIPE ? &ignore : &sa, nullptr) == 0) saved_.push_back(saved);
    }
  }
  ~SignalGuard() {
    for (const Saved& s : saved_) sigaction(s.sig, &s.old, nullptr);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  struct Saved {
    int sig;
    struct sigaction old;
  };
  std::vector<Saved> saved_;
};

// Runs fuse_session_mount with fd 2 sent to a pipe, and puts in `errors`
// what libfuse and the fusermount3 it may run wrote there (each line, "; "
// between them): the reason a mount failed ("failed to open /dev/fuse:
// Permission denied"), which a daemon's stderr (/dev/null) would swallow.
int MountCapturingErrors(fuse_session* se, const char* mountpoint, std::string* errors) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fuse_session_mount(se, mountpoint);
  std::fflush(stderr);
  const int saved = ::fcntl(2, F_DUPFD_CLOEXEC, 3);
  if (saved < 0 || ::dup2(fds[1], 2) < 0) {  // dup2 leaves fd 2 inheritable
    if (saved >= 0) ::close(saved);
    ::close(fds[0]);
    ::close(fds[1]);
    return fuse_session_mount(se, mountpoint);
  }
  ::close(fds[1]);
  const int rc = fuse_session_mount(se, mountpoint);
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  // Non-blocking: a fusermount3 kept alive (auto_unmount) holds a write end.
  (void)::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  std::string text;
  char buf[1024];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) > 0;) text.append(buf, size_t(n));
  ::close(fds[0]);
  if (rc == 0) {  // warnings of a mount that worked go where they would have
    if (!text.empty()) (void)!::write(2, text.data(), text.size());
    return rc;
  }
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (line.rfind("fuse: ", 0) == 0) line.remove_prefix(6);
    if (line.empty()) continue;
    if (!errors->empty()) errors->append("; ");
    errors->append(line);
  }
  return rc;
}

}  // namespace

Status Serve(RevFs& fs, const ServeOptions& options) {
  static const fuse_lowlevel_ops ops = MakeOps();
  std::vector<std::string> argv_s = {"revfs"};
  if (options.debug) argv_s.push_back("-d");
  for (const std::string& o : options.fuse_options) {
    argv_s.push_back("-o");
    argv_s.push_back(o);
  }
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_session* se = fuse_session_new(&args, &ops, sizeof(ops), &fs);
  fuse_opt_free_args(&args);
  if (se == nullptr) {
    Status s = Status::InvalidArgument("mount: libfuse refused the options");
    if (options.on_ready) options.on_ready(s);
    return s;
  }
  const int signal_fd = SignalReadFd();
  if (signal_fd < 0) {
    fuse_session_destroy(se);
    Status s = Status::FromErrno(errno, "mount: signal pipe");
    if (options.on_ready) options.on_ready(s);
    return s;
  }
  for (char c; ::read(signal_fd, &c, 1) == 1;) {
  }  // what an earlier mount in this process left
  // Declared before `session`: the handlers are in place before the mount
  // and stay until after the unmount.
  SignalGuard signals;
  struct Session {
    fuse_session* se;
    bool mounted = false;
    ~Session() {
      if (mounted) fuse_session_unmount(se);
      fuse_session_destroy(se);
    }
  } session{se};
  std::string mount_errors;
  if (MountCapturingErrors(se, options.mountpoint.c_str(), &mount_errors) != 0) {
    Status s = Status::IOError(
        options.mountpoint + ": could not mount: " +
        (mount_errors.empty() ? "is it an empty directory? is /dev/fuse there?" : mount_errors));
    if (options.on_ready) options.on_ready(s);
    return s;
  }
  session.mounted = true;
  // Directory read-ahead stores through the session: stopped, on every way
  // out (the loop's end included), before the session goes (declared after
  // it).
  struct PageStoreGuard {
    RevFs& fs;
    ~PageStoreGuard() { fs.StopKernelCacheFill(); }
  } cache_fill{fs};
  fs.SetKernelCacheFill([se](uint64_t node, const std::vector<std::string_view>& pieces) {
    std::string joined;
    std::string_view data = pieces.size() == 1 ? pieces[0] : std::string_view();
    if (pieces.size() > 1) {  // libfuse would join them into one buffer too
      for (std::string_view p : pieces) joined.append(p);
      data = joined;
    }
    fuse_bufvec bufv = FUSE_BUFVEC_INIT(data.size());
    bufv.buf[0].mem = const_cast<char*>(data.data());
    return fuse_lowlevel_notify_store(se, node, 0, &bufv, fuse_buf_copy_flags{});
  });
  // The watcher thread (declared after `session`, so it is stopped before
  // the session goes):
  //  - when a commit lands, it drops the kernel's cached listings of
  //    revisions/ and at/ (off the request path, as libfuse asks);
  //  - when a signal comes, it stops directory read-ahead while requests are
  //    still answered — a read-ahead can wait for a read of the same file to
  //    be answered — and only then ends the loop.
  struct Watcher {
    std::thread thread;
    ~Watcher() {
      if (!thread.joinable()) return;
      const char quit = kWatcherQuit;
      (void)!::write(signal_write_fd.load(), &quit, 1);
      thread.join();
    }
  } watcher;
  const pthread_t loop_thread = pthread_self();
  // Watched before the first look, so no commit falls between the two.
  auto store_watch = std::make_unique<StoreWatch>(fs.db().store().path());
  if (!store_watch->polling_reason().empty()) {
    if (auto log = spdlog::get("revfs")) {
      log->info("looking for commits every 200 ms: {}", store_watch->polling_reason());
    }
  }
  fs.NoteStoreChanged();
  (void)fs.PollNewRevision();
  watcher.thread = std::thread([&fs, se, loop_thread, fd = signal_fd,
                                store_watch = std::move(store_watch)] {
    // An idle mount sleeps here until a signal or a commit; only a store
    // inotify cannot watch is looked at every 200 ms.
    pollfd p[2] = {{fd, POLLIN, 0}, {store_watch->fd(), POLLIN, 0}};
    const bool polling = store_watch->fd() < 0;
    int ending = 0;  // the signal that ends the mount
    while (true) {
      const int n = ::poll(p, 2, polling || ending != 0 ? 200 : -1);
      char c = 1;
      if (n > 0 && (p[0].revents & POLLIN) && ::read(fd, &c, 1) == 1) {
        if (c == kWatcherQuit) return;
        if (ending != 0) continue;  // our own wake-up below, or a second signal
        ending = c;
        fs.StopKernelCacheFill();
        fuse_session_exit(se);
      }
      if (ending != 0) {
        // Wakes the loop's thread (its wait returns EINTR) to see the exit,
        // with the signal that came (so one OnSignal handles); again every
        // 200 ms in case it was not yet waiting.
        pthread_kill(loop_thread, ending);
        continue;
      }
      // Nothing thrown may end this thread (and with it the daemon): a
      // commit missed now is seen at the next change or request.
      try {
        if (!polling && !(n > 0 && (p[1].revents & POLLIN) && store_watch->Drain())) continue;
        fs.NoteStoreChanged();
        if (!fs.no_opendir() || !fs.PollNewRevision()) continue;
        for (fuse_ino_t dir : {RevFs::kRevisionsNode, RevFs::kAtNode}) {
          (void)fuse_lowlevel_notify_inval_inode(se, dir, 0, 0);
        }
      } catch (...) {
        fs.NoteStoreChanged();  // the next request reads the superblock again
      }
    }
  });
  if (options.on_ready) options.on_ready(Status::OK());
  int rc;
  if (options.single_thread) {
    rc = fuse_session_loop(se);
  } else {
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, options.max_threads);
    fuse_loop_cfg_set_clone_fd(cfg, 0);
    rc = fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
  }
  if (rc < 0) return Status::IOError("fuse loop ended with an error");
  return Status::OK();
}

}  // namespace revfs::fusefs
