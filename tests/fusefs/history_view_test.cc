// history/ of RevFs, without a kernel: a path's directory lists its
// versions (named by revision and time, each the very node of revisions/N),
// @current and the names that ever existed below it (those starting with
// '@' escaped); listings read in pieces equal the whole one, remembered or
// counted from the start; lookups take only the names listed and give a
// version its revision's entry; readdirplus lists versions without one.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "revfs/fusefs/fusefs.h"
#include "revfs/time_util.h"
#include "revfs/tree.h"
#include "support/engine_test.h"

namespace revfs::fusefs {
namespace {

namespace fs = std::filesystem;

// 2030-01-01T00:00:00Z; revision r is committed r minutes later.
constexpr int64_t kT0 = 1'893'456'000'000'000'000;
constexpr int64_t kMinute = 60'000'000'000;
// f changes at every revision but those divisible by 5; revision 7 deletes
// it and 8 makes it again.
constexpr int kRevisions = 160;

class HistoryViewTest : public testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    src_ = Path("src");
    fs::create_directories(src_ + "/dir");
    db_ = CreateStore("store", kT0);
    ASSERT_TRUE(db_);
    for (int r = 1; r <= kRevisions; ++r) {
      if (r % 5 != 0) std::ofstream(src_ + "/f", std::ios::trunc) << "version " << r;
      if (r == 7) fs::remove(src_ + "/f");
      // 40 names come and go in dir/; "@current" and "@x" collide with the
      // version naming.
      std::ofstream(src_ + "/dir/n-" + std::to_string(r % 40)) << r;
      if (r > 1) fs::remove(src_ + "/dir/n-" + std::to_string((r - 1) % 40));
      if (r == 3) std::ofstream(src_ + "/@current") << "a file named @current";
      if (r == 4) fs::create_symlink("f", src_ + "/@x");
      CaptureOptions o;
      o.time_ns = kT0 + r * kMinute;
      auto c = CaptureTree(*db_, src_, o);
      ASSERT_TRUE(c.ok()) << c.status().ToString();
    }
  }
  void ReleaseResources() override {
    fs_.reset();
    db_.reset();
  }
  RevFs& Fs() {
    if (!fs_) {
      FsOptions fo;
      fo.prefetch_threads = 0;
      fs_ = std::make_unique<RevFs>(db_.get(), fo);
    }
    return *fs_;
  }
  uint64_t Walk(uint64_t node, const std::string& path) {
    for (const auto& part : fs::path(path)) {
      auto c = Fs().Lookup(node, part.string());
      EXPECT_TRUE(c.ok() && c->node != 0) << path << " at " << part;
      if (!c.ok() || c->node == 0) return 0;
      node = c->node;
    }
    return node;
  }
  static std::string VersionName(int r) {
    char digits[16];
    std::snprintf(digits, sizeof(digits), "%08d", r);
    return std::string("@") + digits + "_" + FormatTimeCompact(kT0 + r * kMinute);
  }
  static std::vector<std::string> Names(const std::vector<DirItem>& items) {
    std::vector<std::string> names;
    for (const DirItem& i : items) names.push_back(i.name);
    return names;
  }
  std::vector<DirItem> ReadInPieces(uint64_t dir, size_t per_call) {
    std::vector<DirItem> out;
    for (uint64_t offset = 0;;) {
      size_t taken = 0;
      Status s = Fs().ReadDir(dir, offset, [&](const DirItem& item) {
        if (taken == per_call) return false;
        out.push_back(item);
        ++taken;
        return true;
      });
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (taken == 0) return out;
      offset += taken;
    }
  }

