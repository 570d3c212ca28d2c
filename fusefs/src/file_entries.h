// FileEntries: whether a readdirplus reply carries each stored file's entry
// (its attributes; the kernel makes an inode for it, and a later stat asks
// nothing) or its name alone (node 0: the kernel lists the name and makes
// no inode; a stat then sends a lookup). Subdirectories always carry their
// entry: every walk goes into them.
//
// A walk of names (find, ls, du --inodes) never stats a file: entries cost
// it an inode per file, made and dropped by the kernel (a cold find over
// 200,000 files spent most of its time there). A walk that stats every file
// (ls -l, find -printf '%s', du, rsync) wants the entries: without them it
// sends a lookup per file. The daemon cannot tell at a listing which walk
// is coming, but it sees what a names-only listing leaves to the kernel:
// under FsOptions::Readdirplus::kAuto, files are listed by name until
// kBurst lookups of files come within kWindow of each other; listings then
// carry every entry for kHold after the last such burst. A stat walk pays
// about kBurst lookups per kHold; a name walk pays nothing.
//
// Thread safety: every method may be called from any thread (one mutex).
#ifndef REVFS_FUSEFS_FILE_ENTRIES_H_
#define REVFS_FUSEFS_FILE_ENTRIES_H_

#include <chrono>
#include <cstdint>

#include "revfs/fusefs/fusefs.h"
#include "revfs/mutex.h"
#include "revfs/thread_annotations.h"

namespace revfs::fusefs {

class FileEntries {
 public:
  static constexpr uint32_t kBurst = 16;
  static constexpr uint64_t kWindowNanos = 1'000'000'000;  // 1 s
  static constexpr uint64_t kHoldNanos = 30'000'000'000;   // 30 s

  explicit FileEntries(FsOptions::Readdirplus mode) : mode_(mode) {}

  // The steady clock's nanoseconds, the `now` the methods take.
  static uint64_t Now() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
  }

  // Whether a listing at `now` gives the files' entries.
  bool Give(uint64_t now) EXCLUDES(mu_) {
    if (mode_ != FsOptions::Readdirplus::kAuto) return mode_ == FsOptions::Readdirplus::kAll;
    MutexLock l(&mu_);
    return now < give_until_;
  }

  // Notes a lookup of a stored file (not a directory) at `now`.
  void FileLookedUp(uint64_t now) EXCLUDES(mu_) {
    if (mode_ != FsOptions::Readdirplus::kAuto) return;
    MutexLock l(&mu_);
    if (count_ == 0 || now - window_start_ > kWindowNanos) {
      window_start_ = now;
      count_ = 0;
    }
    if (++count_ < kBurst) return;
    if (now >= give_until_) ++switches_;
    give_until_ = now + kHoldNanos;
    count_ = 0;
  }

  // How many times listings went from names to entries.
  uint64_t switches() EXCLUDES(mu_) {
    MutexLock l(&mu_);
    return switches_;
  }

 private:
  const FsOptions::Readdirplus mode_;
  Mutex mu_;
  uint64_t window_start_ GUARDED_BY(mu_) = 0;
  uint32_t count_ GUARDED_BY(mu_) = 0;
  uint64_t give_until_ GUARDED_BY(mu_) = 0;
  uint64_t switches_ GUARDED_BY(mu_) = 0;
};

}  // namespace revfs::fusefs

#endif  // REVFS_FUSEFS_FILE_ENTRIES_H_
