#include "store_watch.h"

#include <errno.h>
#include <sys/inotify.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstring>

namespace revfs::fusefs {
namespace {

constexpr const char kSuperblock[] = "superblock";

// Events on the superblock file itself: a slot written (IN_MODIFY), the
// writer done (IN_CLOSE_WRITE), the file gone or replaced (the watch then
// ends with IN_IGNORED).
constexpr uint32_t kFileEvents =
    IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
// Events in the store's directory: only a superblock put in place anew.
constexpr uint32_t kDirEvents = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR;

}  // namespace

const char* RemoteFilesystemName(long f_type) {
  // Magic numbers from linux/magic.h and the filesystems' own sources.
  switch (static_cast<unsigned long>(f_type) & 0xffffffffUL) {
    case 0x6969: return "NFS";
    case 0x517B: return "SMB";
    case 0xFF534D42: return "CIFS";
    case 0xFE534D42: return "SMB2";
    case 0x00C36400: return "Ceph";
    case 0x01021997: return "9p";
    case 0x5346414F: return "AFS";
    case 0x6B414653: return "AFS";  // kAFS
    case 0x65735546: return "FUSE";
    case 0x0BD00BD0: return "Lustre";
    case 0x7461636F: return "OCFS2";
    case 0x01161970: return "GFS2";
    case 0x73757245: return "Coda";
    case 0x564C: return "NCP";
    case 0x47504653: return "GPFS";
    case 0x19830326: return "BeeGFS";
    default: return nullptr;
  }
}

StoreWatch::StoreWatch(const std::string& store_dir) : dir_(store_dir) {
  struct statfs sfs;
  if (::statfs(dir_.c_str(), &sfs) == 0) {
    if (const char* name = RemoteFilesystemName(static_cast<long>(sfs.f_type))) {
      polling_reason_ = std::string("the store is on ") + name +
                        ", where inotify does not see other hosts' commits";
      return;
    }
  }
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    polling_reason_ = std::string("inotify: ") + std::strerror(errno);
    return;
  }
  if (::inotify_add_watch(fd_, dir_.c_str(), kDirEvents) < 0) {
    polling_reason_ = std::string("inotify on the store: ") + std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    return;
  }
  WatchFile();
  if (file_wd_ < 0) {
    polling_reason_ = std::string("inotify on the superblock: ") + std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
  }
}

StoreWatch::~StoreWatch() {
  if (fd_ >= 0) ::close(fd_);
}

void StoreWatch::WatchFile() {
  file_wd_ = ::inotify_add_watch(fd_, (dir_ + "/" + kSuperblock).c_str(), kFileEvents);
}

bool StoreWatch::Drain() {
  bool changed = false;
  alignas(inotify_event) char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n <= 0) break;  // EAGAIN: all read
    for (ssize_t i = 0; i < n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buf + i);
      i += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      if (e->mask & IN_Q_OVERFLOW) {
        changed = true;
      } else if (e->wd == file_wd_) {
        changed = true;
        if (e->mask & IN_IGNORED) file_wd_ = -1;
      } else if (e->len > 0 && std::strcmp(e->name, kSuperblock) == 0) {
        changed = true;
        WatchFile();  // the new file: the old watch ends or watched the old one
      }
    }
  }
  if (file_wd_ < 0) WatchFile();
  return changed;
}

}  // namespace revfs::fusefs