  // The same with readdirplus replies that take `per_reply` items and are
  // then full, as the kernel's buffer is.
  std::vector<std::string> ReadPlusInPieces(uint64_t dir, size_t per_reply) {
    std::vector<std::string> out;
    for (uint64_t offset = 0;;) {
      size_t taken = 0;
      auto counted = Fs().ReadDirPlus(dir, offset, 1000, [&](const DirItem& item, const EntryReply*) {
        if (taken == per_reply) return false;
        out.push_back(item.name);
        ++taken;
        return true;
      });
      EXPECT_TRUE(counted.ok()) << counted.status().ToString();
      if (!counted.ok()) return out;
      for (uint64_t node : *counted) Fs().Forget(node, 1);
      if (taken == 0) return out;
      offset += taken;
    }
  }

  std::string src_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<RevFs> fs_;
};

TEST_F(HistoryViewTest, APathListsItsVersionsCurrentAndNames) {
  std::vector<std::string> want = {".", ".."};
  for (int r = 1; r <= kRevisions; ++r) {
    if (r % 5 != 0 && r != 7) want.push_back(VersionName(r));
  }
  want.push_back("@current");
  const uint64_t f = Walk(RevFs::kHistoryNode, "f");
  ASSERT_NE(f, 0u);
  auto whole = Fs().ListDir(f);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(Names(*whole), want);
  EXPECT_EQ(Names(ReadInPieces(f, 7)), want);
  // Readdirplus replies cut short by a full buffer resume where they ended.
  EXPECT_EQ(ReadPlusInPieces(f, 20), want);
  EXPECT_EQ(ReadPlusInPieces(f, 3), want);
  // Positions nobody remembers (a fresh RevFs): counted from the start.
  fs_.reset();
  EXPECT_EQ(Names(ReadInPieces(Walk(RevFs::kHistoryNode, "f"), 5)), want);

  std::vector<std::string> top = {".", "..", "@@current", "@@x", "dir", "f"};
  EXPECT_EQ(Names(ReadInPieces(RevFs::kHistoryNode, 1)), top);
  std::set<std::string> names;
  const uint64_t dir = Walk(RevFs::kHistoryNode, "dir");
  for (const DirItem& item : ReadInPieces(dir, 3)) names.insert(item.name);
  EXPECT_EQ(names.size(), 42u);  // the dots and n-0 .. n-39
  EXPECT_TRUE(names.count("n-39"));
  const std::vector<std::string> plus = ReadPlusInPieces(dir, 5);
  EXPECT_EQ(plus.size(), 42u);
  EXPECT_EQ(std::set<std::string>(plus.begin(), plus.end()), names);
  EXPECT_EQ(ReadPlusInPieces(RevFs::kHistoryNode, 2), top);
  auto root = Fs().ListDir(RevFs::kRootNode);
  ASSERT_TRUE(root.ok());
  const std::vector<std::string> root_names = Names(*root);
  EXPECT_NE(std::find(root_names.begin(), root_names.end(), "history"), root_names.end());
}

