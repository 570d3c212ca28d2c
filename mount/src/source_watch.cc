#include "source_watch.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace revfs::cli {
namespace {

constexpr uint32_t kInotifyMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE |
                                  IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF |
                                  IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK;
constexpr uint64_t kFanotifyMask = FAN_CREATE | FAN_DELETE | FAN_MODIFY | FAN_CLOSE_WRITE |
                                   FAN_MOVED_FROM | FAN_MOVED_TO | FAN_ATTRIB |
                                   FAN_DELETE_SELF | FAN_MOVE_SELF | FAN_ONDIR;

std::string Join(const std::string& rel, const std::string& name) {
  return rel.empty() ? name : rel + "/" + name;
}

// Undoes mountinfo's octal escapes ("\040" for a space).
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Returns a filesystem mounted strictly below `root`, or "".
std::string MountBelow(const std::string& root) {
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, base, point;
    fields >> id >> parent >> dev >> base >> point;
    point = Unescape(point);
    if (point.size() > root.size() && point.compare(0, root.size(), root) == 0 &&
        (root == "/" || point[root.size()] == '/')) {
      return point;
    }
  }
  return "";
}

}  // namespace

SourceWatch::SourceWatch(std::string root, int fd, bool fanotify)
    : root_(std::move(root)), fd_(fd), fanotify_(fanotify) {}

SourceWatch::~SourceWatch() {
  if (root_fd_ >= 0) ::close(root_fd_);
  ::close(fd_);
}

Result<std::unique_ptr<SourceWatch>> SourceWatch::Start(const std::string& root, Mechanism want) {
  std::string not_fanotify;
  if (want != Mechanism::kInotify) {
    const std::string below = MountBelow(root);
    int fd = -1;
    if (!below.empty()) {
      not_fanotify = "another filesystem is mounted at " + below;
    } else {
      fd = ::fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME |
                               FAN_UNLIMITED_QUEUE,
                           O_RDONLY | O_LARGEFILE);
      if (fd < 0) not_fanotify = std::string("fanotify_init: ") + std::strerror(errno);
    }
    if (fd >= 0 && ::fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, kFanotifyMask,
                                   AT_FDCWD, root.c_str()) != 0) {
      not_fanotify = std::string("fanotify_mark: ") + std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
    if (fd >= 0) {
      std::unique_ptr<SourceWatch> w(new SourceWatch(root, fd, true));
      w->root_fd_ = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (w->root_fd_ < 0) return Status::FromErrno(errno, root);
      w->description_ = "fanotify (a filesystem mark, FAN_REPORT_DFID_NAME, unlimited queue)";
      return w;
    }
    if (want == Mechanism::kFanotify) {
      return Status::NotSupported("fanotify: " + not_fanotify);
    }
  }
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "inotify_init1");
  std::unique_ptr<SourceWatch> w(new SourceWatch(root, fd, false));
  SourceChanges ignored;
  w->AddTree("", &ignored);
  if (w->wd_path_.empty()) return Status::IOError(root + ": cannot watch: " + ignored.why);
  w->description_ = "inotify (" + std::to_string(w->wd_path_.size()) + " directories watched" +
                    (ignored.full ? "; " + ignored.why : "") + ")";
  if (!not_fanotify.empty()) w->description_ += "; not fanotify: " + not_fanotify;
  if (ignored.full) w->description_ += "; every commit walks the whole tree";
  return w;
}

void SourceWatch::AddTree(const std::string& top, SourceChanges* out) {
  std::vector<std::string> stack{top};
  while (!stack.empty()) {
    const std::string rel = std::move(stack.back());
    stack.pop_back();
    const std::string path = rel.empty() ? root_ : root_ + "/" + rel;
    int wd = ::inotify_add_watch(fd_, path.c_str(), kInotifyMask);
    if (wd < 0) {
      if (errno == ENOSPC) {
        degraded_ = true;
        out->full = true;
        out->why = "inotify watch limit reached (fs.inotify.max_user_watches)";
        return;
      }
      continue;  // gone or not a directory any more: its parent reports it
    }
    wd_path_[wd] = rel;
    DIR* d = ::opendir(path.c_str());
    if (!d) continue;
    while (struct dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      bool dir = e->d_type == DT_DIR;
      if (e->d_type == DT_UNKNOWN) {
        struct stat st;
        dir = ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
              S_ISDIR(st.st_mode);
      }
      if (dir) stack.push_back(Join(rel, name));
    }
    ::closedir(d);
  }
}

void SourceWatch::RemoveTree(const std::string& rel) {
  const std::string prefix = rel + "/";
  for (auto it = wd_path_.begin(); it != wd_path_.end();) {
    if (it->second == rel || it->second.compare(0, prefix.size(), prefix) == 0) {
      ::inotify_rm_watch(fd_, it->first);
      it = wd_path_.erase(it);
    } else {
      ++it;
    }
  }
}

void SourceWatch::Rewatch() {
  if (fanotify_) return;
  degraded_ = false;
  SourceChanges ignored;
  AddTree("", &ignored);  // sets degraded_ again if the limit is still reached
}

Status SourceWatch::Read(SourceChanges* out) {
  return fanotify_ ? ReadFanotify(out) : ReadInotify(out);
}

