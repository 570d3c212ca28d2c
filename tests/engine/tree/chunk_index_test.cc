// The chunk index without a ceiling (engine/FORMAT.md, format 3): the
// recent-chunk log, runs merged in tiers, Bloom filters. The index's sizes
// are shrunk through ChunkIndex::SetOptionsForTest (8-entry log, 4-entry
// buckets) so that a few thousand chunks go through every tier; the
// 20-million-chunk run is tests/bench/chunk_index_bench.
#include "tree/chunk_index.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "content/chunk_loader.h"
#include "revfs/inode.h"
#include "support/engine_test.h"
#include "tree/file_chunks.h"
#include "util/hash.h"

namespace revfs::testing {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;

std::string ChunkBytes(uint64_t i) {
  return "chunk number " + std::to_string(i) + " of the test";
}

struct Stored {
  std::vector<ChunkRef> refs;
  ContentStats content;
  std::map<std::string, uint64_t> counters;
};

ChunkIndex::Options SmallIndex() {
  ChunkIndex::Options o;
  o.log_entries = 8;
  o.bucket_target = 4;
  o.fanout = 4;
  return o;
}

// The sum of the digits of n in base b: the runs that n flushes of the
// log leave when every tier of b runs is merged.
uint64_t DigitSum(uint64_t n, uint64_t b) {
  uint64_t s = 0;
  for (; n; n /= b) s += n % b;
  return s;
}

class ChunkIndexTest : public EngineTest,
                       public ::testing::WithParamInterface<Versioning> {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    ChunkIndex::SetOptionsForTest(SmallIndex());
    StoreConfig config;
    config.versioning = GetParam();
    db_ = CreateStore("store", kT0, config);
    ASSERT_TRUE(db_);
  }
  void TearDown() override {
    ChunkIndex::SetOptionsForTest(ChunkIndex::DefaultOptions());
    EngineTest::TearDown();
  }
  void ReleaseResources() override { db_.reset(); }

  void Reopen() {
    db_.reset();
    db_ = OpenStore("store");
    ASSERT_TRUE(db_);
  }

  // Stores chunks `ids` in one transaction, committed unless `abort`.
  Stored Store(const std::vector<uint64_t>& ids, bool abort = false) {
    Stored out;
    auto trx = db_->BeginWrite();
    EXPECT_TRUE(trx.ok()) << trx.status().ToString();
    if (!trx.ok()) return out;
    for (uint64_t i : ids) {
      auto ref = StoreChunk(**trx, *db_, ChunkBytes(i), 0, &out.content);
      EXPECT_TRUE(ref.ok()) << ref.status().ToString();
      if (!ref.ok()) return out;
      out.refs.push_back(*ref);
    }
    for (const auto& [name, value] : ChunkIndex::Counters(**trx))
      out.counters[name] = value;
    if (!abort) {
      auto rev = (*trx)->Commit(kT0 + ++commits_, "");
      EXPECT_TRUE(rev.ok()) << rev.status().ToString();
    }
    return out;
  }

  static std::vector<uint64_t> Range(uint64_t first, uint64_t n) {
    std::vector<uint64_t> v;
    for (uint64_t i = first; i < first + n; ++i) v.push_back(i);
    return v;
  }

  // Checks that `ref` names a stored chunk holding chunk `i`'s bytes.
  void ExpectHolds(const ChunkRef& ref, uint64_t i) {
    const std::string want = ChunkBytes(i);
    auto got = db_->chunk_loader().Chunk(ref.hash, ref.page, ref.length);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->bytes(), want) << "chunk " << i;
  }

  // The runs of the latest revision's index, as a transaction sees them.
  std::vector<ChunkIndex::Run> Runs() {
    auto trx = db_->BeginWrite();
    EXPECT_TRUE(trx.ok());
    auto index = ChunkIndex::Of(**trx, *db_);
    EXPECT_TRUE(index.ok()) << index.status().ToString();
    return index.ok() ? (*index)->runs() : std::vector<ChunkIndex::Run>();
  }

  std::unique_ptr<Database> db_;
  int64_t commits_ = 0;
};

