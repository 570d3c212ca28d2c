// Listings and inode numbers of RevFs, without a kernel: a listing read in
// pieces by position equals the whole one whether or not its resume points
// are remembered; d_ino equals st_ino; distinct paths of one revision have
// distinct st_ino (hard links aside) while an unchanged file keeps its own
// across revisions; a child whose record is damaged is still listed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "revfs/fusefs/fusefs.h"
#include "revfs/tree.h"
#include "support/engine_test.h"

namespace revfs::fusefs {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;

class ListingTest : public testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    src_ = Path("src");
    std::filesystem::create_directories(src_ + "/big");
    std::filesystem::create_directories(src_ + "/a/empty");
    std::filesystem::create_directories(src_ + "/b/empty");
    for (int i = 0; i < 1500; ++i) {
      std::ofstream(src_ + "/big/entry-" + std::to_string(i)) << i;
    }
    for (const char* d : {"a", "b"}) {
      std::ofstream(src_ + "/" + d + "/__init__.py");
      std::ofstream(src_ + "/" + d + "/LICENSE") << "the same licence\n";
    }
    std::filesystem::create_hard_link(src_ + "/a/LICENSE", src_ + "/a/LICENSE.link");
    rs_ = CreateStore("store", kT0);
    ASSERT_TRUE(rs_);
    Commit(1);
    Commit(2);  // the same tree again
  }
  void ReleaseResources() override {
    fs_.reset();
    rs_.reset();
  }
  void Commit(int64_t t) {
    CaptureOptions o;
    o.time_ns = kT0 + t;
    auto c = CaptureTree(*rs_, src_, o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
  }
  RevFs& Fs() {
    if (!fs_) {
      FsOptions fo;
      fo.prefetch_threads = 0;
      fo.readdirplus = FsOptions::Readdirplus::kAll;  // every child's entry
      fs_ = std::make_unique<RevFs>(rs_.get(), fo);
    }
    return *fs_;
  }
  // The node of PATH ("" is the revision's root) in revision `rev`.
  uint64_t Node(uint64_t rev, const std::string& path) {
    auto revisions = Fs().Lookup(RevFs::kRootNode, "revisions");
    EXPECT_TRUE(revisions.ok());
    auto e = Fs().Lookup(revisions->node, std::to_string(rev));
    EXPECT_TRUE(e.ok() && e->node != 0);
    uint64_t node = e->node;
    for (const auto& part : std::filesystem::path(path)) {
      auto c = Fs().Lookup(node, part.string());
      EXPECT_TRUE(c.ok() && c->node != 0) << path;
      node = c->node;
    }
    return node;
  }
  ino_t StIno(uint64_t rev, const std::string& path) {
    auto a = Fs().GetAttr(Node(rev, path));
    EXPECT_TRUE(a.ok());
    return a->st.st_ino;
  }
  std::vector<std::string> Names(const std::vector<DirItem>& items) {
    std::vector<std::string> names;
    for (const DirItem& i : items) names.push_back(i.name);
    return names;
  }

  std::string src_;
  std::unique_ptr<Database> rs_;
  std::unique_ptr<RevFs> fs_;
};

