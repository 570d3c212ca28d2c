// Readers under ordinary concurrency get their bytes, not ENOMEM: six
// threads, each holding two 4 MiB chunks at once (a read across a chunk
// boundary), with the caches of a 64 MiB cache_size and a 64 MiB budget.
// The store sizes its pool's headroom from the readers it was told of.
#include <gtest/gtest.h>

#include <barrier>
#include <random>
#include <thread>

#include "content/chunk_loader.h"
#include "content/compression.h"
#include "util/hash.h"
#include "revfs/database.h"
#include "support/engine_test.h"

namespace revfs::testing {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int kReaders = 6;
constexpr int kRounds = 2;
constexpr size_t kChunk = 4u << 20;

struct StoredChunk {
  std::string raw;
  Digest256 hash;
  PageRef page;
};

class ConcurrentReadersTest : public EngineTest {
 protected:
  void ReleaseResources() override { rs_.reset(); }

  std::unique_ptr<Database> rs_;
};

TEST_F(ConcurrentReadersTest, SixReadersOfLargeChunksUnderA64MiBBudgetAllSucceed) {
  const std::string path = Path("store");
  ASSERT_TRUE(Store::Create(path, StoreConfig{}, {}, kT0).ok());
  DatabaseOptions options;
  options.store.writable = true;
  // As the mount sets them for cache_size=64M, with a 64 MiB budget.
  const size_t cache_size = 64u << 20;
  options.memory.allocator.budget_bytes = 64u << 20;
  options.memory.fragment_cache_bytes = cache_size / 8;
  options.memory.page_cache_bytes = cache_size * 3 / 8;
  options.memory.chunk_cache_bytes = cache_size / 2;
  options.reader_threads = kReaders;
  auto rs = Database::Open(path, options);
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  rs_ = std::move(rs).value();

  // Incompressible 4 MiB chunks: each a page of 4 MiB and a header, so each
  // pinned chunk holds a segment of the largest class.
  std::vector<StoredChunk> chunks(kReaders * kRounds * 2);
  {
    std::mt19937_64 rng(42);
    auto trx = rs_->BeginWrite();
    ASSERT_TRUE(trx.ok());
    for (StoredChunk& c : chunks) {
      c.raw.resize(kChunk);
      for (size_t i = 0; i < kChunk; i += 8) {
        const uint64_t v = rng();
        std::memcpy(c.raw.data() + i, &v, 8);
      }
      c.hash = HashBytes(c.raw);
      ChunkPageHeader header;
      header.encoding = ChunkEncoding::kRaw;
      header.raw_size = static_cast<uint32_t>(kChunk);
      header.hash = c.hash;
      auto ref = (*trx)->AppendPage(PageKind::kChunk, EncodeChunkPage(header, c.raw));
      ASSERT_TRUE(ref.ok());
      c.page = *ref;
    }
    ASSERT_TRUE((*trx)->Commit(kT0 + 1, "chunks").ok());
  }
  rs_->ClearCaches();

  std::barrier sync(kReaders);
  std::atomic<int> exact{0};
  std::vector<std::string> errors(kReaders);
  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        const StoredChunk& a = chunks[(round * kReaders + t) * 2];
        const StoredChunk& b = chunks[(round * kReaders + t) * 2 + 1];
        auto first = rs_->chunk_loader().Chunk(a.hash, a.page, kChunk);
        sync.arrive_and_wait();  // every reader holds one chunk...
        auto second = rs_->chunk_loader().Chunk(b.hash, b.page, kChunk);  // ...and asks for the next
        if (!first.ok() || !second.ok()) {
          errors[t] = (first.ok() ? second : first).status().ToString();
        } else {
          if (first->bytes() == a.raw) exact.fetch_add(1);
          if (second->bytes() == b.raw) exact.fetch_add(1);
        }
        sync.arrive_and_wait();  // both held until every reader has both
      }
    });
  }
  for (std::thread& r : readers) r.join();
  for (int t = 0; t < kReaders; ++t) EXPECT_EQ(errors[t], "") << "reader " << t;
  EXPECT_EQ(exact.load(), kReaders * kRounds * 2);
  EXPECT_EQ(rs_->PinsHeld(), 0u);
  rs_->ClearCaches();
  AllocatorStats st = rs_->allocator().stats();
  EXPECT_TRUE(st.Conserved()) << st.ToJson();
}

}  // namespace
}  // namespace revfs::testing
