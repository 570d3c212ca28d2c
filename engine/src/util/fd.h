// Internal to the engine: UniqueFd owns a file descriptor and closes it on
// destruction (the Env's files, and the source directory a capture walks).
#ifndef REVFS_UTIL_FD_H_
#define REVFS_UTIL_FD_H_

#include <unistd.h>

namespace revfs {

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  // Closes the descriptor held first.
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = other.Release();
    }
    return *this;
  }
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Gives up ownership and returns the descriptor.
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

}  // namespace revfs

#endif  // REVFS_UTIL_FD_H_
