// Store::PackSegments with a synthetic live set: live pages read back
// byte-identical at the same PageRefs, dead ones are Corruption "pruned",
// plain files of packed segments and dead segments are gone and the disk
// usage shrinks; a reader that holds a segment open keeps reading it; verify
// is clean on packed stores and names a damaged packed table; and a crash
// at every write, sync, rename and unlink of a pack leaves every live page
// readable, with a rerun finishing the work.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "env/env.h"
#include "revfs/store.h"
#include "store/page_log.h"
#include "store/revision_writer.h"
#include "store/segment_file.h"
#include "support/engine_test.h"
#include "support/fault_env.h"
#include "support/store_util.h"

namespace revfs::testing {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int64_t kSecond = 1'000'000'000;
constexpr uint64_t kSegment = 64 << 10;
constexpr uint64_t kRevisions = 40;
constexpr uint64_t kForgotten = 15;  // revisions 1..15 keep nothing
using Op = FaultInjectionEnv::Op;

std::string Content(uint64_t revision, int index) {
  std::string s = PageContent(revision, index);
  s.resize(index == 0 ? 700 : 5000 + 1000 * index, static_cast<char>('A' + revision % 26));
  return s;
}

struct Page {
  PageRef ref;
  std::string content;
  bool live = false;
  bool tree_root = false;  // of its revision
};

class PackTest : public EngineTest {
 protected:
  // Makes a store of kRevisions commits of 4 pages (64 KiB segments) at
  // `path`, and records which pages the synthetic live set keeps.
  void MakeStore(const std::string& path) {
    StoreConfig config;
    config.segment_size = kSegment;
    ASSERT_TRUE(Store::Create(path, config, {}, kT0).ok());
    auto store = Store::Open(path, StoreOptions{nullptr, true});
    ASSERT_TRUE(store.ok());
    pages_.clear();
    roots_.clear();
    for (uint64_t r = 1; r <= kRevisions; ++r) {
      auto commit = (*store)->BeginRevision();
      ASSERT_TRUE(commit.ok());
      PageRef first;
      for (int i = 0; i < 4; ++i) {
        Page page;
        page.content = Content(r, i);
        auto ref = (*commit)->AppendPage(PageKind::kOpaque, page.content);
        ASSERT_TRUE(ref.ok());
        page.ref = *ref;
        if (i == 0) first = *ref;
        // Kept: the tree root of every kept revision, and every page of
        // the even ones; revisions 1..kForgotten keep nothing.
        page.live = r > kForgotten && (i == 0 || r % 2 == 0);
        page.tree_root = i == 0;
        pages_.push_back(page);
      }
      ASSERT_TRUE((*commit)->Finish(kT0 + r * kSecond, "commit", first).ok());
    }
    for (uint64_t r = 0; r <= kRevisions; ++r) {
      roots_.push_back((*(*store)->GetRevision(r)).root);
    }
  }

  // The live set: kept pages, and the revision roots of kept revisions
  // (with `all_roots`, every revision's root and tree root, so that verify
  // can read every revision).
  LiveSet Live(bool all_roots) const {
    LiveSet live;
    for (const Page& p : pages_) {
      if (p.live || (all_roots && p.tree_root)) live.Add(p.ref);
    }
    for (uint64_t r = 0; r < roots_.size(); ++r) {
      if (all_roots || r == 0 || r > kForgotten) live.Add(roots_[r]);
    }
    return live;
  }

  static uint64_t DiskUsage(const std::string& path) {
    uint64_t total = 0;
    for (const auto& e : std::filesystem::directory_iterator(path + "/segments")) {
      total += e.file_size();
    }
    return total;
  }