TEST_P(ChunkIndexTest, EveryStoredChunkIsFoundAgainThroughEveryTier) {
  // 3,000 chunks in 30 commits: 375 flushes of the 8-entry log, merged in
  // tiers of four into runs of 8, 32, 128, 512 and 2,048 entries.
  std::vector<ChunkRef> first;
  for (uint64_t c = 0; c < 30; ++c) {
    Stored s = Store(Range(c * 100, 100));
    ASSERT_EQ(s.content.chunks_new, 100u);
    first.insert(first.end(), s.refs.begin(), s.refs.end());
  }
  const std::vector<ChunkIndex::Run> runs = Runs();
  EXPECT_EQ(runs.size(), DigitSum(3000 / 8, 4));
  uint64_t indexed = 0;
  std::set<uint32_t> levels;
  for (const ChunkIndex::Run& r : runs) {
    indexed += r.entries;
    levels.insert(r.level);
    EXPECT_EQ(r.entries, 8u << (2 * r.level)) << "run " << r.id;
  }
  EXPECT_EQ(indexed, 3000u);
  EXPECT_EQ(levels.size(),
            5u);  // 375 = 1 1 3 1 3 in base 4: levels 4, 3, 2, 1, 0
  EXPECT_TRUE(levels.count(4));

  Reopen();
  Stored again = Store(Range(0, 3000));
  EXPECT_EQ(again.content.chunks_reused, 3000u);
  EXPECT_EQ(again.content.chunks_new, 0u);
  for (uint64_t i = 0; i < 3000; ++i) {
    ASSERT_EQ(again.refs[i].page, first[i].page) << "chunk " << i;
    ExpectHolds(again.refs[i], i);
  }
  // Each lookup read about one bucket record: its run's, plus the runs
  // whose filter admitted it falsely.
  const uint64_t lookups = again.counters["index_lookups"];
  EXPECT_EQ(lookups, 3000u);
  EXPECT_GE(again.counters["index_records_read"], 3000u);
  EXPECT_LE(again.counters["index_records_read"], 3000u * 12 / 10);
  EXPECT_GT(again.counters["index_filter_rejects"], 3000u * (runs.size() - 2));
}

