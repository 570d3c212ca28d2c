// Watched captures (CaptureOptions::changed): a capture of only the changed
// directories records the same tree as a full walk, examines none of the
// untouched subtrees, walks everything when hard links or exclusions demand
// it, and records its exclusions and how it was made.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "revfs/diff.h"
#include "revfs/tree.h"
#include "support/engine_test.h"

namespace revfs::testing {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;

// path -> "type mode size mtime nlink content-hash", plus hard link groups.
using Listing = std::map<std::string, std::string>;

std::string Hex(const Digest256& h) { return h.ToHex(); }

class WatchedCaptureTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    src_ = Path("src");
    fs::create_directory(src_);
    rs_ = CreateStore("store", kT0);
    ASSERT_TRUE(rs_);
  }
  void ReleaseResources() override { rs_.reset(); }

  CaptureSummary Commit(std::optional<ChangedDirs> changed,
                        std::vector<std::string> exclude = {},
                        std::optional<CaptureOptions::BaseWalk> walk = std::nullopt) {
    CaptureOptions o;
    o.base_walk = walk;
    o.time_ns = kT0 + (++t_) * 1000;
    o.changed = std::move(changed);
    o.exclude = std::move(exclude);
    auto s = CaptureTree(*rs_, src_, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : CaptureSummary{};
  }

  void List(ReadTrx& trx, const Inode& dir, const std::string& rel, Listing* out,
            std::map<uint64_t, std::string>* by_ino) {
    std::vector<std::pair<std::string, DirEntry>> entries;
    ASSERT_TRUE(ListDirectory(trx, dir, "", [&](std::string_view n, const DirEntry& e) {
                  entries.emplace_back(std::string(n), e);
                  return true;
                }).ok());
    for (const auto& [name, e] : entries) {
      auto n = GetInode(trx, e.ino);
      ASSERT_TRUE(n.ok());
      const std::string path = rel + "/" + name;
      std::string content;
      if (n->type == FileType::kRegular) {
        ASSERT_TRUE(ReadFile(*rs_, trx, *n, 0, n->size, [&](std::string_view p) {
                      content.append(p);
                      return Status::OK();
                    }).ok());
        if (n->nlink > 1) {  // names of one file share one inode
          auto [it, fresh] = by_ino->emplace(e.ino, path);
          content += " linked-with " + (fresh ? path : it->second);
        }
      }
      (*out)[path] = std::to_string(static_cast<int>(n->type)) + " " + std::to_string(n->mode) +
                     " " + std::to_string(n->size) + " " + std::to_string(n->mtime_ns) + " " +
                     std::to_string(n->type == FileType::kDirectory ? 0 : n->nlink) + " " +
                     Hex(e.identity) + " " + content;
      if (n->type == FileType::kDirectory) List(trx, *n, path, out, by_ino);
    }
  }

  Listing Read(uint64_t rev) {
    auto trx = std::move(rs_->BeginRead(rev)).value();
    auto root = ResolvePath(*trx, "");
    EXPECT_TRUE(root.ok());
    Listing l;
    std::map<uint64_t, std::string> by_ino;
    List(*trx, root->second, "", &l, &by_ino);
    return l;
  }

  // The watched revision `a` and a full walk of the same (unchanged) tree
  // record the same thing: no differences, equal listings.
  void ExpectSameAsFullWalk(uint64_t a) {
    const CaptureSummary full = Commit(std::nullopt);
    auto ta = std::move(rs_->BeginRead(a)).value();
    auto tb = std::move(rs_->BeginRead(full.revision)).value();
    std::vector<std::string> diffs;
    ASSERT_TRUE(DiffTrees(*ta, *tb, "", [&](ChangeKind k, const std::string& p) {
                  diffs.push_back(std::string(1, static_cast<char>(k)) + " " + p);
                }).ok());
    EXPECT_TRUE(diffs.empty()) << diffs.front() << " (" << diffs.size() << " differences)";
    EXPECT_EQ(Read(a), Read(full.revision));
  }

  void Write(const std::string& rel, const std::string& data) {
    std::ofstream(src_ + "/" + rel, std::ios::binary | std::ios::trunc) << data;
  }

  // a/x/f1..f3, b/y/g, big/ (100 files in 5 directories), c/h
  void MakeTree() {
    fs::create_directories(src_ + "/a/x");
    fs::create_directories(src_ + "/b/y");
    fs::create_directories(src_ + "/c");
    for (int i = 1; i <= 3; ++i) Write("a/x/f" + std::to_string(i), "file " + std::to_string(i));
    Write("b/y/g", "gee");
    Write("c/h", "aitch");
    for (int d = 0; d < 5; ++d) {
      fs::create_directories(src_ + "/big/d" + std::to_string(d));
      for (int i = 0; i < 20; ++i) {
        Write("big/d" + std::to_string(d) + "/" + std::to_string(i), std::string(100, 'a' + i));
      }
    }
  }

  std::string src_;
  std::unique_ptr<Database> rs_;
  int64_t t_ = 0;
};

