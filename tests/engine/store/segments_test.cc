// The page log in segment files: rollover at the store's segment size, a
// page bigger than a segment in one of its own, leftovers of a crashed
// commit truncated and deleted when the writer opens, a commit that rolls
// over interrupted at every write and sync, and segment sizes refused out
// of range.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

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
using Op = FaultInjectionEnv::Op;

// Deterministic page bytes of `size` for (revision, index).
std::string BigContent(uint64_t revision, int index, size_t size) {
  std::string s = PageContent(revision, index);
  uint64_t x = revision * 1000003 + static_cast<uint64_t>(index) * 7919 + 1;
  while (s.size() < size) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    s.push_back(static_cast<char>(x >> 56));
  }
  s.resize(size);
  return s;
}

// Commits pages of the given sizes at `time_ns`; the tree root is the first.
Result<CommittedRevision> CommitSized(Store* store, const std::vector<size_t>& sizes,
                                      int64_t time_ns) {
  REVFS_ASSIGN_OR_RETURN(auto commit, store->BeginRevision());
  CommittedRevision rev;
  rev.number = commit->revision();
  rev.time_ns = time_ns;
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::string content = BigContent(rev.number, static_cast<int>(i), sizes[i]);
    REVFS_ASSIGN_OR_RETURN(PageRef ref, commit->AppendPage(PageKind::kOpaque, content));
    rev.pages.emplace_back(ref, std::move(content));
  }
  REVFS_ASSIGN_OR_RETURN(uint64_t n, commit->Finish(time_ns, "commit " + std::to_string(rev.number),
                                                    rev.pages.front().first));
  if (n != rev.number) return Status::Corruption("wrong revision");
  return rev;
}

