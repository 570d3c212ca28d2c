// revfs upgrade of format-2 stores with history (engine/FORMAT.md,
// "Upgrade from format 2"), on stores the format-2 program wrote
// (tests/fixtures/format2: one of sliding and one of incremental
// versioning, five revisions of every kind of entry and change, and the
// manifest of each revision's source tree). After the upgrade every
// revision reads exactly as its source through the mount, verify is clean,
// commits, diff, forget and prune work on the old content.
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "mount_fixture.h"
#include "revfs/store.h"

namespace revfs::testing {
namespace {

const std::string kRevfs = REVFS_BINARY;
const std::string kFixtures = std::string(REVFS_FIXTURES) + "/format2";

class UpgradeTest : public MountTest {
 protected:
  // Unpacks the fixture and points store_ at its store of `versioning`.
  void Unpack(const std::string& versioning) {
    ASSERT_EQ(Sh("mkdir -p " + Path("f2") + " && tar -C " + Path("f2") + " -xzf " + kFixtures +
                 "/stores.tar.gz")
                  .code,
              0);
    store_ = Path("f2/" + versioning);
  }
  std::string Manifest(const std::string& dir) {
    ShResult r = Sh("sh " + kFixtures + "/manifest.sh " + dir);
    EXPECT_EQ(r.code, 0) << r.out;
    return r.out;
  }
  std::string Expected(int revision) {
    return ReadWhole(Path("f2/manifests/" + std::to_string(revision)));
  }
  // Mounts the store and compares revisions `revisions` with `expected`.
  void ExpectRevisions(const std::vector<int>& revisions,
                       const std::function<std::string(int)>& expected) {
    if (!Mount()) return;
    for (int r : revisions) {
      const std::string want = expected(r);
      ASSERT_FALSE(want.empty());
      EXPECT_EQ(Manifest(mnt_ + "/revisions/" + std::to_string(r)), want) << "revision " << r;
    }
    Unmount();
  }
};

class UpgradeEveryVersioning : public UpgradeTest,
                               public ::testing::WithParamInterface<std::string> {};

TEST_P(UpgradeEveryVersioning, HistoryReadsExactlyAndTheStoreGoesOn) {
  ASSERT_NO_FATAL_FAILURE(Unpack(GetParam()));
  ShResult refused = Sh(kRevfs + " log " + store_);
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.out.find("store format 2 is older than this program (format 3); run `revfs "
                             "upgrade " + store_ + "`"),
            std::string::npos)
      << refused.out;

  ShResult up = Sh(kRevfs + " upgrade " + store_);
  ASSERT_EQ(up.code, 0) << up.out;
  EXPECT_NE(up.out.find("upgraded " + store_ + " from format 2 to 3 (6 revisions"),
            std::string::npos)
      << up.out;
  // 300 files and more, each a chunk: format 2's index held buckets and log
  // records, and they left the latest revision.
  const size_t semi = up.out.find("; ");
  ASSERT_NE(semi, std::string::npos) << up.out;
  EXPECT_GT(std::stoull(up.out.substr(semi + 2)), 1u) << up.out;
  EXPECT_NE(up.out.find("chunk index records of format 2 dropped; "), std::string::npos) << up.out;
  EXPECT_NE(up.out.find(" history entries)"), std::string::npos) << up.out;
  EXPECT_EQ((*Store::Open(store_, {}))->superblock().flags, 0u);
  ShResult verify = Sh(kRevfs + " verify " + store_);
  EXPECT_EQ(verify.code, 0) << verify.out;
  ShResult again = Sh(kRevfs + " upgrade " + store_);
  EXPECT_EQ(again.code, 0) << again.out;
  EXPECT_NE(again.out.find("already of format 3; nothing to do"), std::string::npos) << again.out;

