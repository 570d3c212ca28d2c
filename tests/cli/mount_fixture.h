// MountTest: the fixture of every test on a real FUSE mount. Each test gets
// a fresh directory with an initialized store (store_), a source tree (src_)
// and a mount point (mnt_); Sh() runs a shell command under a deadline and
// collects its exit status and output; Mount() mounts the store (under
// CI=true a mount that cannot be made fails the test instead of skipping it).
//
// The daemon Mount() starts runs in the foreground as the test's child, its
// log in daemon-N.log: Unmount() (also run at teardown) unmounts, waits for
// it to exit and expects a clean exit — status 0 after its own check that
// every memory segment is back in the pool — and no sanitizer report (the
// sanitizers of every process a test starts write to sanitizer.* in the
// test's directory). At teardown nothing may be left mounted under the
// test's directory.
#ifndef REVFS_TESTS_CLI_MOUNT_FIXTURE_H_
#define REVFS_TESTS_CLI_MOUNT_FIXTURE_H_

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "revfs/tree.h"
#include "support/engine_test.h"
#include "support/fault_env.h"

namespace revfs::testing {

struct ShResult {
  int code = -1;
  std::string out;
};

inline std::string ReadWhole(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline bool IsMountPoint(const std::string& path) {
  // /proc/self/mounts escapes spaces as \040; test paths have none.
  std::ifstream mounts("/proc/self/mounts");
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream fields(line);
    std::string dev, where;
    fields >> dev >> where;
    if (where == path) return true;
  }
  return false;
}

class MountTest : public EngineTest {
 protected:
  // Commands that take longer than this are killed and fail the test: a
  // hung daemon fails one test, not the whole run.
  static constexpr int kShSeconds = 300;

  void SetUp() override {
    EngineTest::SetUp();
    store_ = Path("store");
    src_ = Path("src");
    mnt_ = Path("mnt");
    // Sanitizers read their options when a process starts: children only.
    for (const char* var : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"}) {
      const char* old = std::getenv(var);
      std::string value = old ? old : "";
      saved_env_.emplace_back(var, old ? std::optional<std::string>(value) : std::nullopt);
      value += (value.empty() ? "" : ":") + std::string("log_path=") + Path("sanitizer");
      ::setenv(var, value.c_str(), 1);
    }
    ASSERT_EQ(Sh("mkdir -p " + src_ + " " + mnt_ + " " + Path("ref")).code, 0);
    ASSERT_EQ(Sh(std::string(REVFS_BINARY) + " init " + store_).code, 0);
  }
  void TearDown() override {
    Unmount();
    WaitDaemonsGone();
    for (const auto& [var, old] : saved_env_) {
      if (old) {
        ::setenv(var.c_str(), old->c_str(), 1);
      } else {
        ::unsetenv(var.c_str());
      }
    }
    // Nothing mounted under this test's directory may outlive it.
    std::ifstream mounts("/proc/self/mounts");
    for (std::string line; std::getline(mounts, line);) {
      if (line.find(" " + dir().string() + "/") != std::string::npos) {
        ADD_FAILURE() << "left mounted: " << line;
        std::istringstream fields(line);
        std::string dev, where;
        fields >> dev >> where;
        Sh("fusermount3 -u -z " + where + " 2>/dev/null || umount -l " + where);
      }
    }
    ExpectNoSanitizerReport();
    EngineTest::TearDown();
  }

  // The number after `key` (a JSON member name, or a longer prefix such as
  // "lookup\":{\"count") in the mount's .revfs/stats; a failure, and 0, if
  // the stats do not have it.
  uint64_t StatsCounter(const std::string& key) {
    const std::string json = ReadWhole(mnt_ + "/.revfs/stats");
    const std::string k = "\"" + key + "\":";
    const size_t at = json.find(k);
    if (at == std::string::npos) {
      ADD_FAILURE() << "no " << k << " in .revfs/stats: " << json.substr(0, 200);
      return 0;
    }
    return std::stoull(json.substr(at + k.size()));
  }

  // Runs `cmd` with /bin/sh in a process group of its own, killed after
  // `seconds`; returns its exit status (-1 if killed) and its output.
  ShResult Sh(const std::string& cmd, int seconds = kShSeconds) {
    const std::string out = Path("sh.out");
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ShResult r;
    const int status = WaitFor(pid, seconds);
    if (status == kTimedOut) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      ADD_FAILURE() << "timed out after " << seconds << " s: " << cmd;
    } else {
      r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    r.out = ReadWhole(out);
    return r;
  }