TEST_F(WatchedCaptureTest, ChangedSubtreesOnlyEqualAFullWalk) {
  MakeTree();
  const CaptureSummary first = Commit(std::nullopt);
  EXPECT_EQ(first.mode, CaptureMode::kFullScan);
  EXPECT_GE(first.entries_stated, 112u);

  Write("a/x/f2", "file 2, longer now");  // modified
  fs::remove(src_ + "/c/h");                // deleted
  Write("b/new", "new file");               // created
  fs::rename(src_ + "/a/x/f3", src_ + "/b/y/f3");  // moved across directories
  fs::create_directories(src_ + "/n/m");    // a new subtree
  Write("n/m/deep", "deep");
  ::chmod((src_ + "/b/y").c_str(), 0700);   // a directory's own metadata
  ChangedDirs changed;
  changed.dirs = {"a/x", "c", "b", "b/y", ""};
  changed.subtrees = {"n"};
  const CaptureSummary w = Commit(changed);
  EXPECT_EQ(w.mode, CaptureMode::kWatched) << w.fallback_reason;
  // Examined: the root (1) and its 5 entries, a (its x), a/x (2), b (2 + y),
  // b/y (2), c (0), n (m) and n/m (1): big/ is taken as it is, unwalked.
  EXPECT_EQ(w.entries_stated, 1u + 5 + 1 + 2 + 2 + 2 + 1 + 1);
  EXPECT_GE(w.directories_reused, 1u);  // big
  EXPECT_EQ(w.files, 6u);  // f1, f2, new, g, f3, deep: examined
  EXPECT_EQ(w.unchanged, 2u);  // f1, g: not read
  ExpectSameAsFullWalk(w.revision);
  // The revision's counters say how it was made and what it cost.
  auto root = rs_->store().ReadRevisionRoot(w.revision);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->Counter("capture_mode"), static_cast<uint64_t>(CaptureMode::kWatched));
  EXPECT_EQ(root->Counter("entries_stated"), w.entries_stated);
  EXPECT_EQ(std::string(CaptureModeName(root->Counter("capture_mode"))), "watched");
}

TEST_F(WatchedCaptureTest, ChangedEntriesAloneAreExamined) {
  MakeTree();
  Commit(std::nullopt);
  Write("a/x/f2", "file 2, changed in place");
  ::chmod((src_ + "/big/d3").c_str(), 0701);  // a directory's own metadata
  ChangedDirs changed;
  changed.entries = {"a/x/f2", "big/d3"};
  const CaptureSummary w = Commit(changed);
  EXPECT_EQ(w.mode, CaptureMode::kWatched) << w.fallback_reason;
  // The root, a and big on the way, x, f2 and d3: nothing else.
  EXPECT_EQ(w.entries_stated, 1u + 2 + 1 + 1 + 1);
  EXPECT_EQ(w.files, 1u);
  ExpectSameAsFullWalk(w.revision);
}

