// StoreWatch: tells Serve's watcher thread when a store's superblock may
// have changed, so that an idle daemon sleeps until a commit lands.
//
// A commit (or forget, or prune) writes one superblock slot in place and
// syncs it: the file's inotify IN_MODIFY comes once the bytes are readable,
// IN_CLOSE_WRITE when the writer is done. A store replaced as a whole (the
// superblock renamed or created anew in its directory) is watched again.
// inotify sees only changes made through this machine's kernel: on a
// network or FUSE filesystem (NFS, CIFS/SMB, Ceph, 9p, AFS, GlusterFS via
// FUSE, ...) another host's commit would go unseen, so there the watch
// polls instead, as it also does when inotify is unavailable (no instance
// left: fs.inotify.max_user_instances).
//
// Thread safety: one thread (the watcher) owns a StoreWatch.
#ifndef REVFS_FUSEFS_STORE_WATCH_H_
#define REVFS_FUSEFS_STORE_WATCH_H_

#include <string>

namespace revfs::fusefs {

class StoreWatch {
 public:
  // Starts watching the store in directory `store_dir`.
  explicit StoreWatch(const std::string& store_dir);
  ~StoreWatch();
  StoreWatch(const StoreWatch&) = delete;
  StoreWatch& operator=(const StoreWatch&) = delete;

  // The descriptor to poll for POLLIN; -1 when polling instead.
  int fd() const { return fd_; }
  // Why the watch polls ("" when it does not).
  const std::string& polling_reason() const { return polling_reason_; }
  // Reads the pending events; returns whether any may concern the
  // superblock. Call when fd() is readable.
  bool Drain();

 private:
  void WatchFile();

  const std::string dir_;
  int fd_ = -1;
  int file_wd_ = -1;
  std::string polling_reason_;
};

// Names the filesystem type `f_type` (statfs) when inotify cannot see every
// change made on it (a network or FUSE filesystem); nullptr otherwise.
const char* RemoteFilesystemName(long f_type);

}  // namespace revfs::fusefs

#endif  // REVFS_FUSEFS_STORE_WATCH_H_
