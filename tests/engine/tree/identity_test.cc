// Identity no input can fool (engine/FORMAT.md, format 3): reuse decisions
// are made on whole SHA-256 digests, never on the shorter keys they are
// looked up by, and a chunk index entry naming a page prune removed is a
// miss, not a reference to a missing page. Extended-attribute blobs are
// chunks like any other and follow the same rule.
//
// The seam. XXH3-128 identities could be made to collide on purpose, which
// is why the old code read every dedup hit back. A SHA-256 collision cannot
// be produced in a test (that is the point of using it), so no test can
// show two different inputs sharing a digest. What a test can show is the
// other half of the argument: that nothing is ever reused on less than the
// whole digest. The seam (SetLookupKeyBitsForTest) shortens the 64-bit key
// that the chunk index runs, the recent-chunk log and a map writer's table of
// old blocks are searched by, to a few bits, so that the tests find by
// brute force distinct contents whose keys collide, land them on the same
// lookup, and check that each revision still holds exactly its own bytes
// and entries. Code that reused a candidate on an equal key (or on any
// truncation of the digest short enough to be brute-forced here) fails
// them; shortening the digest itself instead would only show that a short
// digest is unsafe, which is why the old code needed its read-back.
#include <gtest/gtest.h>
#include <sys/xattr.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "revfs/retention.h"
#include "revfs/tree.h"
#include "store/page_log.h"
#include "support/engine_test.h"
#include "support/xattr_source.h"
#include "tree/file_chunks.h"
#include "util/hash.h"

