#include "daemon.h"

#include <fcntl.h>
#include <unistd.h>

#include "cli.h"

namespace revfs::cli {

ReadyPipe::~ReadyPipe() {
  if (fd_ >= 0) ::close(fd_);
}

ReadyPipe& ReadyPipe::operator=(ReadyPipe&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void ReadyPipe::Ready(const Status& s) {
  if (fd_ < 0) return;
  const std::string msg = s.ok() ? "OK" : std::string(s.message());
  if (::write(fd_, msg.data(), msg.size()) < 0) {}
  ::close(fd_);
  fd_ = -1;
}

std::optional<int> Detach(const std::string& what, const std::string& before, ReadyPipe* ready) {
  int fds[2];
  // Close-on-exec: a helper the daemon runs and that stays (fusermount3
  // with auto_unmount) must not hold the pipe open, or the parent waits.
  if (::pipe2(fds, O_CLOEXEC) != 0) return Fail(what, "pipe failed");
  pid_t pid = ::fork();
  if (pid < 0) return Fail(what, "fork failed");
  if (pid > 0) {  // the parent: wait for the child's word
    ::close(fds[1]);
    std::string msg;
    char buf[512];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) msg.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    if (msg == "OK") return kExitOk;
    if (msg.empty()) return Fail(what, "the daemon exited before " + before);
    return Fail(Status::IOError(msg));
  }
  ::close(fds[0]);
  *ready = ReadyPipe(fds[1]);
  ::setsid();
  if (::chdir("/") != 0) {}
  int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    if (null > 2) ::close(null);
  }
  return std::nullopt;
}

}  // namespace revfs::cli
