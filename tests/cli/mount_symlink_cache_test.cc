// Symlink targets on a real mount are cached by the kernel: resolving many
// paths through latest/ asks the daemon for latest's target once, and a
// commit still moves latest at once (the daemon drops the cached target).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "cli/mount_fixture.h"

namespace revfs::testing {
namespace {

using MountSymlinkCacheTest = MountTest;

uint64_t Readlinks(const std::string& stats_json) {
  const std::string k = "\"readlink\":{\"count\":";
  const size_t at = stats_json.find(k);
  return at == std::string::npos ? ~uint64_t{0} : std::stoull(stats_json.substr(at + k.size()));
}

TEST_F(MountSymlinkCacheTest, LatestIsReadOnceAndMovesWithACommit) {
  ASSERT_EQ(Sh("mkdir " + src_ + "/d && cd " + src_ + "/d && for i in $(seq 1 200); do "
               "echo $i > f$i; done").code, 0);
  Commit(1);
  if (!Mount()) return;
  const uint64_t before = Readlinks(ReadWhole(mnt_ + "/.revfs/stats"));
  // ls -l by path: each of the 200 stats resolves latest/ again.
  ShResult ls = Sh("ls -l " + mnt_ + "/latest/d/ | wc -l");
  ASSERT_EQ(ls.code, 0);
  EXPECT_EQ(ls.out, "201\n");
  const uint64_t after = Readlinks(ReadWhole(mnt_ + "/.revfs/stats"));
  EXPECT_LE(after - before, 2u) << "latest's target was asked for per path";
  EXPECT_EQ(Sh("readlink " + mnt_ + "/latest").out, "revisions/1\n");
  ASSERT_EQ(Sh("echo new > " + src_ + "/d/new").code, 0);
  Commit(2);
  // The watcher drops the cached target when the commit lands (inotify).
  std::string target;
  for (int i = 0; i < 100; ++i) {
    target = Sh("readlink " + mnt_ + "/latest").out;
    if (target == "revisions/2\n") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(target, "revisions/2\n");
  EXPECT_EQ(Sh("cat " + mnt_ + "/latest/d/new").out, "new\n");
}

}  // namespace
}  // namespace revfs::testing