// Reads the listing of `dir` in calls of at most `per_call` items, from
// `offset`, as the kernel does with its buffer.
std::vector<DirItem> ReadInPieces(RevFs& fs, uint64_t dir, uint64_t offset, size_t per_call) {
  std::vector<DirItem> out;
  while (true) {
    size_t taken = 0;
    Status s = fs.ReadDir(dir, offset, [&](const DirItem& item) {
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

TEST_F(ListingTest, ReadInPiecesEqualsTheWholeListing) {
  const uint64_t dir = Node(1, "big");
  auto whole = Fs().ListDir(dir);
  ASSERT_TRUE(whole.ok());
  ASSERT_EQ(whole->size(), 1502u);
  EXPECT_EQ((*whole)[0].name, ".");
  EXPECT_EQ((*whole)[1].name, "..");
  const std::vector<std::string> all = Names(*whole);
  std::set<std::string> names(all.begin() + 2, all.end());
  EXPECT_EQ(names.size(), 1500u);
  EXPECT_TRUE(names.count("entry-1499"));
  EXPECT_EQ(Names(ReadInPieces(Fs(), dir, 0, 7)), Names(*whole));
  // Passes in parallel, and positions nobody remembers (a fresh RevFs, as
  // after a restart or once pushed out): counted from the start.
  EXPECT_EQ(Names(ReadInPieces(Fs(), dir, 0, 100)), Names(*whole));
  fs_.reset();
  const uint64_t again = Node(1, "big");
  std::vector<DirItem> tail = ReadInPieces(Fs(), again, 1000, 33);
  ASSERT_EQ(tail.size(), 502u);
  EXPECT_EQ(Names(tail), std::vector<std::string>(all.begin() + 1000, all.end()));
}

TEST_F(ListingTest, DInoEqualsStIno) {
  for (const std::string dir : {"", "a", "a/empty", "big"}) {
    SCOPED_TRACE(dir);
    const uint64_t node = Node(1, dir);
    auto items = Fs().ListDir(node);
    ASSERT_TRUE(items.ok());
    auto self = Fs().GetAttr(node);
    ASSERT_TRUE(self.ok());
    EXPECT_EQ((*items)[0].st_ino, self->st.st_ino) << ".";
    for (size_t i = 2; i < items->size(); ++i) {
      const DirItem& item = (*items)[i];
      auto listed = Fs().LookupListed(node, item);
      auto looked = Fs().Lookup(node, item.name);
      ASSERT_TRUE(listed.ok() && looked.ok()) << item.name;
      EXPECT_EQ(item.st_ino, listed->attr.st.st_ino) << item.name;
      EXPECT_EQ(item.st_ino, looked->attr.st.st_ino) << item.name;
      EXPECT_EQ(item.type, listed->attr.st.st_mode & S_IFMT) << item.name;
    }
  }
  // The synthetic folders too.
  for (uint64_t node : {RevFs::kRootNode, RevFs::kRevisionsNode, RevFs::kAtNode}) {
    auto items = Fs().ListDir(node);
    ASSERT_TRUE(items.ok());
    for (size_t i = 2; i < items->size(); ++i) {
      auto e = Fs().Lookup(node, (*items)[i].name);
      ASSERT_TRUE(e.ok() && e->node != 0) << (*items)[i].name;
      EXPECT_EQ((*items)[i].st_ino, e->attr.st.st_ino) << (*items)[i].name;
    }
  }
}

TEST_F(ListingTest, DistinctPathsHaveDistinctInodeNumbers) {
  // Same content and metadata at two paths: two files.
  EXPECT_NE(StIno(1, "a/__init__.py"), StIno(1, "b/__init__.py"));
  EXPECT_NE(StIno(1, "a/LICENSE"), StIno(1, "b/LICENSE"));
  EXPECT_NE(StIno(1, "a/empty"), StIno(1, "b/empty"));
  // A hard link is one file.
  EXPECT_EQ(StIno(1, "a/LICENSE"), StIno(1, "a/LICENSE.link"));
  // An unchanged file keeps its number across revisions; a directory has
  // its own per revision.
  EXPECT_EQ(StIno(1, "a/LICENSE"), StIno(2, "a/LICENSE"));
  EXPECT_EQ(StIno(1, "big/entry-7"), StIno(2, "big/entry-7"));
  EXPECT_NE(StIno(1, "a"), StIno(2, "a"));
  EXPECT_NE(StIno(1, ""), StIno(2, ""));
  // Every path of a revision: no two share one unless hard-linked.
  std::map<ino_t, std::string> seen;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(src_)) {
    const std::string rel = std::filesystem::relative(entry.path(), src_).string();
    if (rel == "a/LICENSE.link") continue;
    auto [it, inserted] = seen.emplace(StIno(1, rel), rel);
    EXPECT_TRUE(inserted) << rel << " shares st_ino with " << it->second;
  }
  EXPECT_EQ(seen.size(), 1500u + 9u);  // big, a, b, two empty, two __init__.py, two LICENSE
}

TEST_F(ListingTest, UniqueInoSurvivesForget) {
  fs_.reset();
  FsOptions fo;
  fo.prefetch_threads = 0;
  fo.unique_ino = true;
  fs_ = std::make_unique<RevFs>(rs_.get(), fo);
  const uint64_t node = Node(1, "a/LICENSE");
  const ino_t before = Fs().GetAttr(node)->st.st_ino;
  Fs().Forget(node, 1000);  // the kernel drops it
  ASSERT_FALSE(Fs().GetAttr(node).ok());
  const uint64_t again = Node(1, "a/LICENSE");
  EXPECT_NE(again, node);
  EXPECT_EQ(Fs().GetAttr(again)->st.st_ino, before);
  EXPECT_NE(StIno(2, "a/LICENSE"), before);
}

TEST_F(ListingTest, AChildWhoseRecordIsDamagedIsStillListed) {
  // Revision 3: the inode record of a/LICENSE replaced by bytes that do not
  // decode (a checksum-valid page holding a bad record).
  {
    auto trx = rs_->BeginRead(2);
    ASSERT_TRUE(trx.ok());
    auto license = ResolvePath(**trx, "b/LICENSE");
    ASSERT_TRUE(license.ok());
    auto w = rs_->BeginWrite();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Put(kInodeBase | license->first, "not an inode").ok());
    ASSERT_TRUE((*w)->Commit(kT0 + 3, "damage").ok());
  }
  const uint64_t dir = Node(3, "b");
  auto items = Fs().ListDir(dir);
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  EXPECT_EQ(Names(*items),
            (std::vector<std::string>{".", "..", "LICENSE", "__init__.py", "empty"}));
  auto damaged = Fs().LookupListed(dir, (*items)[2]);
  ASSERT_FALSE(damaged.ok());
  EXPECT_TRUE(damaged.status().IsCorruption()) << damaged.status().ToString();
  EXPECT_TRUE(Fs().LookupListed(dir, (*items)[3]).ok());
}

uint64_t NodesKnown(RevFs& fs) {
  const std::string json = fs.StatsJson();
  return std::stoull(json.substr(json.find("\"nodes\":") + 8));
}

// A readdirplus reply counts a lookup for each child it carries and for no
// other: one that does not fit, or a reply abandoned by an exception (a
// bad_alloc while it is made), gives its lookups back.
TEST_F(ListingTest, ReaddirplusCountsOnlyTheLookupsItCarries) {
  const uint64_t dir = Node(1, "big");
  const uint64_t known = NodesKnown(Fs());
  int children = 0;
  auto full_after = [&](int n) {
    children = 0;
    return [&children, n](const DirItem& item, const EntryReply* entry) {
      if (item.name == "." || item.name == "..") return true;
      EXPECT_NE(entry, nullptr) << item.name;
      return ++children <= n;
    };
  };
  auto nine = Fs().ReadDirPlus(dir, 0, 100, full_after(9));
  ASSERT_TRUE(nine.ok());
  EXPECT_EQ(nine->size(), 9u);
  EXPECT_EQ(NodesKnown(Fs()), known + 9);
  for (uint64_t node : *nine) Fs().Forget(node, 1);
  EXPECT_EQ(NodesKnown(Fs()), known);
  // At most max_children lookups, whatever room the reply has.
  auto five = Fs().ReadDirPlus(dir, 2, 5, full_after(1000));
  ASSERT_TRUE(five.ok());
  EXPECT_EQ(five->size(), 5u);
  for (uint64_t node : *five) Fs().Forget(node, 1);
  // Memory runs out while the reply is made, at each child in turn.
  for (int fail_at = 1; fail_at <= 12; ++fail_at) {
    children = 0;
    EXPECT_THROW((void)Fs().ReadDirPlus(dir, 0, 100,
                                        [&](const DirItem& item, const EntryReply*) {
                                          if (item.name != "." && item.name != ".." &&
                                              ++children == fail_at) {
                                            throw std::bad_alloc();
                                          }
                                          return true;
                                        }),
                 std::bad_alloc);
    EXPECT_EQ(NodesKnown(Fs()), known) << "failed at child " << fail_at;
  }
}

}  // namespace
}  // namespace revfs::fusefs
