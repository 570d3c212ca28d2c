// Serve: makes the FUSE session of a RevFs, mounts it, runs the
// (multithreaded) loop until unmounted or signalled, and unmounts.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "ops.h"
#include "revfs/fusefs/fusefs.h"
#include "watcher.h"

namespace revfs::fusefs {
namespace {

// What libfuse and fusermount3 put before their messages.
constexpr std::string_view kFusePrefix = "fuse: ";

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
    if (line.rfind(kFusePrefix, 0) == 0) line.remove_prefix(kFusePrefix.size());
    if (line.empty()) continue;
    if (!errors->empty()) errors->append("; ");
    errors->append(line);
  }
  return rc;
}

// The KernelCacheFill of session `se`: the content is stored into the
// kernel's page cache of the node, from offset 0.
KernelCacheFill SessionCacheFill(fuse_session* se) {
  return [se](uint64_t node, const std::vector<std::string_view>& pieces) {
    std::string joined;
    std::string_view data = pieces.size() == 1 ? pieces[0] : std::string_view();
    if (pieces.size() > 1) {  // libfuse would join them into one buffer too
      for (std::string_view p : pieces) joined.append(p);
      data = joined;
    }
    fuse_bufvec bufv = FUSE_BUFVEC_INIT(data.size());
    bufv.buf[0].mem = const_cast<char*>(data.data());
    return fuse_lowlevel_notify_store(se, node, 0, &bufv, fuse_buf_copy_flags{});
  };
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
  // Directory read-ahead fills through the session: stopped, on every way
  // out (the loop's end included), before the session goes (declared after
  // it).
  struct CacheFillGuard {
    RevFs& fs;
    ~CacheFillGuard() { fs.StopKernelCacheFill(); }
  } cache_fill{fs};
  fs.SetKernelCacheFill(SessionCacheFill(se));
  // The watcher thread (declared after `session` and `cache_fill`, so it is
  // stopped before either goes).
  Watcher watcher;
  watcher.Start(fs, se, signal_fd);
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
