// Readdirplus answered from one pass over a directory: each reply carries
// exactly the attributes a lookup of each child gives, read in one batch
// (range reads of the record trie, not a point read per child), queues no
// content prefetch (a listing is not a read), and a reply that stops early
// resumes where it stopped. Files get their entries as -o readdirplus says:
// always, never, or (auto) once bursts of file lookups show stat walks.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/xattr.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "file_entries.h"
#include "revfs/fusefs/fusefs.h"
#include "revfs/tree.h"
#include "support/engine_test.h"

namespace revfs::fusefs {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int kFiles = 300;

class ReaddirplusTest : public testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    const std::string src = Path("src");
    std::filesystem::create_directories(src + "/dir/sub");
    for (int i = 0; i < kFiles; ++i) {
      const std::string name = src + "/dir/file-" + std::to_string(i);
      std::ofstream(name) << std::string(static_cast<size_t>(i), 'x');
      chmod(name.c_str(), i % 2 ? 0640 : 0755);
    }
    std::filesystem::create_symlink("file-1", src + "/dir/link");
    xattr_set_ = ::setxattr((src + "/dir/file-7").c_str(), "user.revfs", "v7", 2, 0) == 0;
    rs_ = CreateStore("store", kT0);
    ASSERT_TRUE(rs_);
    CaptureOptions o;
    o.time_ns = kT0 + 1;
    ASSERT_TRUE(CaptureTree(*rs_, src, o).ok());
  }
  void ReleaseResources() override {
    fs_.reset();
    rs_.reset();
  }
  RevFs& Fs(unsigned prefetch_threads = 0,
            FsOptions::Readdirplus mode = FsOptions::Readdirplus::kAll) {
    if (!fs_) {
      FsOptions fo;
      fo.prefetch_threads = prefetch_threads;
      fo.readdirplus = mode;
      fs_ = std::make_unique<RevFs>(rs_.get(), fo);
    }
    return *fs_;
  }
  uint64_t Dir() {
    auto revisions = Fs().Lookup(RevFs::kRootNode, "revisions");
    auto rev = Fs().Lookup(revisions->node, "1");
    auto dir = Fs().Lookup(rev->node, "dir");
    EXPECT_TRUE(dir.ok() && dir->node != 0);
    return dir->node;
  }
  uint64_t Stat(const std::string& key) {
    const std::string json = Fs().StatsJson();
    const std::string k = "\"" + key + "\":";
    return std::stoull(json.substr(json.find(k) + k.size()));
  }
  uint64_t ChunksPrefetched() { return Stat("chunks_prefetched"); }

  std::unique_ptr<Database> rs_;
  std::unique_ptr<RevFs> fs_;
  bool xattr_set_ = false;  // dir/file-7 has user.revfs = v7
};

struct Listed {
  std::string name;
  bool has_entry;
  EntryReply entry;
};

// The whole listing through ReadDirPlus, in replies of at most `per_reply`
// children, each reply refusing the item after `take` children (as a full
// buffer does); every lookup counted is given back.
std::vector<Listed> ListPlus(RevFs& fs, uint64_t dir, size_t per_reply, size_t take) {
  std::vector<Listed> out;
  uint64_t offset = 0;
  while (true) {
    size_t children = 0, taken = 0, entries = 0;
    auto counted = fs.ReadDirPlus(dir, offset, per_reply, [&](const DirItem& item,
                                                               const EntryReply* e) {
      const bool dot = item.name == "." || item.name == "..";
      if (!dot && children == take) return false;
      if (!dot) ++children;
      if (e != nullptr) ++entries;
      out.push_back({item.name, e != nullptr, e ? *e : EntryReply{}});
      ++taken;
      return true;
    });
    EXPECT_TRUE(counted.ok()) << counted.status().ToString();
    if (!counted.ok() || taken == 0) return out;
    EXPECT_EQ(counted->size(), entries);  // a lookup counted per entry given
    for (uint64_t node : *counted) fs.Forget(node, 1);
    offset += taken;
  }
}