Status SourceWatch::ReadInotify(SourceChanges* out) {
  alignas(struct inotify_event) char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EAGAIN) return Status::OK();
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "inotify");
    }
    for (char* p = buf; p < buf + n;) {
      const auto* ev = reinterpret_cast<const struct inotify_event*>(p);
      p += sizeof(struct inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        out->full = true;
        out->why = "the event queue overflowed";
        continue;
      }
      auto it = wd_path_.find(ev->wd);
      if (it == wd_path_.end()) continue;  // a watch just removed
      if (ev->mask & IN_IGNORED) {
        wd_path_.erase(it);
        continue;
      }
      const std::string rel = it->second;
      if (ev->len == 0) {  // the directory itself
        if ((ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) && rel.empty()) {
          out->full = true;
          out->why = "the watched directory itself was moved or deleted";
        }
        continue;  // otherwise its parent reports it by name
      }
      const std::string child = Join(rel, ev->name);
      if (ev->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)) {
        out->changed.dirs.insert(rel);
      } else {
        out->changed.entries.insert(child);
      }
      ++out->events;
      if (degraded_ && !out->full) {  // some directories are not watched
        out->full = true;
        out->why = "inotify watch limit reached (fs.inotify.max_user_watches)";
      }
      if (ev->mask & IN_ISDIR) {
        if (ev->mask & IN_MOVED_FROM) RemoveTree(child);
        if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
          out->changed.subtrees.insert(child);
          AddTree(child, out);
        }
      }
    }
  }
}

bool SourceWatch::HandlePath(const std::string& handle, std::string* rel) {
  auto cached = handle_cache_.find(handle);
  if (cached == handle_cache_.end()) {
    std::string path = "\n";
    std::string copy = handle;  // open_by_handle_at wants it writable
    int fd = ::open_by_handle_at(root_fd_, reinterpret_cast<struct file_handle*>(copy.data()),
                                 O_PATH | O_CLOEXEC);
    if (fd >= 0) {
      char buf[4096];
      ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof(buf));
      ::close(fd);
      std::string p = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
      if (p == root_) {
        path = "";
      } else if (p.size() > root_.size() && p.compare(0, root_.size(), root_) == 0 &&
                 (root_ == "/" || p[root_.size()] == '/')) {
        path = p.substr(root_ == "/" ? 1 : root_.size() + 1);
      }
    }
    if (handle_cache_.size() > 100000) handle_cache_.clear();
    cached = handle_cache_.emplace(handle, path).first;
  }
  if (cached->second == "\n") return false;
  *rel = cached->second;
  return true;
}

Status SourceWatch::ReadFanotify(SourceChanges* out) {
  alignas(struct fanotify_event_metadata) static char buf[256 * 1024];
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EAGAIN) return Status::OK();
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "fanotify");
    }
    // Records are 4-byte aligned at most (their lengths are not multiples
    // of 8): every header is copied out before it is read.
    const size_t got = static_cast<size_t>(n);
    for (size_t off = 0; off + sizeof(struct fanotify_event_metadata) <= got;) {
      struct fanotify_event_metadata ev;
      std::memcpy(&ev, buf + off, sizeof(ev));
      if (ev.event_len < sizeof(ev) || ev.metadata_len > ev.event_len ||
          off + ev.event_len > got) {
        break;
      }
      const char* base = buf + off;
      off += ev.event_len;
      if (ev.mask & FAN_Q_OVERFLOW) {
        out->full = true;
        out->why = "the event queue overflowed";
        continue;
      }
      // A directory moved or gone: cached paths may be stale.
      if ((ev.mask & FAN_ONDIR) &&
          (ev.mask & (FAN_MOVED_FROM | FAN_MOVED_TO | FAN_DELETE | FAN_DELETE_SELF |
                      FAN_MOVE_SELF))) {
        handle_cache_.clear();
      }
      for (size_t i = ev.metadata_len;
           i + sizeof(struct fanotify_event_info_header) <= ev.event_len;) {
        struct fanotify_event_info_header hdr;
        std::memcpy(&hdr, base + i, sizeof(hdr));
        if (hdr.len == 0 || i + hdr.len > ev.event_len) break;
        const char* info = base + i;
        i += hdr.len;
        if (hdr.info_type != FAN_EVENT_INFO_TYPE_DFID_NAME &&
            hdr.info_type != FAN_EVENT_INFO_TYPE_DFID) {
          continue;
        }
        const size_t fh_at = offsetof(struct fanotify_event_info_fid, handle);
        if (fh_at + sizeof(struct file_handle) > hdr.len) continue;
        struct file_handle fh;
        std::memcpy(&fh, info + fh_at, sizeof(fh));
        if (fh_at + sizeof(fh) + fh.handle_bytes > hdr.len) continue;
        const std::string handle(info + fh_at, sizeof(fh) + fh.handle_bytes);
        std::string rel;
        if (!HandlePath(handle, &rel)) continue;
        ++out->events;
        const char* name = hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME
                               ? info + fh_at + sizeof(fh) + fh.handle_bytes
                               : ".";
        const bool named = std::strcmp(name, ".") != 0;
        if (!named || (ev.mask & (FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO))) {
          out->changed.dirs.insert(rel);
        } else {
          out->changed.entries.insert(Join(rel, name));
        }
        if (named && (ev.mask & FAN_ONDIR) && (ev.mask & (FAN_CREATE | FAN_MOVED_TO))) {
          out->changed.subtrees.insert(Join(rel, name));
        }
      }
    }
  }
}

}  // namespace revfs::cli