  // Checks every live page reads back exactly; returns how many dead pages
  // read as pruned (a dead page in a segment left plain still reads).
  int CheckPages(const Store& store) {
    int pruned = 0;
    for (const Page& p : pages_) {
      std::string buf;
      PageView view;
      Status s = store.pages().Read(p.ref, PageKind::kOpaque, &buf, &view);
      if (p.live) {
        EXPECT_TRUE(s.ok()) << s.ToString();
        if (s.ok()) {
          EXPECT_TRUE(view.payload == p.content) << "page at " << p.ref.offset;
        }
        EXPECT_TRUE(store.pages().Contains(p.ref));
      } else if (!s.ok()) {
        EXPECT_TRUE(s.IsCorruption()) << s.ToString();
        EXPECT_NE(s.message().find("pruned"), std::string_view::npos) << s.ToString();
        EXPECT_NE(s.message().find("segments/" + SegmentName(SegmentOf(p.ref.offset))),
                  std::string_view::npos)
            << s.ToString();
        EXPECT_FALSE(store.pages().Contains(p.ref));
        ++pruned;
      } else {
        EXPECT_TRUE(view.payload == p.content);
        EXPECT_TRUE(store.pages().Contains(p.ref));
      }
    }
    return pruned;
  }

  std::vector<Page> pages_;
  std::vector<PageRef> roots_;
};

TEST_F(PackTest, LivePagesStayDeadOnesArePrunedAndSpaceComesBack) {
  const std::string path = Path("store");
  MakeStore(path);
  const uint64_t before = DiskUsage(path);
  auto store = Store::Open(path, StoreOptions{nullptr, true});
  ASSERT_TRUE(store.ok());
  const uint32_t newest = SegmentOf((*store)->superblock().pages_end - 1);
  PackReport report;
  ASSERT_TRUE((*store)->PackSegments(Live(false), PackOptions{}, &report).ok());
  EXPECT_GT(report.segments_packed, 5u);
  EXPECT_GT(report.segments_deleted, 3u);
  EXPECT_LT(report.bytes_after, report.bytes_before);
  const uint64_t after = DiskUsage(path);
  EXPECT_LT(after, before * 7 / 10) << before << " -> " << after;

  // Plain files of packed segments are gone; dead segments entirely; the
  // newest segment is never touched.
  const std::string dir = path + "/segments/";
  int packed_files = 0;
  for (uint32_t n = 0; n < newest; ++n) {
    const bool packed = std::filesystem::exists(dir + PackedSegmentName(n));
    packed_files += packed;
    if (packed) {
      EXPECT_FALSE(std::filesystem::exists(dir + SegmentName(n))) << n;
    }
  }
  EXPECT_EQ(packed_files, static_cast<int>(report.segments_packed));
  EXPECT_TRUE(std::filesystem::exists(dir + SegmentName(newest)));

  EXPECT_GT(CheckPages(**store), 40);
  for (uint64_t r = kForgotten + 1; r <= kRevisions; ++r) {
    EXPECT_TRUE((*store)->ReadRevisionRoot(r).ok()) << r;
  }
  auto gone = (*store)->ReadRevisionRoot(1);
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.status().message().find("pruned"), std::string_view::npos);

  // A rerun has nothing left to do; commits go on; a fresh open reads the
  // same.
  PackReport again;
  ASSERT_TRUE((*store)->PackSegments(Live(false), PackOptions{}, &again).ok());
  EXPECT_EQ(again.segments_packed, 0u);
  EXPECT_EQ(again.segments_deleted, 0u);
  EXPECT_EQ(DiskUsage(path), after);
  auto next = CommitPages(store->get(), 3, kT0 + 100 * kSecond);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  store->reset();
  auto reopened = Store::Open(path, {});
  ASSERT_TRUE(reopened.ok());
  EXPECT_GT(CheckPages(**reopened), 40);
  EXPECT_TRUE(CheckRevision(**reopened, *next).ok());
}

