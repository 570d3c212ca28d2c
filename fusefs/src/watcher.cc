// Serve's watcher thread: commits and signals.
#include "watcher.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <utility>

#include "node_table.h"
#include "store_watch.h"

namespace revfs::fusefs {
namespace {

// How often the watcher looks when it cannot sleep until woken: for
// commits on a store inotify cannot watch, and for the loop's thread to
// see the exit once a signal came: a commit to such a store shows within a
// fifth of a second, at five wake-ups a second.
constexpr int kPollMillis = 200;
// Written to the signal pipe to end the watcher; not a signal number.
constexpr char kWatcherQuit = 0;

std::atomic<int> signal_write_fd{-1};

void OnSignal(int sig) {
  const int saved = errno;
  const int fd = signal_write_fd.load();
  const char c = static_cast<char>(sig);
  if (fd >= 0) (void)!::write(fd, &c, 1);
  errno = saved;
}

}  // namespace

int SignalReadFd() {
  static const int read_fd = [] {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    signal_write_fd.store(fds[1]);
    return fds[0];
  }();
  return read_fd;
}

SignalGuard::SignalGuard() {
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

SignalGuard::~SignalGuard() {
  for (const Saved& s : saved_) sigaction(s.sig, &s.old, nullptr);
}

Watcher::~Watcher() {
  if (!thread_.joinable()) return;
  const char quit = kWatcherQuit;
  (void)!::write(signal_write_fd.load(), &quit, 1);
  thread_.join();
}

void Watcher::Start(RevFs& fs, fuse_session* se, int signal_fd) {
  const pthread_t loop_thread = pthread_self();
  // Watched before the first look, so no commit falls between the two.
  auto store_watch = std::make_unique<StoreWatch>(fs.db().store().path());
  if (!store_watch->polling_reason().empty()) {
    if (auto log = spdlog::get("revfs")) {
      log->info("looking for commits every {} ms: {}", kPollMillis,
                store_watch->polling_reason());
    }
  }
  fs.NoteStoreChanged();
  (void)fs.PollNewRevision();
  thread_ = std::thread([&fs, se, loop_thread, fd = signal_fd,
                         store_watch = std::move(store_watch)] {
    // An idle mount sleeps here until a signal or a commit; only a store
    // inotify cannot watch is looked at every kPollMillis.
    pollfd p[2] = {{fd, POLLIN, 0}, {store_watch->fd(), POLLIN, 0}};
    const bool polling = store_watch->fd() < 0;
    int ending = 0;  // the signal that ends the mount
    while (true) {
      const int n = ::poll(p, 2, polling || ending != 0 ? kPollMillis : -1);
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
        // kPollMillis in case it was not yet waiting.
        pthread_kill(loop_thread, ending);
        continue;
      }
      // Nothing thrown may end this thread (and with it the daemon): a
      // commit missed now is seen at the next change or request.
      try {
        if (!polling && !(n > 0 && (p[1].revents & POLLIN) && store_watch->Drain())) continue;
        fs.NoteStoreChanged();
        const bool new_revision = fs.PollNewRevision();
        const std::vector<uint64_t> forgotten = fs.PollForgotten();
        if (!new_revision && forgotten.empty()) continue;
        // latest's target, cached by the kernel (FUSE_CAP_CACHE_SYMLINKS).
        if (new_revision) (void)fuse_lowlevel_notify_inval_inode(se, kLatestNode, 0, 0);
        // revisions/N of a forgotten revision, cached for long_timeout.
        for (uint64_t r : forgotten) {
          const std::string name = std::to_string(r);
          (void)fuse_lowlevel_notify_inval_entry(se, RevFs::kRevisionsNode, name.data(),
                                                 name.size());
        }
        if (!fs.no_opendir()) continue;
        for (fuse_ino_t dir : {RevFs::kRevisionsNode, RevFs::kAtNode, RevFs::kHistoryNode}) {
          (void)fuse_lowlevel_notify_inval_inode(se, dir, 0, 0);
        }
      } catch (...) {
        fs.NoteStoreChanged();  // the next request reads the superblock again
      }
    }
  });
}

}  // namespace revfs::fusefs
