// Serve's watcher thread, and the signals that end a mount.
//
// The watcher sleeps until a signal or a commit:
//  - when a commit lands (StoreWatch: inotify on the store's superblock, or
//    a poll every 200 ms where inotify cannot see every change), it tells
//    the RevFs (NoteStoreChanged) and, in no_opendir mode, drops the
//    kernel's cached listings of revisions/ and at/ (off the request path,
//    as libfuse asks);
//  - when SIGTERM, SIGINT or SIGHUP comes, it stops directory read-ahead
//    while requests are still answered — a fill of a file's page cache can
//    wait for a read of the same file to be answered — and only then ends
//    the session's loop.
// The signal handlers only write the signal's number to a pipe the watcher
// polls. The pipe is made once per process and never closed, so a handler
// running late on another thread never writes into a reused descriptor.
//
// Thread safety: SignalReadFd may be called from any thread; a SignalGuard
// and a Watcher belong to the thread that runs Serve.
#ifndef REVFS_FUSEFS_WATCHER_H_
#define REVFS_FUSEFS_WATCHER_H_

#include <signal.h>

#include <thread>
#include <vector>

#include "revfs/fusefs/fusefs.h"

struct fuse_session;

namespace revfs::fusefs {

// Returns the read end of the signal pipe (made at the first call); -1 if
// the pipe cannot be made.
int SignalReadFd();

// Sends SIGTERM, SIGINT and SIGHUP to the signal pipe where they have their
// default action (as libfuse does: a SIGINT ignored by the shell stays
// ignored), and ignores SIGPIPE if it has its default action; puts back
// what it changed when destroyed.
class SignalGuard {
 public:
  SignalGuard();
  ~SignalGuard();
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  struct Saved {
    int sig;
    struct sigaction old;
  };
  std::vector<Saved> saved_;
};

class Watcher {
 public:
  Watcher() = default;
  // Stops the thread (if started) and joins it.
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Starts watching the store of `fs` for commits and `signal_fd`
  // (SignalReadFd) for signals, on behalf of session `se`, whose loop is
  // to run on the calling thread. `fs` and `se` must outlive the Watcher.
  void Start(RevFs& fs, fuse_session* se, int signal_fd);

 private:
  std::thread thread_;
};

}  // namespace revfs::fusefs

#endif  // REVFS_FUSEFS_WATCHER_H_
