// MountTest: the fixture of every test on a real FUSE mount. Each test gets
// a fresh directory with an initialized store (store_), a source tree (src_)
// and a mount point (mnt_); Sh() runs a shell command and collects its exit
// status and output; Mount() mounts the store (under CI=true a mount that
// cannot be made fails the test instead of skipping it).
#ifndef REVFS_TESTS_CLI_MOUNT_FIXTURE_H_
#define REVFS_TESTS_CLI_MOUNT_FIXTURE_H_

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "support/engine_test.h"

namespace revfs::testing {

struct ShResult {
  int code = -1;
  std::string out;
};

class MountTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    store_ = Path("store");
    src_ = Path("src");
    mnt_ = Path("mnt");
    ASSERT_EQ(Sh("mkdir -p " + src_ + " " + mnt_ + " " + Path("ref")).code, 0);
    ASSERT_EQ(Sh(std::string(REVFS_BINARY) + " init " + store_).code, 0);
  }
  void TearDown() override {
    Sh("fusermount3 -u -z " + mnt_ + " 2>/dev/null");
    EngineTest::TearDown();
  }

  ShResult Sh(const std::string& cmd) {
    std::string out = Path("sh.out");
    int status = std::system(("(" + cmd + ") > " + out + " 2>&1").c_str());
    ShResult r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream f(out);
    std::stringstream ss;
    ss << f.rdbuf();
    r.out = ss.str();
    return r;
  }

  // Mounts the store; fails (under CI) or skips when FUSE is not available.
  void DoMount(const std::string& opts) {
    mounted_ = false;
    ShResult r = Sh(std::string(REVFS_BINARY) + " mount " + store_ + " " + mnt_ +
                    (opts.empty() ? "" : " -o " + opts));
    if (r.code == 0) {
      mounted_ = true;
      return;
    }
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") FAIL() << "cannot mount under CI: " << r.out;
    GTEST_SKIP() << "cannot mount here: " << r.out;
  }
  bool Mount(const std::string& opts = "") {
    DoMount(opts);
    return mounted_ && !IsSkipped() && !HasFatalFailure();
  }
  bool mounted_ = false;

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
};

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

}  // namespace revfs::testing

#endif  // REVFS_TESTS_CLI_MOUNT_FIXTURE_H_