TEST_F(PackTest, MaxUnusedDecidesWhatIsPacked) {
  const std::string path = Path("store");
  MakeStore(path);
  auto store = Store::Open(path, StoreOptions{nullptr, true});
  ASSERT_TRUE(store.ok());
  PackReport report;
  ASSERT_TRUE((*store)->PackSegments(Live(true), PackOptions{100}, &report).ok());
  EXPECT_EQ(report.segments_packed, 0u);  // nothing is ever more than 100% dead
  EXPECT_EQ(report.segments_deleted, 0u);
  EXPECT_EQ(report.bytes_after, report.bytes_before);
  EXPECT_EQ(CheckPages(**store), 0);
  PackReport bad;
  EXPECT_TRUE((*store)->PackSegments(Live(true), PackOptions{101}, &bad).IsInvalidArgument());
  auto reader = Store::Open(path, {});
  EXPECT_TRUE((*reader)->PackSegments(Live(true), PackOptions{}, &bad).IsReadOnly());
}

TEST_F(PackTest, VerifyIsCleanOnPackedStoresAndNamesADamagedTable) {
  const std::string path = Path("store");
  MakeStore(path);
  {
    auto store = Store::Open(path, StoreOptions{nullptr, true});
    PackReport report;
    ASSERT_TRUE((*store)->PackSegments(Live(true), PackOptions{}, &report).ok());
    ASSERT_GT(report.segments_packed, 5u);
  }
  auto store = Store::Open(path, {});
  VerifyReport clean;
  ASSERT_TRUE((*store)->Verify(&clean).ok());
  for (const auto& d : clean.damage) ADD_FAILURE() << d.file << " at " << d.offset << ": " << d.what;
  uint64_t live_pages = 0;
  for (const Page& p : pages_) live_pages += p.live || p.tree_root;
  EXPECT_GE(clean.pages_checked, live_pages + roots_.size());

  // Damage the table of the first packed segment, and a page of another.
  std::vector<uint32_t> packed;
  for (uint32_t n = 0; n < 100; ++n) {
    if (std::filesystem::exists(path + "/segments/" + PackedSegmentName(n))) packed.push_back(n);
  }
  ASSERT_GE(packed.size(), 2u);
  FlipByte(path + "/segments/" + PackedSegmentName(packed[0]), kPackedHeaderSize + 3);
  const std::string second = path + "/segments/" + PackedSegmentName(packed[1]);
  FlipByte(second, std::filesystem::file_size(second) - 10);
  auto damaged = Store::Open(path, {});
  ASSERT_TRUE(damaged.ok());
  VerifyReport report;
  ASSERT_TRUE((*damaged)->Verify(&report).ok());
  bool table = false, page = false;
  for (const auto& d : report.damage) {
    if (d.file == "segments/" + PackedSegmentName(packed[0]) &&
        d.what.find("table checksum") != std::string::npos) {
      table = true;
    }
    if (d.file == "segments/" + PackedSegmentName(packed[1]) &&
        d.what.find("checksum mismatch") != std::string::npos) {
      page = true;
    }
  }
  EXPECT_TRUE(table);
  EXPECT_TRUE(page);
  // Reads from the damaged table are clean errors too.
  for (const Page& p : pages_) {
    if (!p.live || SegmentOf(p.ref.offset) != packed[0]) continue;
    std::string buf;
    PageView view;
    Status s = (*damaged)->pages().Read(p.ref, PageKind::kOpaque, &buf, &view);
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  }
}

