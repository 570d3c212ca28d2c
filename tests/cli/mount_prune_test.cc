// forget and prune while the store is mounted: readers of kept revisions
// read the right bytes before, during and after (the daemon keeps the
// segment files it opened), the mount drops the forgotten revisions once
// it sees the switch, the segment files shrink, and prune and a writer
// exclude each other with one line.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/mount_fixture.h"
#include "support/json_number.h"

namespace revfs::testing {
namespace {

namespace fs = std::filesystem;

std::string Bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

uint64_t SegmentBytes(const std::string& store) {
  uint64_t total = 0;
  for (const auto& de : fs::directory_iterator(store + "/segments")) total += de.file_size();
  return total;
}

class MountPruneTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    ASSERT_EQ(Sh("rm -rf " + store_ + " && " + REVFS_BINARY + " init " + store_ +
                 " --segment-size 64K")
                  .code,
              0);
    ASSERT_EQ(Sh("mkdir -p " + src_ + "/d").code, 0);
    for (int r = 1; r <= 10; ++r) {
      // A file of random bytes of its own, and shared text edited a little.
      ASSERT_EQ(Sh("rm -f " + src_ + "/own-* && head -c 120000 /dev/urandom > " + src_ +
                   "/own-" + std::to_string(r) + " && seq " + std::to_string(2000 + r) +
                   " > " + src_ + "/d/text")
                    .code,
                0);
      ASSERT_NO_FATAL_FAILURE(Commit(r));
    }
  }

  // Every regular file of revision `r` through the mount equals its copy.
  bool RevisionReadsRight(int r) {
    const std::string ref = Path("ref/") + std::to_string(r);
    for (const auto& de : fs::recursive_directory_iterator(ref)) {
      if (!de.is_regular_file()) continue;
      const std::string rel = de.path().string().substr(ref.size());
      const std::string got = Bytes(mnt_ + "/revisions/" + std::to_string(r) + rel);
      if (got != Bytes(de.path().string())) return false;
    }
    return true;
  }
};

TEST_F(MountPruneTest, ReadersOfKeptRevisionsReadRightWhileForgetAndPruneRun) {
  if (!Mount()) return;
  const uint64_t before = SegmentBytes(store_);
  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0}, wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 8; ++t) {  // 8 readers over the 5 kept revisions
    readers.emplace_back([&, t] {
      while (!stop.load()) {
        for (int i = 0; i < 5; ++i) {
          if (!RevisionReadsRight(2 + 2 * ((t + i) % 5))) ++wrong;
        }
        ++rounds;
      }
    });
  }
  ShResult forget = Sh(std::string(REVFS_BINARY) + " forget " + store_ + " 1 3 5 7 9");
  EXPECT_EQ(forget.code, 0) << forget.out;
  ShResult prune = Sh(std::string(REVFS_BINARY) + " prune " + store_ + " --max-unused 0");
  EXPECT_EQ(prune.code, 0) << prune.out;
  EXPECT_NE(prune.out.find("revisions kept"), std::string::npos) << prune.out;
  // The kept revisions after a forgotten one were rewritten under the
  // readers (engine/FORMAT.md, "Re-versioning the kept revisions").
  EXPECT_NE(prune.out.find("forgotten, 5 rewritten)"), std::string::npos) << prune.out;
  const int during = rounds.load();
  while (rounds.load() < during + 8) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(wrong.load(), 0) << "of " << rounds.load() << " rounds of reads";
  // 5 x 120,000 random bytes were only the forgotten revisions'.
  EXPECT_LT(SegmentBytes(store_) + 500'000, before);

  // The mount drops the forgotten revisions and reads the kept ones from
  // the packed segments; a commit after prune shows up too.
  ASSERT_NO_FATAL_FAILURE(Commit(11));
  std::string listing;
  for (int i = 0; i < 200 && listing != "0\n10\n11\n2\n4\n6\n8\n"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    listing = Sh("ls " + mnt_ + "/revisions | sort").out;
  }
  EXPECT_EQ(listing, "0\n10\n11\n2\n4\n6\n8\n");
  for (int r : {2, 4, 6, 8, 10, 11}) {
    EXPECT_EQ(Sh("diff -r " + mnt_ + "/revisions/" + std::to_string(r) + " " + Path("ref/") +
                 std::to_string(r))
                  .code,
              0)
        << "revision " << r;
  }
  EXPECT_EQ(Sh("test -e " + mnt_ + "/revisions/3").code, 1);
  ShResult verify = Sh(std::string(REVFS_BINARY) + " verify " + store_);
  EXPECT_EQ(verify.code, 0) << verify.out;
}