TEST_F(ReaddirplusTest, CarriesExactlyTheChildrensAttributes) {
  const uint64_t dir = Dir();
  auto whole = Fs().ListDir(dir);
  ASSERT_TRUE(whole.ok());
  ASSERT_EQ(whole->size(), 2u + kFiles + 2u);  // dots, files, link, sub
  // Replies of every size, and replies stopping short of what they read.
  for (auto [per_reply, take] : {std::pair<size_t, size_t>{1000, 1000}, {64, 64}, {64, 13}, {7, 1}}) {
    SCOPED_TRACE(std::to_string(per_reply) + "/" + std::to_string(take));
    std::vector<Listed> plus = ListPlus(Fs(), dir, per_reply, take);
    ASSERT_EQ(plus.size(), whole->size());
    for (size_t i = 0; i < plus.size(); ++i) {
      ASSERT_EQ(plus[i].name, (*whole)[i].name);
      if (i < 2) {
        EXPECT_FALSE(plus[i].has_entry);
        continue;
      }
      ASSERT_TRUE(plus[i].has_entry) << plus[i].name;
      auto looked = Fs().Lookup(dir, plus[i].name);
      ASSERT_TRUE(looked.ok()) << plus[i].name;
      const struct stat& a = plus[i].entry.attr.st;
      const struct stat& b = looked->attr.st;
      EXPECT_NE(plus[i].entry.node, 0u) << plus[i].name;
      EXPECT_EQ(a.st_ino, b.st_ino) << plus[i].name;
      EXPECT_EQ(a.st_ino, (*whole)[i].st_ino) << plus[i].name;
      EXPECT_EQ(a.st_mode, b.st_mode) << plus[i].name;
      EXPECT_EQ(a.st_size, b.st_size) << plus[i].name;
      EXPECT_EQ(a.st_nlink, b.st_nlink) << plus[i].name;
      EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec) << plus[i].name;
      EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec) << plus[i].name;
      EXPECT_EQ(plus[i].entry.entry_timeout, looked->entry_timeout) << plus[i].name;
      EXPECT_EQ(plus[i].entry.attr.timeout, looked->attr.timeout) << plus[i].name;
      Fs().Forget(looked->node, 1);
    }
    for (const Listed& l : plus) {  // the sizes the source had
      if (l.name.rfind("file-", 0) == 0) {
        EXPECT_EQ(l.entry.attr.st.st_size, std::stoi(l.name.substr(5))) << l.name;
      }
    }
  }
}

TEST_F(ReaddirplusTest, ReadsTheChildrensInodesByRangeAndPrefetchesNothing) {
  Fs(/*prefetch_threads=*/1);
  const uint64_t dir = Dir();
  const RecordStats before = rs_->stats();
  const uint64_t prefetched = ChunksPrefetched();
  std::vector<uint64_t> nodes;
  auto counted = Fs().ReadDirPlus(dir, 0, 200, [](const DirItem&, const EntryReply*) { return true; });
  ASSERT_TRUE(counted.ok());
  ASSERT_EQ(counted->size(), 200u);
  const RecordStats plus = rs_->stats();
  // 200 children: a few range reads over their inodes; the point reads are
  // the directory's own inode and its listing's blocks, not one per child.
  EXPECT_GE(plus.range_reads - before.range_reads, 1u);
  EXPECT_LE(plus.range_reads - before.range_reads, 3u);
  const uint64_t plus_points = plus.point_reads - before.point_reads;
  EXPECT_LT(plus_points, 40u);
  EXPECT_EQ(ChunksPrefetched(), prefetched);  // a listing is not a read
  // A lookup of each of them costs a point read per child at least (and
  // queues the first chunk of each non-empty small file).
  auto whole = Fs().ListDir(dir);
  ASSERT_TRUE(whole.ok());
  const RecordStats listed = rs_->stats();
  for (size_t i = 2; i < 202; ++i) {
    auto e = Fs().Lookup(dir, (*whole)[i].name);
    ASSERT_TRUE(e.ok() && e->node != 0);
    nodes.push_back(e->node);
  }
  EXPECT_GE(rs_->stats().point_reads - listed.point_reads, 200u);
  EXPECT_GT(ChunksPrefetched(), prefetched);
  for (uint64_t node : nodes) Fs().Forget(node, 1);
  for (uint64_t node : *counted) Fs().Forget(node, 1);
}

// The names of `plus` that came with an entry.
std::vector<std::string> WithEntries(const std::vector<Listed>& plus) {
  std::vector<std::string> out;
  for (const Listed& l : plus) {
    if (l.has_entry) out.push_back(l.name);
  }
  return out;
}

// Auto: files (and the symlink) are listed by name until a burst of file
// lookups, then with their entries; the subdirectory always has its entry.
TEST_F(ReaddirplusTest, AutoGivesFileEntriesOnlyAfterABurstOfFileLookups) {
  Fs(0, FsOptions::Readdirplus::kAuto);
  const uint64_t dir = Dir();
  std::vector<Listed> plus = ListPlus(Fs(), dir, 1000, 1000);
  ASSERT_EQ(plus.size(), 2u + kFiles + 2u);
  EXPECT_EQ(WithEntries(plus), std::vector<std::string>{"sub"});
  EXPECT_EQ(Stat("files_listed_by_name"), kFiles + 1u);
  // Looking the subdirectory up many times is no stat walk; fewer file
  // lookups than a burst are none either.
  std::vector<uint64_t> nodes;
  auto look = [&](const std::string& name) {
    auto e = Fs().Lookup(dir, name);
    ASSERT_TRUE(e.ok() && e->node != 0) << name;
    nodes.push_back(e->node);
  };
  for (uint32_t i = 0; i < 2 * FileEntries::kBurst; ++i) look("sub");
  for (uint32_t i = 0; i + 1 < FileEntries::kBurst; ++i) look("file-" + std::to_string(i));
  EXPECT_EQ(WithEntries(ListPlus(Fs(), dir, 1000, 1000)), std::vector<std::string>{"sub"});
  EXPECT_EQ(Stat("file_entry_switches"), 0u);
  look("link");  // the burst's last lookup
  plus = ListPlus(Fs(), dir, 1000, 1000);
  ASSERT_EQ(plus.size(), 2u + kFiles + 2u);
  EXPECT_EQ(WithEntries(plus).size(), kFiles + 2u);
  EXPECT_EQ(Stat("file_entry_switches"), 1u);
  for (const Listed& l : plus) {
    if (l.name.rfind("file-", 0) == 0) {
      EXPECT_EQ(l.entry.attr.st.st_size, std::stoi(l.name.substr(5))) << l.name;
    }
  }
  for (uint64_t node : nodes) Fs().Forget(node, 1);
}