  // Every revision as its source was, through the mount; and a copy of the
  // latest (every file new to stat) with one file edited in place.
  const std::string copy = Path("copy");
  if (!Mount()) return;
  for (int r = 1; r <= 5; ++r) {
    EXPECT_EQ(Manifest(mnt_ + "/revisions/" + std::to_string(r)), Expected(r)) << "revision " << r;
  }
  ASSERT_EQ(Sh("cp -a " + mnt_ + "/revisions/5 " + copy).code, 0);
  Unmount();
  ShResult edit = Sh("printf EDITED | dd of=" + copy +
                     "/docs/text.txt bs=1 seek=100 conv=notrunc status=none");
  ASSERT_EQ(edit.code, 0) << edit.out;
  ShResult commit = Sh(kRevfs + " commit " + store_ + " " + copy + " -m after");
  ASSERT_EQ(commit.code, 0) << commit.out;
  // Format-2 and SHA-256 content compared by bytes: only the edit shows.
  EXPECT_EQ(Sh(kRevfs + " diff " + store_ + " 5 6").out, "M docs/text.txt\n");
  const std::string copy_manifest = Manifest(copy);
  ShResult unchanged = Sh(kRevfs + " commit " + store_ + " " + copy + " -m unchanged");
  ASSERT_EQ(unchanged.code, 0) << unchanged.out;
  EXPECT_EQ(Sh(kRevfs + " diff " + store_ + " 6 7").out, "");

  // Forget the oldest format-2 revisions and prune: the rest stay exact.
  ShResult forget = Sh(kRevfs + " forget " + store_ + " 1 2 3");
  ASSERT_EQ(forget.code, 0) << forget.out;
  ShResult prune = Sh(kRevfs + " prune " + store_ + " --max-unused 0");
  ASSERT_EQ(prune.code, 0) << prune.out;
  verify = Sh(kRevfs + " verify " + store_);
  EXPECT_EQ(verify.code, 0) << verify.out;
  ExpectRevisions({4, 5, 6, 7}, [&](int r) { return r <= 5 ? Expected(r) : copy_manifest; });
}

INSTANTIATE_TEST_SUITE_P(Versionings, UpgradeEveryVersioning,
                         ::testing::Values("sliding", "incremental"));

TEST_F(UpgradeTest, AnUnfinishedUpgradeKeepsCommitsOffTheOldIndexAndARerunFinishes) {
  ASSERT_NO_FATAL_FAILURE(Unpack("sliding"));
  // Killed after the superblock switch, before the index reset: the store
  // reads as format 3 with the flag set.
  UpgradeReport report;
  ASSERT_TRUE(Store::Upgrade(store_, {}, &report).ok());
  EXPECT_EQ((*Store::Open(store_, {}))->superblock().flags, kFlagFormat2Index);
  if (!Mount()) return;
  EXPECT_EQ(Manifest(mnt_ + "/revisions/5"), Expected(5));
  Unmount();
  ASSERT_EQ(Sh("mkdir -p " + src_ + " && echo new content > " + src_ + "/a").code, 0);
  ShResult commit = Sh(kRevfs + " commit " + store_ + " " + src_);
  EXPECT_EQ(commit.code, 1);
  EXPECT_NE(commit.out.find(store_ + ": its chunk index is still format 2's; run `revfs upgrade " +
                            store_ + "` to finish the upgrade"),
            std::string::npos)
      << commit.out;
  EXPECT_EQ(std::count(commit.out.begin(), commit.out.end(), '\n'), 1) << commit.out;

  ShResult up = Sh(kRevfs + " upgrade " + store_);
  ASSERT_EQ(up.code, 0) << up.out;
  EXPECT_NE(up.out.find("finished the upgrade of " + store_ + " to format 3"), std::string::npos)
      << up.out;
  commit = Sh(kRevfs + " commit " + store_ + " " + src_);
  ASSERT_EQ(commit.code, 0) << commit.out;
  EXPECT_EQ(Sh(kRevfs + " cat " + store_ + " 6 a").out, "new content\n");
  EXPECT_EQ(Sh(kRevfs + " verify " + store_).code, 0);
}

}  // namespace
}  // namespace revfs::testing
