// Detaching a daemon that reports back: `revfs mount` and `revfs watch`
// fork; the parent waits on a pipe until the child says it is ready (the
// mount answers, the first revision is made) or why it failed, and exits
// with that outcome, so the shell sees a daemon that works or one line of
// error. The child starts a session, leaves the working directory and
// points stdin, stdout and stderr at /dev/null.
//
// Thread safety: Detach runs before any thread is started.
#ifndef REVFS_MOUNT_DAEMON_H_
#define REVFS_MOUNT_DAEMON_H_

#include <optional>
#include <string>
#include <utility>

#include "revfs/status.h"

namespace revfs::cli {

// The child's end of the readiness pipe: Ready tells the parent once.
class ReadyPipe {
 public:
  ReadyPipe() = default;
  explicit ReadyPipe(int fd) : fd_(fd) {}
  ReadyPipe(ReadyPipe&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ReadyPipe& operator=(ReadyPipe&& other) noexcept;
  ~ReadyPipe();

  // Tells the parent `s` ("OK" or its message) and closes the pipe; later
  // calls do nothing, as does a pipe of a foreground run.
  void Ready(const Status& s);

 private:
  int fd_ = -1;
};

// Forks. In the parent, returns the exit code to leave with once the child
// reported (or exited: "`what`: the daemon exited before `before`"); in the
// child, returns nullopt with `*ready` holding the pipe's write end.
std::optional<int> Detach(const std::string& what, const std::string& before, ReadyPipe* ready);

}  // namespace revfs::cli

#endif  // REVFS_MOUNT_DAEMON_H_