TEST_F(WatchedCaptureTest, NothingChangedStatsOnlyTheRoot) {
  MakeTree();
  Commit(std::nullopt);
  const CaptureSummary w = Commit(ChangedDirs{});
  EXPECT_EQ(w.mode, CaptureMode::kWatched);
  EXPECT_EQ(w.entries_stated, 1u);
  ExpectSameAsFullWalk(w.revision);
}

TEST_F(WatchedCaptureTest, AnUnreportedNameChangeIsStillFound) {
  MakeTree();
  Commit(std::nullopt);
  Write("a/x/f1", "changed");
  Write("a/surprise", "not reported");  // `a` is not said to have changed
  ChangedDirs changed;
  changed.dirs = {"a/x"};
  const CaptureSummary w = Commit(changed);
  EXPECT_EQ(w.mode, CaptureMode::kWatched);
  ExpectSameAsFullWalk(w.revision);
  EXPECT_TRUE(Read(w.revision).count("/a/surprise"));
}

// A directory whose events named entries only keeps the base's names
// unread when its ctime is older than the base walk's start (by the
// margin); a newer ctime, another base, or a name changed since (which
// moves the ctime) has them read.
TEST_F(WatchedCaptureTest, NamesUnchangedSinceTheBaseWalkAreNotRead) {
  MakeTree();
  const CaptureSummary first = Commit(std::nullopt);
  EXPECT_GT(first.started_ns, 0);
  // As if the first walk had begun 10 s after the tree was made.
  const int64_t later = first.started_ns + 10'000'000'000;
  Write("a/x/f2", "file 2, changed in place");
  ChangedDirs changed;
  changed.entries = {"a/x/f2"};
  CaptureSummary w = Commit(changed, {}, CaptureOptions::BaseWalk{first.revision, later});
  EXPECT_EQ(w.mode, CaptureMode::kWatched) << w.fallback_reason;
  EXPECT_EQ(w.names_read, 0u);  // the root, a and x
  ExpectSameAsFullWalk(w.revision);

  const uint64_t base = w.revision + 1;  // the full walk's, just made
  Write("a/x/f2", "file 2, again");
  w = Commit(changed, {}, CaptureOptions::BaseWalk{base, later});
  EXPECT_EQ(w.names_read, 0u);
  // Directories changed less than the margin before the walk's start.
  Write("a/x/f2", "file 2, a third time");
  w = Commit(changed, {}, CaptureOptions::BaseWalk{w.revision, first.started_ns});
  EXPECT_EQ(w.names_read, 3u);
  // Another base revision than the one walked.
  Write("a/x/f2", "file 2, a fourth time");
  w = Commit(changed, {}, CaptureOptions::BaseWalk{w.revision - 1, later});
  EXPECT_EQ(w.names_read, 3u);
  // A name added to `a` that no event reported: a's ctime moved.
  Write("a/x/f1", "changed");
  Write("a/unreported", "new");
  changed.entries = {"a/x/f1"};
  w = Commit(changed, {}, CaptureOptions::BaseWalk{w.revision, later});
  EXPECT_EQ(w.names_read, 1u);  // a alone
  EXPECT_TRUE(Read(w.revision).count("/a/unreported"));
  ExpectSameAsFullWalk(w.revision);
}

TEST_F(WatchedCaptureTest, HardLinksIntoUnexaminedDirectoriesWalkEverything) {
  MakeTree();
  Commit(std::nullopt);
  // A new name in b for a file of big/d0 (not examined): its link count
  // changes there too.
  ASSERT_EQ(::link((src_ + "/big/d0/1").c_str(), (src_ + "/b/link").c_str()), 0);
  ChangedDirs changed;
  changed.dirs = {"b"};
  CaptureSummary w = Commit(changed);
  EXPECT_EQ(w.mode, CaptureMode::kFallback);
  EXPECT_NE(w.fallback_reason.find("hard link"), std::string::npos) << w.fallback_reason;
  ExpectSameAsFullWalk(w.revision);
  // Removing one name: the other's count drops in a directory not examined.
  fs::remove(src_ + "/b/link");
  w = Commit(changed);
  EXPECT_EQ(w.mode, CaptureMode::kFallback);
  ExpectSameAsFullWalk(w.revision);
}