TEST_F(PackTest, ReaderHoldingASegmentKeepsReadingAfterItIsPacked) {
  const std::string path = Path("store");
  MakeStore(path);
  auto reader = Store::Open(path, {});
  ASSERT_TRUE(reader.ok());
  // The reader opens every segment by reading every page once.
  EXPECT_EQ(CheckPages(**reader), 0);
  auto handle = (*reader)->pages().OpenSegment(SegmentOf(pages_[70].ref.offset));
  ASSERT_TRUE(handle.ok());
  auto writer = Store::Open(path, StoreOptions{nullptr, true});
  PackReport report;
  ASSERT_TRUE((*writer)->PackSegments(Live(false), PackOptions{}, &report).ok());
  ASSERT_GT(report.segments_packed + report.segments_deleted, 5u);
  // Nothing was pulled from under the reader: dead pages too still read
  // through the descriptors it holds.
  EXPECT_EQ(CheckPages(**reader), 0);
  // A new generation: the reader drops the old handles, but a read holding
  // one (as a read under way does) still reads through it.
  ASSERT_TRUE(CommitPages(writer->get(), 1, kT0 + 100 * kSecond).ok());
  ASSERT_TRUE((*reader)->Refresh().ok());
  EXPECT_GT(CheckPages(**reader), 40);
  const PageRef ref = pages_[70].ref;
  std::string buf(ref.size, '\0');
  size_t got = 0;
  ASSERT_TRUE((*handle)->file->Read(InSegment(ref.offset), ref.size, buf.data(), &got).ok());
  ASSERT_EQ(got, ref.size);
  EXPECT_EQ(buf.substr(kPageHeaderSize), pages_[70].content);
}

TEST_F(PackTest, CrashAtEveryStepOfAPackLosesNoLivePage) {
  const std::string base = Path("base");
  MakeStore(base);
  const std::vector<Page> pages = pages_;
  for (Op op : {Op::kWrite, Op::kSync, Op::kRename, Op::kRemove}) {
    uint64_t ops = 0;
    {
      const std::string path = Path("count");
      std::filesystem::remove_all(path);
      std::filesystem::copy(base, path, std::filesystem::copy_options::recursive);
      FaultInjectionEnv env;
      auto store = Store::Open(path, StoreOptions{&env, true});
      ASSERT_TRUE(store.ok());
      env.ResetCounts();
      PackReport report;
      ASSERT_TRUE((*store)->PackSegments(Live(false), PackOptions{}, &report).ok());
      ops = env.Count(op);
    }
    ASSERT_GT(ops, 0u);
    for (uint64_t n = 1; n <= ops; ++n) {
      SCOPED_TRACE("op " + std::to_string(static_cast<int>(op)) + " #" + std::to_string(n));
      const std::string path = Path("crash");
      std::filesystem::remove_all(path);
      std::filesystem::copy(base, path, std::filesystem::copy_options::recursive);
      FaultInjectionEnv env;
      {
        auto store = Store::Open(path, StoreOptions{&env, true});
        ASSERT_TRUE(store.ok());
        env.FailAt(op, n, Status::IOError("injected"), op == Op::kWrite);
        PackReport report;
        Status s = (*store)->PackSegments(Live(false), PackOptions{}, &report);
        ASSERT_TRUE(env.fired());
        ASSERT_FALSE(s.ok());
      }
      ASSERT_TRUE(env.DropUnsyncedData().ok());
      {
        auto store = Store::Open(path, {});
        ASSERT_TRUE(store.ok()) << store.status().ToString();
        CheckPages(**store);
      }
      auto store = Store::Open(path, StoreOptions{nullptr, true});
      ASSERT_TRUE(store.ok());
      PackReport report;
      Status s = (*store)->PackSegments(Live(false), PackOptions{}, &report);
      ASSERT_TRUE(s.ok()) << s.ToString();
      EXPECT_GT(CheckPages(**store), 40);
      for (const auto& e : std::filesystem::directory_iterator(path + "/segments")) {
        uint32_t seg = 0;
        SegmentFileKind kind;
        ASSERT_TRUE(ParseSegmentName(e.path().filename().string(), &seg, &kind));
        EXPECT_NE(kind, SegmentFileKind::kTemp);
        if (kind == SegmentFileKind::kPlain) {
          EXPECT_FALSE(std::filesystem::exists(path + "/segments/" + PackedSegmentName(seg)))
              << "a packed segment's plain file is left";
        }
      }
    }
  }
}

}  // namespace
}  // namespace revfs::testing