TEST_P(ChunkIndexTest, MergedRunsLeaveNoRecordsBehind) {
  for (uint64_t c = 0; c < 10; ++c) Store(Range(c * 77, 77));
  const std::vector<ChunkIndex::Run> runs = Runs();
  std::set<uint32_t> live;
  for (const ChunkIndex::Run& r : runs) live.insert(r.id);
  auto trx = db_->BeginRead(db_->store().latest_revision());
  ASSERT_TRUE(trx.ok());
  std::set<uint32_t> seen;
  uint64_t records = 0;
  ASSERT_TRUE((*trx)
                  ->Scan(kChunkIndexBase, kChunkLogBase - 1,
                         [&](uint64_t key, std::string_view) {
                           ++records;
                           const uint32_t id = static_cast<uint32_t>(
                               (key >> kRunShift) & (kRunIds - 1));
                           if (id) seen.insert(id);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(seen, live);
  // The manifest, each run's buckets that hold entries, its filter.
  uint64_t most = 1;
  for (const ChunkIndex::Run& r : runs) most += r.buckets + 1;
  EXPECT_LE(records, most);
  // The log holds what the last flush left: 770 = 96 flushes of 8 + 2.
  uint64_t logged = 0;
  ASSERT_TRUE((*trx)
                  ->Scan(kChunkLogBase, kChunkLogBase | 1023,
                         [&](uint64_t, std::string_view v) {
                           logged += static_cast<uint8_t>(v[0]);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(logged, 770u % 8);
}

TEST_P(ChunkIndexTest, KeysThatCollideStayFindableInBucketsOfManyRecords) {
  // With 4-bit lookup keys every chunk shares its key with 1/16 of the
  // others: the buckets of the big runs span several records each, far
  // past what one bucket record (69 entries) held.
  ShortLookupKeys keys(4);
  std::vector<ChunkRef> first;
  for (uint64_t c = 0; c < 6; ++c) {
    Stored s = Store(Range(c * 400, 400));
    first.insert(first.end(), s.refs.begin(), s.refs.end());
  }
  Reopen();
  Stored again = Store(Range(0, 2400));
  EXPECT_EQ(again.content.chunks_reused, 2400u);
  for (uint64_t i = 0; i < 2400; ++i)
    ASSERT_EQ(again.refs[i].page, first[i].page) << i;
  EXPECT_GT(again.counters["index_records_read"],
            2u * again.counters["index_lookups"]);
}

TEST_P(ChunkIndexTest, AFullBucketDropsWhatItCannotHoldAndSaysSo) {
  // Every key 0 and buckets of at most 2 records (138 entries): the merge
  // into 512 entries keeps 138 of them.
  ShortLookupKeys keys(0);
  ChunkIndex::Options o = SmallIndex();
  o.max_bucket_records = 2;
  ChunkIndex::SetOptionsForTest(o);
  Stored s = Store(Range(0, 512));
  const uint64_t dropped = s.counters["index_entries_dropped"];
  EXPECT_EQ(dropped, 512u - 138u);
  // No flush while checking, so each dropped chunk misses exactly once.
  o.log_entries = 100000;
  ChunkIndex::SetOptionsForTest(o);
  Stored again = Store(Range(0, 512));
  EXPECT_EQ(again.content.chunks_new, dropped);
  EXPECT_EQ(again.content.chunks_reused, 138u);
  for (uint64_t i = 0; i < 512; ++i) ExpectHolds(again.refs[i], i);
}

TEST_P(ChunkIndexTest, AnAbortedTransactionsRunsAreNotFoundLater) {
  // The aborted transaction makes runs (and caches their filters) under
  // ids the next transaction gives to different runs.
  Store(Range(0, 100), /*abort=*/true);
  Stored b = Store(Range(1000, 100));
  ASSERT_EQ(b.content.chunks_new, 100u);
  Stored again = Store(Range(1000, 100));
  EXPECT_EQ(again.content.chunks_reused, 100u);
  for (uint64_t i = 0; i < 100; ++i)
    EXPECT_EQ(again.refs[i].page, b.refs[i].page);
  Stored a = Store(Range(0, 100));
  EXPECT_EQ(a.content.chunks_new, 100u);
  for (uint64_t i = 0; i < 100; ++i) ExpectHolds(a.refs[i], i);
}

TEST_P(ChunkIndexTest, AnIndexOfAnEarlierBuildIsRefused) {
  // What format 3's first builds left: buckets 3 << 60 | top 16 bits of the
  // key, count byte first; bucket 0 at the manifest's key, or not there.
  int64_t t = 1;
  for (uint64_t bucket : {uint64_t{0}, uint64_t{5}, uint64_t{65535}}) {
    auto put = db_->BeginWrite();
    ASSERT_TRUE(put.ok());
    const std::string old = std::string(1, '\x01') + std::string(57, 'x');
    ASSERT_TRUE((*put)->Put(kChunkIndexBase | bucket, old).ok());
    ASSERT_TRUE((*put)->Commit(kT0 + t++, "").ok());
    put->reset();

    auto trx = db_->BeginWrite();
    ASSERT_TRUE(trx.ok());
    ContentStats stats;
    auto ref = StoreChunk(**trx, *db_, "bytes", 0, &stats);
    ASSERT_FALSE(ref.ok()) << "bucket " << bucket;
    EXPECT_EQ(ref.status().code(), Status::Code::kNotSupported);
    EXPECT_NE(ref.status().message().find("earlier development build"), std::string::npos)
        << ref.status().ToString();
    trx->reset();

    auto del = db_->BeginWrite();
    ASSERT_TRUE(del.ok());
    ASSERT_TRUE((*del)->Delete(kChunkIndexBase | bucket).ok());
    ASSERT_TRUE((*del)->Commit(kT0 + t++, "").ok());
  }
  // And an empty run-0 range is a new index.
  commits_ = t;
  Stored s = Store(Range(0, 20));
  EXPECT_EQ(s.content.chunks_new, 20u);
}

TEST_P(ChunkIndexTest, ADamagedManifestIsAnErrorNotAHugeLoopOrAllocation) {
  Store(Range(0, 40));  // a few runs, so that the manifest is real
  // A manifest record: magic, next id, one run {id, level, entries,
  // buckets, filter bytes, filter checksum}.
  auto manifest = [](uint64_t entries, uint64_t buckets, uint64_t filter_bytes) {
    std::string s(1, '\xC3');
    auto varint = [&](uint64_t v) {
      for (; v >= 0x80; v >>= 7) s.push_back(static_cast<char>(v | 0x80));
      s.push_back(static_cast<char>(v));
    };
    varint(2);
    varint(1);
    varint(1);
    s.push_back('\0');
    varint(entries);
    varint(buckets);
    varint(filter_bytes);
    s.append(8, '\0');
    return s;
  };
  const struct {
    uint64_t entries, buckets, filter_bytes;
  } cases[] = {
      {uint64_t{1} << 50, 1, 64},   // more entries than its filter is for
      {10, uint64_t{1} << 26, 64},  // more buckets than its filter is for
      {10, 1, uint64_t{1} << 40},   // a filter of a terabyte: not stored
  };
  for (const auto& c : cases) {
    auto trx = db_->BeginWrite();
    ASSERT_TRUE(trx.ok());
    ASSERT_TRUE(
        (*trx)->Put(kChunkIndexBase, manifest(c.entries, c.buckets, c.filter_bytes)).ok());
    ContentStats stats;
    auto ref = StoreChunk(**trx, *db_, "a chunk not stored before", 0, &stats);
    ASSERT_FALSE(ref.ok()) << c.entries << " " << c.buckets << " " << c.filter_bytes;
    EXPECT_TRUE(ref.status().IsCorruption()) << ref.status().ToString();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Approaches, ChunkIndexTest,
    ::testing::Values(Versioning::kFull, Versioning::kIncremental,
                      Versioning::kDifferential, Versioning::kSliding),
    [](const auto& info) { return std::string(VersioningName(info.param)); });

}  // namespace
}  // namespace revfs::testing
