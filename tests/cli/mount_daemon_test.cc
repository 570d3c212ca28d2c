// The daemon proves its own memory: on every way out — fusermount3 -u,
// SIGTERM, SIGINT — after reads that met damage (EIO) as well as clean
// ones, it clears its caches, finds every segment back in the pool and no
// pin held, says so, and exits 0 (the fixture's Unmount checks all three).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "cli/mount_fixture.h"

namespace revfs::testing {
namespace {

using MountDaemonTest = MountTest;

TEST_F(MountDaemonTest, EveryWayOutFindsEverySegmentBack) {
  ASSERT_EQ(Sh("cd " + src_ + " && head -c 3000000 /dev/urandom > big && mkdir d && "
               "for i in $(seq 1 30); do head -c $((i * 999)) /dev/urandom > d/f$i; done && "
               "head -c 200000 /dev/urandom > bad").code, 0);
  Commit(1);
  DamageFirstChunk(1, "bad");
  const std::string stop[] = {
      "fusermount3 -u " + mnt_,
      "pkill -TERM -f '[r]evfs mount " + store_ + " " + mnt_ + "'",
      "pkill -INT -f '[r]evfs mount " + store_ + " " + mnt_ + "'"};
  for (const std::string& how : stop) {
    SCOPED_TRACE(how);
    if (!Mount("cache_size=8M")) return;
    EXPECT_EQ(Sh("diff -r -x bad " + mnt_ + "/latest " + src_).code, 0);
    ShResult bad = Sh("cat " + mnt_ + "/latest/bad > /dev/null");
    EXPECT_NE(bad.out.find("Input/output error"), std::string::npos) << bad.out;
    EXPECT_EQ(Sh("cat " + mnt_ + "/.revfs/stats > /dev/null").code, 0);
    ASSERT_EQ(Sh(how).code, 0);
    Unmount();  // waits for the daemon: exit 0, "every segment back" logged
    EXPECT_FALSE(IsMountPoint(mnt_));
  }
}

// Ordinary concurrency never runs out of memory: six readers of files cut
// into 4 MiB chunks (a repeated byte never makes the chunker cut early) at
// once, with a 64 MiB cache and the prefetchers reading ahead of each, all
// get their exact bytes (a reader short of memory waits for pins to be
// released, and the pool has room for what every thread holds).
TEST_F(MountDaemonTest, SixReadersOfLargeChunksUnderA64MiBCache) {
  ASSERT_EQ(Sh("cd " + src_ + " && for c in a b c d e f; do "
               "head -c 25165824 /dev/zero | tr '\\0' $c > $c; done").code, 0);
  Commit(1);
  if (!Mount("cache_size=64M")) return;
  const std::string stats = Path("stats");
  ASSERT_EQ(Sh("sync; echo 3 > /proc/sys/vm/drop_caches").code, 0);
  ShResult r = Sh("for c in a b c d e f; do (cmp " + mnt_ + "/latest/$c " + src_ +
                  "/$c && echo ok) & done; wait");
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 6) << r.out;
  EXPECT_EQ(r.out, "ok\nok\nok\nok\nok\nok\n");
}

}  // namespace
}  // namespace revfs::testing