TEST_F(ReaddirplusTest, DirsNeverGivesFileEntries) {
  Fs(0, FsOptions::Readdirplus::kDirs);
  const uint64_t dir = Dir();
  for (int i = 0; i < 3 * static_cast<int>(FileEntries::kBurst); ++i) {
    auto e = Fs().Lookup(dir, "file-" + std::to_string(i));
    ASSERT_TRUE(e.ok() && e->node != 0);
    Fs().Forget(e->node, 1);
  }
  std::vector<Listed> plus = ListPlus(Fs(), dir, 64, 13);
  ASSERT_EQ(plus.size(), 2u + kFiles + 2u);
  EXPECT_EQ(WithEntries(plus), std::vector<std::string>{"sub"});
  EXPECT_EQ(Stat("file_entry_switches"), 0u);
}

TEST(FileEntriesTest, ABurstWithinTheWindowGivesEntriesForTheHold) {
  constexpr uint64_t kSecond = 1'000'000'000;
  FileEntries e(FsOptions::Readdirplus::kAuto);
  EXPECT_FALSE(e.Give(0));
  // Lookups spread wider than the window never make a burst.
  uint64_t t = 100 * kSecond;
  for (uint32_t i = 0; i < 4 * FileEntries::kBurst; ++i) {
    e.FileLookedUp(t);
    t += FileEntries::kWindowNanos / (FileEntries::kBurst - 1) + FileEntries::kWindowNanos / 8;
  }
  EXPECT_FALSE(e.Give(t));
  EXPECT_EQ(e.switches(), 0u);
  // kBurst lookups within the window: entries until kHold after the last.
  t += 10 * kSecond;
  const uint64_t start = t;
  for (uint32_t i = 0; i < FileEntries::kBurst; ++i) e.FileLookedUp(t + i);
  const uint64_t last = start + FileEntries::kBurst - 1;
  EXPECT_TRUE(e.Give(last));
  EXPECT_TRUE(e.Give(last + FileEntries::kHoldNanos - 1));
  EXPECT_FALSE(e.Give(last + FileEntries::kHoldNanos));
  EXPECT_EQ(e.switches(), 1u);
  // A burst within the hold extends it without counting a switch.
  for (uint32_t i = 0; i < FileEntries::kBurst; ++i) e.FileLookedUp(last + kSecond + i);
  EXPECT_TRUE(e.Give(last + FileEntries::kHoldNanos + kSecond / 2));
  EXPECT_EQ(e.switches(), 1u);
}

TEST(FileEntriesTest, AllAndDirsIgnoreLookups) {
  FileEntries all(FsOptions::Readdirplus::kAll), dirs(FsOptions::Readdirplus::kDirs);
  for (uint32_t i = 0; i < 2 * FileEntries::kBurst; ++i) {
    all.FileLookedUp(i);
    dirs.FileLookedUp(i);
  }
  EXPECT_TRUE(all.Give(0));
  EXPECT_FALSE(dirs.Give(FileEntries::kBurst));
}

// An entry made from an inode without extended attributes answers
// getxattr and listxattr (ls -l asks two per file) without reading the
// store again; one with attributes still gives them.
TEST_F(ReaddirplusTest, AnEntryWithoutExtendedAttributesAnswersWithoutTheStore) {
  ASSERT_TRUE(xattr_set_) << "user xattrs unsupported where the test runs";
  const uint64_t dir = Dir();
  auto plain = Fs().Lookup(dir, "file-3");
  auto with = Fs().Lookup(dir, "file-7");
  ASSERT_TRUE(plain.ok() && with.ok() && plain->node != 0 && with->node != 0);
  const RecordStats before = rs_->stats();
  auto none = Fs().Xattrs(plain->node);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE((*none)->empty());
  EXPECT_EQ(rs_->stats().point_reads, before.point_reads);
  auto some = Fs().Xattrs(with->node);
  ASSERT_TRUE(some.ok()) << some.status().ToString();
  ASSERT_EQ((*some)->size(), 1u);
  EXPECT_EQ((**some)[0].first, "user.revfs");
  EXPECT_EQ((**some)[0].second, "v7");
  EXPECT_GT(rs_->stats().point_reads, before.point_reads);
  Fs().Forget(plain->node, 1);
  Fs().Forget(with->node, 1);
}

}  // namespace
}  // namespace revfs::fusefs