TEST_F(WatchedCaptureTest, UnchangedHardLinkedFilesKeepAWatchedCapture) {
  MakeTree();
  ASSERT_EQ(::link((src_ + "/big/d0/1").c_str(), (src_ + "/b/link").c_str()), 0);
  Commit(std::nullopt);
  Write("b/other", "a file of one name");  // next to the linked one, which stays
  ChangedDirs changed;
  changed.dirs = {"b"};
  CaptureSummary w = Commit(changed);
  EXPECT_EQ(w.mode, CaptureMode::kWatched) << w.fallback_reason;
  ExpectSameAsFullWalk(w.revision);
  // Written through the name in b: the name in big/d0 must see it too.
  std::ofstream(src_ + "/b/link", std::ios::app) << "more";
  w = Commit(changed);
  EXPECT_EQ(w.mode, CaptureMode::kFallback);
  ExpectSameAsFullWalk(w.revision);
}

TEST_F(WatchedCaptureTest, ExclusionsAreAppliedAndRecorded) {
  MakeTree();
  fs::create_directories(src_ + "/build/obj");
  Write("build/obj/x.o", "obj");
  Write("a/x/f1.o", "obj");
  Write("a/x/keep.o", "kept");
  const std::vector<std::string> ex = {"# objects", "*.o", "!keep.o", "/build/"};
  const CaptureSummary s = Commit(std::nullopt, ex);
  Listing l = Read(s.revision);
  EXPECT_FALSE(l.count("/build"));
  EXPECT_FALSE(l.count("/a/x/f1.o"));
  EXPECT_TRUE(l.count("/a/x/keep.o"));
  auto trx = std::move(rs_->BeginRead(s.revision)).value();
  auto recorded = ReadExclusions(*trx);
  ASSERT_TRUE(recorded.ok());
  EXPECT_EQ(*recorded, (std::vector<std::string>{"*.o", "!keep.o", "/build/"}));

  // Watched with the same exclusions: applied in the changed directories.
  Write("a/x/new.o", "obj");
  Write("a/x/new.c", "src");
  ChangedDirs changed;
  changed.dirs = {"a/x"};
  CaptureSummary w = Commit(changed, ex);
  EXPECT_EQ(w.mode, CaptureMode::kWatched);
  l = Read(w.revision);
  EXPECT_FALSE(l.count("/a/x/new.o"));
  EXPECT_TRUE(l.count("/a/x/new.c"));
  // Other exclusions: the whole tree is walked again.
  w = Commit(changed, {"*.c"});
  EXPECT_EQ(w.mode, CaptureMode::kFallback);
  l = Read(w.revision);
  EXPECT_TRUE(l.count("/build/obj/x.o"));
  EXPECT_FALSE(l.count("/a/x/new.c"));
  // None: the record goes.
  w = Commit(std::nullopt);
  auto t2 = std::move(rs_->BeginRead(w.revision)).value();
  EXPECT_TRUE(ReadExclusions(*t2)->empty());
}

TEST_F(WatchedCaptureTest, FirstRevisionFallsBack) {
  MakeTree();
  const CaptureSummary w = Commit(ChangedDirs{});
  EXPECT_EQ(w.mode, CaptureMode::kFallback);
  EXPECT_FALSE(w.fallback_reason.empty());
  EXPECT_EQ(Read(w.revision).size(), 5u + 3 + 2 + 106);
}

}  // namespace
}  // namespace revfs::testing