namespace revfs::testing {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;

std::string RandomBytes(uint64_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

class IdentityTest : public EngineTest {
 protected:
  void ReleaseResources() override { db_.reset(); }

  void Make(const StoreConfig& config = {}) {
    src_ = Path("src");
    fs::create_directories(src_);
    db_ = CreateStore("store", kT0, config);
    ASSERT_TRUE(db_);
  }
  void Reopen() {
    db_.reset();
    db_ = OpenStore("store");
    ASSERT_TRUE(db_);
  }
  CaptureSummary Commit() {
    CaptureOptions o;
    o.time_ns = kT0 + static_cast<int64_t>(++commits_) * 1'000'000'000;
    auto s = CaptureTree(*db_, src_, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : CaptureSummary{};
  }
  Inode InodeAt(uint64_t rev, const std::string& path) {
    auto trx = db_->BeginRead(rev);
    EXPECT_TRUE(trx.ok()) << trx.status().ToString();
    if (!trx.ok()) return {};
    auto found = ResolvePath(**trx, path);
    EXPECT_TRUE(found.ok()) << path << " at " << rev << ": " << found.status().ToString();
    return found.ok() ? found->second : Inode{};
  }
  // The bytes of `path` at `rev`, or the error reading them.
  std::string Contents(uint64_t rev, const std::string& path) {
    auto trx = db_->BeginRead(rev);
    if (!trx.ok()) return trx.status().ToString();
    auto found = ResolvePath(**trx, path);
    if (!found.ok()) return found.status().ToString();
    std::string out;
    Status s = ReadFile(*db_, **trx, found->second, 0, found->second.size,
                        [&](std::string_view piece) {
                          out.append(piece);
                          return Status::OK();
                        });
    return s.ok() ? out : s.ToString();
  }
  // Expects `path` at `rev` to hold `want` (a mismatch names the error or
  // the sizes, not the bytes).
  void ExpectContents(uint64_t rev, const std::string& path, const std::string& want) {
    const std::string got = Contents(rev, path);
    EXPECT_TRUE(got == want) << path << " at revision " << rev << ": "
                             << (got.size() < 200 ? got : std::to_string(got.size()) + " bytes")
                             << ", want " << want.size() << " bytes";
  }
  std::vector<std::string> Names(uint64_t rev, const std::string& path) {
    auto trx = db_->BeginRead(rev);
    EXPECT_TRUE(trx.ok());
    if (!trx.ok()) return {};
    auto dir = ResolvePath(**trx, path);
    EXPECT_TRUE(dir.ok()) << dir.status().ToString();
    if (!dir.ok()) return {};
    std::vector<std::string> names;
    EXPECT_TRUE(ListDirectory(**trx, dir->second, "", [&](std::string_view name, const DirEntry&) {
                  names.emplace_back(name);
                  return true;
                }).ok());
    return names;
  }

  std::string src_;
  std::unique_ptr<Database> db_;
  uint64_t commits_ = 0;
};

// Two directory versions whose block digests share a 3-bit lookup key: the
// second version's writer finds the first's block as its candidate and must
// write its own. Every revision lists exactly the names it was given.
TEST_F(IdentityTest, DirectoriesWithCollidingLookupKeysKeepTheirOwnEntries) {
  ShortLookupKeys seam(3);
  ASSERT_NO_FATAL_FAILURE(Make());
  std::map<uint64_t, std::vector<std::string>> want;
  Digest256 prev;
  int collisions = 0;
  for (int i = 0; i < 200 && collisions < 3; ++i) {
    fs::remove_all(src_ + "/d");
    std::vector<std::string> names = {"a" + std::to_string(i), "b" + std::to_string(i)};
    for (const std::string& n : names) WriteFile(src_ + "/d/" + n, "x");
    const CaptureSummary s = Commit();
    ASSERT_GT(s.revision, 0u);
    want[s.revision] = names;
    const Digest256 now = InodeAt(s.revision, "/d").map.hash;
    ASSERT_FALSE(now.IsZero());
    if (i > 0 && LookupKey(now) == LookupKey(prev)) {
      ASSERT_FALSE(now == prev) << "different entries, different digests";
      ++collisions;
    }
    prev = now;
  }
  ASSERT_EQ(collisions, 3) << "brute force found too few shared lookup keys";
  Reopen();
  for (const auto& [rev, names] : want) {
    EXPECT_EQ(Names(rev, "/d"), names) << "revision " << rev;
  }
}

// Two different chunks whose digests share an 8-bit lookup key (found by
// brute force): the second is looked up in the same bucket and the same
// recent-chunk log slot as the first, is stored as a chunk of its own, and
// each file reads back its own bytes. Equal bytes are still deduplicated.
TEST_F(IdentityTest, ChunksWithCollidingLookupKeysKeepTheirOwnBytes) {
  ShortLookupKeys seam(8);
  ASSERT_NO_FATAL_FAILURE(Make());
  std::map<uint64_t, uint64_t> seen;  // lookup key -> seed
  uint64_t first = 0, second = 0;
  for (uint64_t seed = 1; seed < 5000 && second == 0; ++seed) {
    const uint64_t key = LookupKey(HashBytes(RandomBytes(seed, 8192)));
    auto [it, added] = seen.emplace(key, seed);
    if (!added) first = it->second, second = seed;
  }
  ASSERT_NE(second, 0u) << "no two chunks share a shortened key";
  const std::string a = RandomBytes(first, 8192), b = RandomBytes(second, 8192);
  ASSERT_FALSE(HashBytes(a) == HashBytes(b));

  WriteFile(src_ + "/a", a);
  const CaptureSummary r1 = Commit();
  EXPECT_EQ(r1.content.chunks_new, 1u);
  WriteFile(src_ + "/b", b);
  const CaptureSummary r2 = Commit();
  EXPECT_EQ(r2.content.chunks_new, 1u) << "b shares a's lookup key, not its bytes";
  EXPECT_EQ(r2.content.chunks_reused, 0u);
  WriteFile(src_ + "/c", b);  // b's bytes again: found and reused
  const CaptureSummary r3 = Commit();
  EXPECT_EQ(r3.content.chunks_new, 0u);
  EXPECT_EQ(r3.content.chunks_reused, 1u);

  Reopen();
  ExpectContents(r1.revision, "/a", a);
  ExpectContents(r2.revision, "/a", a);
  ExpectContents(r2.revision, "/b", b);
  ExpectContents(r3.revision, "/c", b);
}

// An extended-attribute blob's chunk is stored and found like any chunk:
// one whose digest shares an 8-bit lookup key with a file's chunk (found by
// brute force) is stored as its own, the same attributes on another file
// reuse it, and each reads back its own bytes.
TEST_F(IdentityTest, AttributeBlobsWithCollidingLookupKeysKeepTheirOwnBytes) {
  ShortLookupKeys seam(8);
  ASSERT_NO_FATAL_FAILURE(Make());
  XattrSourceDir source(Path("xsrc"));
  ASSERT_TRUE(source.ok()) << source.why();
  src_ = source.path();
  const std::string a = RandomBytes(1, 8192);
  const uint64_t key = LookupKey(HashBytes(a));
  std::string value;
  for (uint64_t seed = 2; seed < 5000 && value.empty(); ++seed) {
    std::string v = RandomBytes(seed, 6000), blob;
    EncodeXattrList(&blob, {{"user.big", v}});
    if (LookupKey(HashBytes(blob)) == key) value = std::move(v);
  }
  ASSERT_FALSE(value.empty()) << "no blob shares the file's shortened key";
  auto tag = [&](const std::string& path) {
    WriteFile(src_ + path, "");
    return ::setxattr((src_ + path).c_str(), "user.big", value.data(), value.size(), 0);
  };

  WriteFile(src_ + "/a", a);
  const CaptureSummary r1 = Commit();
  EXPECT_EQ(r1.content.chunks_new, 1u);
  ASSERT_EQ(tag("/x"), 0);
  const CaptureSummary r2 = Commit();
  EXPECT_EQ(r2.content.chunks_new, 1u) << "the blob shares a's lookup key, not its bytes";
  EXPECT_EQ(r2.content.chunks_reused, 0u);
  ASSERT_EQ(tag("/y"), 0);  // the same attributes: the blob's chunk reused
  const CaptureSummary r3 = Commit();
  EXPECT_EQ(r3.content.chunks_new, 0u);
  EXPECT_EQ(r3.content.chunks_reused, 1u);

  Reopen();
  ExpectContents(r3.revision, "/a", a);
  for (const char* path : {"/x", "/y"}) {
    const Inode n = InodeAt(r3.revision, path);
    ASSERT_TRUE(n.xattr_blob.has_value()) << path;
    EXPECT_EQ(n.xattr_blob->chunks.size(), 1u) << path;
    auto trx = db_->BeginRead(r3.revision);
    ASSERT_TRUE(trx.ok()) << trx.status().ToString();
    auto list = LoadXattrs(*db_, **trx, n);
    ASSERT_TRUE(list.ok()) << path << ": " << list.status().ToString();
    EXPECT_TRUE(*list == (XattrList{{"user.big", value}})) << path;
  }
}

// A chunk whose page prune packed away is still named by the chunk index:
// committing the same bytes again stores a new chunk (the entry is a miss,
// not an error) and the file reads back right from a freshly opened store.
TEST_F(IdentityTest, ChunkIndexEntryOfAPrunedPageIsAMiss) {
  StoreConfig config;
  config.segment_size = 64 << 10;
  ASSERT_NO_FATAL_FAILURE(Make(config));
  const std::string a = RandomBytes(7, 40 << 10), b = RandomBytes(8, 40 << 10);
  WriteFile(src_ + "/a", a);
  const CaptureSummary r1 = Commit();
  ASSERT_EQ(r1.content.chunks_new, 1u);
  const ChunkRef pruned = InodeAt(r1.revision, "/a").chunks.at(0);
  fs::remove(src_ + "/a");
  WriteFile(src_ + "/b", b);
  const CaptureSummary r2 = Commit();
  ASSERT_EQ(r2.content.chunks_new, 1u);
  ASSERT_NE(pruned.page.offset >> 40, db_->store().superblock().pages_end >> 40)
      << "a's chunk must not sit in the newest segment";

  ASSERT_TRUE(db_->store().Forget({r1.revision}).ok());
  auto live = ComputeLiveness(*db_, db_->store().KeptRevisions());
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  ASSERT_FALSE(live->Contains(pruned.page.offset));
  PackReport report;
  ASSERT_TRUE(db_->store().PackSegments(live->BySegment(), PackOptions{}, &report).ok());
  ASSERT_GT(report.segments_packed + report.segments_deleted, 0u);
  ASSERT_FALSE(db_->store().pages().Contains(pruned.page));
  EXPECT_FALSE(ChunkPresent(*db_, pruned.hash, pruned.page, pruned.depth));

  Reopen();  // nothing of a's chunk left in any cache
  WriteFile(src_ + "/a", a);
  const CaptureSummary r3 = Commit();
  EXPECT_EQ(r3.content.chunks_new, 1u) << "the index entry names a pruned page";
  EXPECT_EQ(r3.content.chunks_reused, 0u);
  const ChunkRef stored = InodeAt(r3.revision, "/a").chunks.at(0);
  EXPECT_NE(stored.page.offset, pruned.page.offset);
  EXPECT_TRUE(stored.hash == pruned.hash);

  Reopen();
  ExpectContents(r3.revision, "/a", a);
  ExpectContents(r3.revision, "/b", b);
  VerifyReport verify;
  EXPECT_TRUE(db_->Verify(&verify).ok());
  EXPECT_TRUE(verify.damage.empty()) << verify.damage.front().what;
}

// A delta chunk whose page is still stored but whose base prune packed
// away is a miss too: the chain is checked, not just the chunk's own page.
// Layout (64 KiB segments): a's first version alone in its segment, its
// delta next to a big file that stays live, so that only the base's
// segment is packed.
TEST_F(IdentityTest, DeltaWhoseBaseWasPrunedIsAMiss) {
  StoreConfig config;
  config.segment_size = 64 << 10;
  ASSERT_NO_FATAL_FAILURE(Make(config));
  const std::string base = RandomBytes(9, 40 << 10), big = RandomBytes(10, 48 << 10);
  std::string edited = base;
  for (size_t i = 0; i < 16; ++i) edited[1000 + i * 7] ^= 0x5a;
  WriteFile(src_ + "/f", base);
  const CaptureSummary r1 = Commit();
  const ChunkRef first = InodeAt(r1.revision, "/f").chunks.at(0);
  WriteFile(src_ + "/a_big", big);
  WriteFile(src_ + "/f", edited);
  const CaptureSummary r2 = Commit();
  const ChunkRef delta = InodeAt(r2.revision, "/f").chunks.at(0);
  const ChunkRef live = InodeAt(r2.revision, "/a_big").chunks.at(0);
  ASSERT_EQ(delta.depth, 1) << "the edit is stored as a delta";
  ASSERT_EQ(delta.page.offset >> 40, live.page.offset >> 40) << "delta next to the big file";
  ASSERT_NE(delta.page.offset >> 40, first.page.offset >> 40) << "base in a segment of its own";
  fs::remove(src_ + "/f");
  const CaptureSummary r3 = Commit();

  ASSERT_TRUE(db_->store().Forget({r1.revision, r2.revision}).ok());
  auto alive = ComputeLiveness(*db_, db_->store().KeptRevisions());
  ASSERT_TRUE(alive.ok()) << alive.status().ToString();
  PackReport report;
  ASSERT_TRUE(db_->store().PackSegments(alive->BySegment(), PackOptions{50}, &report).ok());
  ASSERT_TRUE(db_->store().pages().Contains(delta.page)) << "the delta's segment is not packed";
  ASSERT_FALSE(db_->store().pages().Contains(first.page)) << "its base's segment is";
  EXPECT_FALSE(ChunkPresent(*db_, delta.hash, delta.page, delta.depth));
  EXPECT_TRUE(ChunkPresent(*db_, live.hash, live.page, live.depth));

  Reopen();
  WriteFile(src_ + "/f", edited);
  const CaptureSummary r4 = Commit();
  EXPECT_EQ(r4.content.chunks_new, 1u) << "the logged delta has lost its base";
  EXPECT_EQ(r4.content.chunks_reused, 0u);
  Reopen();
  ExpectContents(r4.revision, "/f", edited);
  ExpectContents(r4.revision, "/a_big", big);
  EXPECT_GT(r3.revision, 0u);
}

}  // namespace
}  // namespace revfs::testing