class SegmentsTest : public EngineTest {
 protected:
  void MakeStore(const std::string& path) {
    StoreConfig config;
    config.segment_size = kSegment;
    ASSERT_TRUE(Store::Create(path, config, {}, kT0).ok());
  }
  std::unique_ptr<Store> Open(const std::string& path, bool writable, Env* env = nullptr) {
    auto store = Store::Open(path, StoreOptions{env, writable});
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  // Segment number -> file size, for the plain files of `path`.
  static std::map<uint32_t, uint64_t> Segments(const std::string& path) {
    std::map<uint32_t, uint64_t> out;
    for (const auto& e : std::filesystem::directory_iterator(path + "/segments")) {
      uint32_t n = 0;
      SegmentFileKind kind;
      EXPECT_TRUE(ParseSegmentName(e.path().filename().string(), &n, &kind))
          << e.path().filename();
      if (kind == SegmentFileKind::kPlain) out[n] = e.file_size();
    }
    return out;
  }
};

TEST_F(SegmentsTest, RolloverKeepsEveryRevisionReadable) {
  const std::string path = Path("store");
  MakeStore(path);
  std::vector<CommittedRevision> history;
  {
    auto store = Open(path, true);
    ASSERT_TRUE(store);
    for (int i = 1; i <= 60; ++i) {
      std::vector<size_t> sizes = {9000, 3000, 12000, 500};
      if (i % 10 == 0) sizes.push_back(100000);  // bigger than a segment
      auto rev = CommitSized(store.get(), sizes, kT0 + i * kSecond);
      ASSERT_TRUE(rev.ok()) << rev.status().ToString();
      history.push_back(*rev);
    }
  }
  // Every page lies inside one segment; a segment past the size holds one
  // page only; every page written after a roll starts its segment at 0.
  const auto segments = Segments(path);
  EXPECT_GT(segments.size(), 30u);
  std::map<uint32_t, int> pages_in;
  uint64_t total_pages = 0;
  for (const auto& rev : history) {
    for (const auto& [ref, content] : rev.pages) {
      const uint32_t n = SegmentOf(ref.offset);
      ASSERT_TRUE(segments.count(n)) << n;
      EXPECT_LE(InSegment(ref.offset) + ref.size, segments.at(n));
      ++pages_in[n];
      ++total_pages;
    }
  }
  uint32_t expected = 0;
  for (const auto& [n, size] : segments) {
    EXPECT_EQ(n, expected++) << "segments are numbered without gaps";
    if (size > kSegment) {
      EXPECT_EQ(pages_in[n], 1) << "segment " << n << " of " << size << " bytes";
    }
  }
  auto store = Open(path, false);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->config().segment_size, kSegment);
  EXPECT_EQ(store->latest_revision(), 60u);
  for (const auto& rev : history) {
    Status s = CheckRevision(*store, rev);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  VerifyReport report;
  ASSERT_TRUE(store->Verify(&report).ok());
  EXPECT_TRUE(report.clean()) << report.damage.front().file << ": " << report.damage.front().what;
  EXPECT_EQ(report.pages_checked, total_pages + 61);  // and every revision root
}

TEST_F(SegmentsTest, CrashLeftoversAreTruncatedAndDeletedOnWriterOpen) {
  const std::string path = Path("store");
  MakeStore(path);
  std::vector<CommittedRevision> history;
  {
    auto store = Open(path, true);
    for (int i = 1; i <= 12; ++i) {
      auto rev = CommitSized(store.get(), {9000, 7000}, kT0 + i * kSecond);
      ASSERT_TRUE(rev.ok());
      history.push_back(*rev);
    }
  }
  const auto before = Segments(path);
  const uint32_t last = before.rbegin()->first;
  const std::string dir = path + "/segments/";
  {
    // A partial page past the committed end, two segments past it and a
    // prune's temporary file, as crashes leave them.
    auto f = Env::Default()->NewAppendableFile(dir + SegmentName(last));
    ASSERT_TRUE((*f)->Append(std::string(5000, 'x')).ok());
    for (uint32_t n : {last + 1, last + 2}) {
      auto g = Env::Default()->NewAppendableFile(dir + SegmentName(n));
      ASSERT_TRUE((*g)->Append(std::string(3000, 'y')).ok());
    }
    auto t = Env::Default()->NewAppendableFile(dir + PackedTempName(0));
    ASSERT_TRUE((*t)->Append("partial").ok());
  }
  {
    // A reader ignores them.
    auto reader = Open(path, false);
    EXPECT_EQ(reader->latest_revision(), 12u);
    VerifyReport report;
    ASSERT_TRUE(reader->Verify(&report).ok());
    EXPECT_TRUE(report.clean()) << report.damage.front().what;
  }
  auto store = Open(path, true);
  ASSERT_TRUE(store);
  EXPECT_EQ(Segments(path), before);
  EXPECT_FALSE(std::filesystem::exists(dir + PackedTempName(0)));
  for (const auto& rev : history) EXPECT_TRUE(CheckRevision(*store, rev).ok());
  auto next = CommitSized(store.get(), {9000, 60000}, kT0 + 20 * kSecond);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  // The leftovers' numbers are taken again, without a gap.
  EXPECT_LE(SegmentOf(next->pages[0].first.offset), last + 1);
  EXPECT_EQ(SegmentOf(next->pages[1].first.offset), SegmentOf(next->pages[0].first.offset) + 1);
  EXPECT_EQ(Segments(path).rbegin()->first, SegmentOf(next->pages[1].first.offset));
  auto reopened = Open(path, false);
  EXPECT_TRUE(CheckRevision(*reopened, *next).ok());
  VerifyReport report;
  ASSERT_TRUE(reopened->Verify(&report).ok());
  EXPECT_TRUE(report.clean()) << report.damage.front().what;
}

TEST_F(SegmentsTest, RolloverCommitCrashedAtEveryWriteAndSync) {
  const std::string base = Path("base");
  MakeStore(base);
  std::vector<CommittedRevision> history;
  {
    auto store = Open(base, true);
    for (int i = 1; i <= 3; ++i) {
      auto rev = CommitSized(store.get(), {20000, 20000}, kT0 + i * kSecond);
      ASSERT_TRUE(rev.ok());
      history.push_back(*rev);
    }
  }
  // The commit: three pages that fill the current segment and two more.
  const std::vector<size_t> sizes = {30000, 50000, 50000};
  for (Op op : {Op::kWrite, Op::kSync}) {
    uint64_t ops = 0;
    {
      const std::string path = Path("count");
      std::filesystem::remove_all(path);
      std::filesystem::copy(base, path, std::filesystem::copy_options::recursive);
      FaultInjectionEnv env;
      auto store = Open(path, true, &env);
      env.ResetCounts();
      auto rev = CommitSized(store.get(), sizes, kT0 + 10 * kSecond);
      ASSERT_TRUE(rev.ok());
      EXPECT_EQ(SegmentOf(rev->pages[2].first.offset), SegmentOf(rev->pages[0].first.offset) + 2);
      ops = env.Count(op);
    }
    ASSERT_GT(ops, 3u);
    for (uint64_t n = 1; n <= ops; ++n) {
      SCOPED_TRACE("op " + std::to_string(static_cast<int>(op)) + " #" + std::to_string(n));
      const std::string path = Path("crash");
      std::filesystem::remove_all(path);
      std::filesystem::copy(base, path, std::filesystem::copy_options::recursive);
      FaultInjectionEnv env;
      {
        auto store = Open(path, true, &env);
        env.FailAt(op, n, Status::IOError("injected"), op == Op::kWrite);
        auto rev = CommitSized(store.get(), sizes, kT0 + 10 * kSecond);
        ASSERT_TRUE(env.fired());
        ASSERT_FALSE(rev.ok());
      }
      ASSERT_TRUE(env.DropUnsyncedData().ok());
      auto store = Open(path, true);
      ASSERT_TRUE(store);
      EXPECT_EQ(store->latest_revision(), 3u);
      for (const auto& rev : history) {
        Status s = CheckRevision(*store, rev);
        EXPECT_TRUE(s.ok()) << s.ToString();
      }
      auto next = CommitSized(store.get(), sizes, kT0 + 11 * kSecond);
      ASSERT_TRUE(next.ok()) << next.status().ToString();
      auto reader = Open(path, false);
      EXPECT_TRUE(CheckRevision(*reader, *next).ok());
      VerifyReport report;
      ASSERT_TRUE(reader->Verify(&report).ok());
      EXPECT_TRUE(report.clean()) << report.damage.front().file << ": "
                                  << report.damage.front().what;
    }
  }
}

TEST_F(SegmentsTest, SegmentSizeOutOfRangeIsRefused) {
  StoreConfig config;
  for (uint64_t size : {uint64_t{1000}, uint64_t{(64u << 10) - 1}, (uint64_t{1} << 40) + 1}) {
    config.segment_size = size;
    Status s = Store::Create(Path("s"), config, {}, kT0);
    EXPECT_TRUE(s.IsInvalidArgument()) << size;
    EXPECT_NE(s.message().find("segment-size"), std::string_view::npos) << s.ToString();
    EXPECT_FALSE(std::filesystem::exists(Path("s")));
  }
  const std::pair<const char*, uint64_t> good[] = {
      {"64K", 64 << 10}, {"128MiB", 128 << 20}, {"1T", uint64_t{1} << 40}, {"65536", 65536}};
  for (const auto& [text, bytes] : good) {
    StoreConfig c;
    ASSERT_TRUE(ParseSegmentSize(text, &c).ok()) << text;
    EXPECT_EQ(c.segment_size, bytes) << text;
  }
  for (const char* text : {"63K", "2T", "", "12Q", "K", "-5M", "99999999999999T"}) {
    StoreConfig c;
    Status s = ParseSegmentSize(text, &c);
    EXPECT_TRUE(s.IsInvalidArgument()) << text;
    EXPECT_EQ(c.segment_size, StoreConfig::kDefaultSegmentSize) << text;
  }
  EXPECT_EQ(SegmentSizeName(128 << 20), "128MiB");
  EXPECT_EQ(SegmentSizeName(65537), "65537");
}

}  // namespace
}  // namespace revfs::testing
