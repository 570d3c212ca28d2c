// XattrSourceDir: a directory for source trees whose extended attributes
// are as large as Linux allows (64 KiB values, hundreds of names). The
// test's own directory when its filesystem takes a 64 KiB user.* value
// (XFS, ext4 with ea_inode, tmpfs), else a fresh directory under /dev/shm
// (tmpfs keeps user.* attributes since Linux 6.6), removed by the
// destructor. ok() false (with why()) when neither does: the tests that
// need one fail then, they are not skipped.
#ifndef REVFS_TESTS_SUPPORT_XATTR_SOURCE_H_
#define REVFS_TESTS_SUPPORT_XATTR_SOURCE_H_

#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace revfs::testing {

class XattrSourceDir {
 public:
  // Makes `preferred` (a path that does not exist yet) if its filesystem
  // will do, else a directory on tmpfs.
  explicit XattrSourceDir(const std::string& preferred) {
    if (Try(preferred)) return;
    static int counter = 0;
    const std::string shm = "/dev/shm/revfs-xattr-" + std::to_string(::getpid()) + "-" +
                            std::to_string(++counter);
    if (Try(shm)) {
      owned_ = true;
      return;
    }
    path_.clear();
  }
  ~XattrSourceDir() {
    std::error_code ec;
    if (owned_) std::filesystem::remove_all(path_, ec);
  }
  XattrSourceDir(const XattrSourceDir&) = delete;
  XattrSourceDir& operator=(const XattrSourceDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  const std::string& why() const { return why_; }

 private:
  bool Try(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      why_ += dir + ": " + ec.message() + "; ";
      return false;
    }
    const std::string value(65536, 'p');
    if (::setxattr(dir.c_str(), "user.revfs.probe", value.data(), value.size(), 0) != 0) {
      why_ += dir + ": a 64 KiB user.* attribute: " + std::strerror(errno) + "; ";
      std::filesystem::remove_all(dir, ec);
      return false;
    }
    ::removexattr(dir.c_str(), "user.revfs.probe");
    path_ = dir;
    return true;
  }

  std::string path_, why_;
  bool owned_ = false;
};

}  // namespace revfs::testing

#endif  // REVFS_TESTS_SUPPORT_XATTR_SOURCE_H_