TEST_F(MountPruneTest, StatsSayWhereTheSpaceGoesAsLogDoes) {
  if (!Mount()) return;
  auto space = [&](const std::string& json, const std::string& key) {
    return JsonNumber(json, key, json.find("\"space\""));
  };
  const std::string stats = Bytes(mnt_ + "/.revfs/stats");
  const std::string log = Sh(std::string(REVFS_BINARY) + " log " + store_ + " --json").out;
  for (const char* key : {"store_bytes", "live_bytes", "shared_bytes", "alone_bytes",
                          "bookkeeping_bytes", "dead_bytes"}) {
    EXPECT_EQ(space(stats, key), space(log, key)) << key << "\n" << stats << "\n" << log;
  }
  EXPECT_GE(JsonNumber(stats, "3", stats.find("\"space\"")), 120000);  // its own file

  // Forgotten while mounted: the daemon's next stats count 3's bytes dead;
  // pruned, they are gone.
  const long long dead = space(stats, "dead_bytes");
  ASSERT_EQ(Sh(std::string(REVFS_BINARY) + " forget " + store_ + " 3").code, 0);
  long long now = dead;
  for (int i = 0; i < 200 && now < dead + 120000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    now = space(Bytes(mnt_ + "/.revfs/stats"), "dead_bytes");
  }
  EXPECT_GE(now, dead + 120000);
  ASSERT_EQ(Sh(std::string(REVFS_BINARY) + " prune " + store_ + " --max-unused 0").code, 0);
  for (int i = 0; i < 200 && now >= dead + 120000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    now = space(Bytes(mnt_ + "/.revfs/stats"), "dead_bytes");
  }
  EXPECT_LT(now, dead + 120000);
}

TEST_F(MountPruneTest, PruneAndAWriterExcludeEachOtherWithOneLine) {
  ASSERT_EQ(Sh(std::string(REVFS_BINARY) + " forget " + store_ + " 1 2").code, 0);
  {
    DatabaseOptions o;
    o.store = StoreOptions{nullptr, true};
    auto writer = Database::Open(store_, o);  // holds the writer lock
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ShResult busy = Sh(std::string(REVFS_BINARY) + " prune " + store_);
    EXPECT_EQ(busy.code, 1) << busy.out;
    EXPECT_NE(busy.out.find("locked by another writer"), std::string::npos) << busy.out;
    EXPECT_EQ(std::count(busy.out.begin(), busy.out.end(), '\n'), 1) << busy.out;
    // A dry run takes no lock.
    ShResult dry = Sh(std::string(REVFS_BINARY) + " prune " + store_ + " --dry-run");
    EXPECT_EQ(dry.code, 0) << dry.out;
    EXPECT_NE(dry.out.find("would pack"), std::string::npos) << dry.out;
  }
  ShResult bad = Sh(std::string(REVFS_BINARY) + " prune " + store_ + " --max-unused 101");
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_NE(bad.out.find("101"), std::string::npos) << bad.out;
  ShResult missing = Sh(std::string(REVFS_BINARY) + " prune " + Path("nostore"));
  EXPECT_EQ(missing.code, 1) << missing.out;
  EXPECT_NE(missing.out.find("nostore"), std::string::npos) << missing.out;
}

}  // namespace
}  // namespace revfs::testing