  // Mounts the store with the daemon in the foreground; fails (under CI)
  // or skips when FUSE is not available.
  void DoMount(const std::string& opts) {
    mounted_ = false;
    daemon_log_ = Path("daemon-" + std::to_string(++daemons_) + ".log");
    const std::string cmd = "exec " + std::string(REVFS_BINARY) + " mount " + store_ + " " + mnt_ +
                            " -f" + (opts.empty() ? "" : " -o " + opts);
    daemon_ = ::fork();
    if (daemon_ == 0) {
      const int fd = ::open(daemon_log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 1000; ++i) {  // 10 s for the mount to appear
      if (IsMountPoint(mnt_)) {
        mounted_ = true;
        return;
      }
      int status = 0;
      if (::waitpid(daemon_, &status, WNOHANG) == daemon_) {
        daemon_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (daemon_ > 0) {  // neither mounted nor gone
      ::kill(daemon_, SIGKILL);
      ::waitpid(daemon_, nullptr, 0);
      daemon_ = -1;
    }
    const std::string why = ReadWhole(daemon_log_);
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") FAIL() << "cannot mount under CI: " << why;
    GTEST_SKIP() << "cannot mount here: " << why;
  }
  bool Mount(const std::string& opts = "") {
    DoMount(opts);
    return mounted_ && !IsSkipped() && !HasFatalFailure();
  }

  // Unmounts what Mount() mounted (if a signal has not already), waits for
  // the daemon to exit and expects a clean exit: status 0, and its check
  // that every segment is back in the pool logged.
  void Unmount() {
    if (IsMountPoint(mnt_)) {
      bool gone = false;
      for (int i = 0; i < 50 && !gone; ++i) {  // busy for a moment: retry
        gone = Sh("fusermount3 -u " + mnt_ + " 2>&1").code == 0 || !IsMountPoint(mnt_);
        if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!gone) {
        ADD_FAILURE() << mnt_ << " still busy after 5 s";
        Sh("fusermount3 -u -z " + mnt_);
      }
    }
    mounted_ = false;
    if (daemon_ <= 0) return;
    const int status = WaitFor(daemon_, 30);
    if (status == kTimedOut) {
      ::kill(daemon_, SIGKILL);
      ::waitpid(daemon_, nullptr, 0);
      ADD_FAILURE() << "the daemon did not exit within 30 s of its unmount";
    } else {
      const std::string log = ReadWhole(daemon_log_);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "daemon exit status " << status << "; its log:\n" << log;
      EXPECT_NE(log.find("every segment back in the pool, no pin held"), std::string::npos)
          << log;
    }
    daemon_ = -1;
  }

  // Waits for daemons of mnt_ started outside Mount() (mount -t fuse,
  // revfs mount without -f) to exit, once unmounted.
  void WaitDaemonsGone() {
    const std::string pattern = "[r]evfs .*" + mnt_;
    bool gone = false;
    for (int i = 0; i < 300 && !gone; ++i) {
      gone = Sh("pgrep -f '" + pattern + "'").code != 0;
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(gone) << "a daemon matching '" << pattern << "' is still running";
  }

  void ExpectNoSanitizerReport() {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir(), ec)) {
      if (e.path().filename().string().rfind("sanitizer", 0) == 0) {
        ADD_FAILURE() << "sanitizer report " << e.path() << ":\n" << ReadWhole(e.path());
      }
    }
  }

  // Flips a byte of the page of the first chunk of `path` in revision
  // `rev`: reading that file gives EIO from then on.
  void DamageFirstChunk(uint64_t rev, const std::string& path) {
    auto rs = Database::Open(store_, DatabaseOptions{});
    ASSERT_TRUE(rs.ok()) << rs.status().ToString();
    auto trx = (*rs)->BeginRead(rev);
    ASSERT_TRUE(trx.ok());
    auto file = ResolvePath(**trx, path);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    const PageRef& page = file->second.chunks.at(0).page;
    FlipByte(store_ + "/segments/0000000000", page.offset + page.size - 5);
  }

  // Records the source as the next revision and keeps a copy of it.
  void Commit(int rev) {
    ShResult r = Sh(std::string(REVFS_BINARY) + " commit " + store_ + " " + src_ + " -m r" +
                    std::to_string(rev));
    ASSERT_EQ(r.code, 0) << r.out;
    ASSERT_EQ(Sh("cp -a " + src_ + " " + Path("ref/") + std::to_string(rev)).code, 0);
  }

  std::string Listing(const std::string& dir) {
    return Sh("cd " + dir +
              " && find . ! -type d -printf '%p %y %m %U %G %s %T@ %n %l\\n' | sort && "
              "find . -type d -printf '%p %m %U %G %T@ %n\\n' | sort")
        .out;
  }

  std::string store_, src_, mnt_;
  bool mounted_ = false;

 private:
  static constexpr int kTimedOut = -1;
  // Waits up to `seconds` for child `pid`; returns its wait status.
  static int WaitFor(pid_t pid, int seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    auto nap = std::chrono::microseconds(200);
    while (true) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) return status;
      if (std::chrono::steady_clock::now() > deadline) return kTimedOut;
      std::this_thread::sleep_for(nap);
      nap = std::min(nap * 2, std::chrono::microseconds(20000));
    }
  }

  pid_t daemon_ = -1;
  int daemons_ = 0;
  std::string daemon_log_;
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_env_;
};

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

}  // namespace revfs::testing

#endif  // REVFS_TESTS_CLI_MOUNT_FIXTURE_H_
