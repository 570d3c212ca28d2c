// SourceWatch: learns which directories of a source tree changed, for
// `revfs watch` (cmd_watch.cc), from the kernel's change notifications.
//
// Mechanisms, in order of preference:
//   - fanotify with FAN_REPORT_DFID_NAME and a filesystem mark
//     (FAN_MARK_FILESYSTEM): one mark for any number of directories, but it
//     needs CAP_SYS_ADMIN, and file handles are turned into paths with
//     open_by_handle_at (CAP_DAC_READ_SEARCH). Its queue is unlimited
//     (FAN_UNLIMITED_QUEUE): the other directories of the filesystem, busy
//     or not, never make it overflow. Not used when another filesystem is
//     mounted below the root (its events would be missed).
//   - inotify, one watch per directory (any user, for what that user can
//     read): new directories get watches as they appear; directories moved
//     away lose theirs.
// An event that adds, removes or renames a name marks the directory holding
// it as changed (every entry examined); one that changes an entry's content
// or metadata marks only that entry; a directory created or moved in marks
// its whole subtree. Lost events — a
// queue overflow, a watch that could not be added (the inotify watch limit)
// — set `full`: the caller must walk everything.
//
// The watch is in place once Start returns: changes made afterwards are
// reported, so a capture begun after Start misses nothing.
//
// Thread safety: one thread uses a SourceWatch.
#ifndef REVFS_MOUNT_SOURCE_WATCH_H_
#define REVFS_MOUNT_SOURCE_WATCH_H_

#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "revfs/result.h"
#include "revfs/tree.h"

namespace revfs::cli {

// What changed since the last Take.
struct SourceChanges {
  ChangedDirs changed;
  bool full = false;  // events were lost: walk everything
  std::string why;    // why `full`
  uint64_t events = 0;  // events below the root read (each one resets the debounce)
  bool any() const {
    return full || !changed.dirs.empty() || !changed.subtrees.empty() || !changed.entries.empty();
  }
};

class SourceWatch {
 public:
  enum class Mechanism { kAuto, kFanotify, kInotify };
  // Starts watching the directory `root` (an absolute, resolved path).
  static Result<std::unique_ptr<SourceWatch>> Start(const std::string& root, Mechanism want);
  ~SourceWatch();
  SourceWatch(const SourceWatch&) = delete;
  SourceWatch& operator=(const SourceWatch&) = delete;

  // The descriptor to poll for input.
  int fd() const { return fd_; }
  // Whether events of other directories wake the caller (fanotify: the
  // whole filesystem's): after a wake-up that brought nothing of the tree,
  // the caller waits kCoalesce before polling again, so that a busy
  // filesystem's events are read in batches, not one wake-up each.
  bool foreign_events() const { return fanotify_; }
  static constexpr int kCoalesceMs = 50;
  // Says which mechanism is used (and why, if not the preferred one).
  const std::string& description() const { return description_; }
  // Reads every event queued (without blocking) into `*out`. Returns an
  // error only if the notification descriptor fails.
  Status Read(SourceChanges* out);
  // Before a full walk after lost events: adds watches to directories that
  // may lack one (inotify). While the watch limit keeps some directories
  // unwatched, every change read sets `full` (their changes come unseen).
  void Rewatch();

 private:
  SourceWatch(std::string root, int fd, bool fanotify);
  // inotify: watches `rel` and every directory below it.
  void AddTree(const std::string& rel, SourceChanges* out);
  // inotify: forgets the watches of `rel` and below (moved away).
  void RemoveTree(const std::string& rel);
  Status ReadInotify(SourceChanges* out);
  Status ReadFanotify(SourceChanges* out);
  // fanotify: the path below the root of the directory with file handle
  // `handle` (bytes of a struct file_handle); false if outside the root or
  // gone.
  bool HandlePath(const std::string& handle, std::string* rel);

  const std::string root_;
  const int fd_;
  const bool fanotify_;
  bool degraded_ = false;  // inotify: some directories could not be watched
  int root_fd_ = -1;  // fanotify: the filesystem for open_by_handle_at
  std::string description_;
  std::unordered_map<int, std::string> wd_path_;  // inotify: watch -> directory
  // fanotify: handle -> path below the root ("\n" outside), cleared when a
  // directory moves or goes.
  std::unordered_map<std::string, std::string> handle_cache_;
};

}  // namespace revfs::cli

#endif  // REVFS_MOUNT_SOURCE_WATCH_H_