TEST_F(HistoryViewTest, AVersionIsItsRevisionsEntry) {
  const uint64_t f = Walk(RevFs::kHistoryNode, "f");
  for (int r : {1, 2, 6, 8, kRevisions - 1}) {
    SCOPED_TRACE(r);
    auto version = Fs().Lookup(f, VersionName(r));
    ASSERT_TRUE(version.ok()) << version.status().ToString();
    ASSERT_NE(version->node, 0u);
    // The node of revisions/r/f.
    EXPECT_EQ(version->node, Walk(RevFs::kRevisionsNode, std::to_string(r) + "/f"));
    std::vector<PinnedView> pins;
    std::vector<std::string_view> pieces;
    ASSERT_TRUE(Fs().Read(version->node, RevFs::kNoHandle, 0, 100, &pins, &pieces).ok());
    std::string bytes;
    for (auto p : pieces) bytes += p;
    EXPECT_EQ(bytes, "version " + std::to_string(r));
  }
  auto current = Fs().Lookup(f, "@current");
  ASSERT_TRUE(current.ok() && current->node != 0);
  auto target = Fs().ReadLink(current->node);
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(*target, VersionName(kRevisions - 1));
  EXPECT_TRUE(S_ISLNK(current->attr.st.st_mode));

  // Only the names listed are found.
  for (const std::string& name :
       {VersionName(5), VersionName(7), VersionName(kRevisions + 1),
        VersionName(2).substr(0, 10) + "_2031-01-01T000200Z", std::string("@x"),
        std::string("@"), std::string("@0000000x_y")}) {
    auto none = Fs().Lookup(f, name);
    ASSERT_TRUE(none.ok()) << name << ": " << none.status().ToString();
    EXPECT_EQ(none->node, 0u) << name;
  }
  // An escaped name is the stored one; the symlink's versions are symlinks.
  const uint64_t x = Walk(RevFs::kHistoryNode, "@@x");
  auto link = Fs().Lookup(x, VersionName(4));
  ASSERT_TRUE(link.ok() && link->node != 0);
  auto link_target = Fs().ReadLink(link->node);
  ASSERT_TRUE(link_target.ok());
  EXPECT_EQ(*link_target, "f");
  EXPECT_EQ(Fs().Lookup(RevFs::kHistoryNode, "@x")->node, 0u);

  // Readdirplus lists versions without their entries (no inode read per
  // version); each listed d_ino is the st_ino its lookup gives.
  size_t versions = 0;
  std::vector<DirItem> listed;
  auto counted = Fs().ReadDirPlus(f, 0, 1000, [&](const DirItem& item, const EntryReply* e) {
    if (item.name[0] != '@' || item.name == "@current") return true;
    EXPECT_EQ(e, nullptr) << item.name;
    listed.push_back(item);
    ++versions;
    return true;
  });
  ASSERT_TRUE(counted.ok()) << counted.status().ToString();
  EXPECT_EQ(versions, static_cast<size_t>(kRevisions - kRevisions / 5 - 1));
  for (uint64_t node : *counted) Fs().Forget(node, 1);
  for (const DirItem& item : listed) {
    auto e = Fs().Lookup(f, item.name);
    ASSERT_TRUE(e.ok() && e->node != 0) << item.name;
    EXPECT_EQ(e->attr.st.st_ino, item.st_ino) << item.name;
    const std::string rev = std::to_string(std::stoi(item.name.substr(1, 8)));
    EXPECT_EQ(e->node, Walk(RevFs::kRevisionsNode, rev + "/f")) << item.name;
  }
}

// A latest revision without the index (a store made before it, not yet
// reindexed): history/ says so rather than listing nothing.
TEST_F(HistoryViewTest, WithoutAnIndexHistoryIsNotSupported) {
  auto trx = db_->BeginWrite();
  ASSERT_TRUE(trx.ok());
  ASSERT_TRUE((*trx)->Delete(kMetaKey | kHistoryKey).ok());
  ASSERT_TRUE((*trx)->Commit(kT0 + (kRevisions + 1) * kMinute, "no index").ok());
  EXPECT_TRUE(Fs().ListDir(RevFs::kHistoryNode).status().code() == Status::Code::kNotSupported);
  EXPECT_TRUE(Fs().Lookup(RevFs::kHistoryNode, "f").status().code() == Status::Code::kNotSupported);
}

// An empty store (revision 0 alone) has an empty history/.
class HistoryViewEmptyTest : public testing::EngineTest {
 protected:
  void ReleaseResources() override {
    fs_.reset();
    db_.reset();
  }
  std::unique_ptr<Database> db_;
  std::unique_ptr<RevFs> fs_;
};

TEST_F(HistoryViewEmptyTest, RevisionZeroListsNothing) {
  db_ = CreateStore("store", kT0);
  ASSERT_TRUE(db_);
  FsOptions fo;
  fo.prefetch_threads = 0;
  fs_ = std::make_unique<RevFs>(db_.get(), fo);
  auto items = fs_->ListDir(RevFs::kHistoryNode);
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  EXPECT_EQ(items->size(), 2u);  // "." and ".."
  auto none = fs_->Lookup(RevFs::kHistoryNode, "f");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->node, 0u);
}

}  // namespace
}  // namespace revfs::fusefs
