#include "content/compression.h"

#include "content/zstd_context.h"
#include "support/resident.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace revfs {
namespace {

TEST(CompressionTest, TextShrinksAndRoundTrips) {
  std::string raw;
  for (int i = 0; i < 5000; ++i) raw += "line " + std::to_string(i % 50) + " of some source file\n";
  StoreConfig config;
  ChunkEncoding enc;
  std::string stored = CompressChunk(config, raw, &enc);
  EXPECT_EQ(enc, ChunkEncoding::kZstd);
  EXPECT_LT(stored.size(), raw.size() / 5);
  std::string back(raw.size(), '\0');
  ASSERT_TRUE(DecompressChunk(enc, stored, back.data(), back.size()).ok());
  EXPECT_EQ(back, raw);
}

TEST(CompressionTest, RandomDataIsStoredRaw) {
  std::mt19937 rng(1);
  std::string raw(100000, '\0');
  for (char& c : raw) c = static_cast<char>(rng());
  StoreConfig config;
  ChunkEncoding enc;
  std::string stored = CompressChunk(config, raw, &enc);
  EXPECT_EQ(enc, ChunkEncoding::kRaw);
  EXPECT_EQ(stored, raw);
}

TEST(CompressionTest, NoneMeansRaw) {
  StoreConfig config;
  config.compression = Compression::kNone;
  ChunkEncoding enc;
  EXPECT_EQ(CompressChunk(config, std::string(10000, 'a'), &enc), std::string(10000, 'a'));
  EXPECT_EQ(enc, ChunkEncoding::kRaw);
}

TEST(CompressionTest, DamagedOrWrongSizeIsCorruption) {
  StoreConfig config;
  ChunkEncoding enc;
  std::string raw(50000, 'x');
  std::string stored = CompressChunk(config, raw, &enc);
  std::string back(raw.size(), '\0');
  EXPECT_TRUE(DecompressChunk(enc, stored, back.data(), raw.size() - 1).IsCorruption());
  std::mt19937 rng(2);
  for (int i = 0; i < 500; ++i) {
    std::string bad = stored;
    bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
    Status s = DecompressChunk(enc, bad, back.data(), back.size());
    if (s.ok()) {
      EXPECT_EQ(back.size(), raw.size());  // never overruns dst
    }
  }
  EXPECT_TRUE(DecompressChunk(ChunkEncoding::kRaw, "abc", back.data(), 4).IsCorruption());
}

TEST(CompressionTest, DeltaAgainstThePreviousVersionIsSmall) {
  std::mt19937 rng(3);
  std::string base;
  for (int i = 0; i < 20000; ++i) base += "line " + std::to_string(rng() % 100000) + "\n";
  std::string edited = base;
  edited.insert(edited.size() / 2, "an inserted line\n");
  StoreConfig config;
  ChunkEncoding plain_enc, delta_enc;
  std::string plain = CompressChunk(config, edited, &plain_enc);
  std::string delta = CompressChunk(config, edited, &delta_enc, base);
  EXPECT_EQ(delta_enc, ChunkEncoding::kZstdDelta);
  EXPECT_LT(delta.size() * 20, plain.size()) << delta.size() << " vs " << plain.size();
  std::string back(edited.size(), '\0');
  ASSERT_TRUE(DecompressChunk(delta_enc, delta, back.data(), back.size(), base).ok());
  EXPECT_EQ(back, edited);
  // With another base it cannot come back right.
  std::string wrong(base.size(), '\0');
  for (char& c : wrong) c = static_cast<char>(rng());
  std::string garbled(edited.size(), '\0');
  Status s = DecompressChunk(delta_enc, delta, garbled.data(), garbled.size(), wrong);
  EXPECT_TRUE(!s.ok() || garbled != edited);
  // Compression off: no delta either.
  config.compression = Compression::kNone;
  EXPECT_EQ(CompressChunk(config, edited, &delta_enc, base), edited);
  EXPECT_EQ(delta_enc, ChunkEncoding::kRaw);
}

TEST(CompressionTest, ChunkPageHeaderRoundTrips) {
  ChunkPageHeader h;
  h.encoding = ChunkEncoding::kZstdDelta;
  h.raw_size = 1234;
  h.hash = Digest256::FromWords(1, 2);
  h.base_hash = Digest256::FromWords(3, 4);
  h.base_page = PageRef{100, 200, 300};
  h.base_size = 999;
  std::string page = EncodeChunkPage(h, "body");
  ChunkPageHeader d;
  std::string_view body;
  ASSERT_TRUE(DecodeChunkPage(page, kDigestSize, &d, &body).ok());
  EXPECT_EQ(body, "body");
  EXPECT_EQ(d.base_page, h.base_page);
  EXPECT_EQ(d.base_size, 999u);
  EXPECT_TRUE(d.base_hash == h.base_hash);
  for (size_t cut = 0; cut < page.size() - 4; ++cut) {
    EXPECT_FALSE(
        DecodeChunkPage(std::string_view(page).substr(0, cut), kDigestSize, &d, &body).ok())
        << cut;
  }
}

// zstd's contexts take their work space from ZstdMemory: a large block is
// resident in full when zstd gets it (populated in one call, where zstd's
// first clear of its tables would fault it in page by page); a small one
// comes from malloc. Both are freed by their own kind.
TEST(CompressionTest, ZstdWorkSpaceIsPopulatedWhenAllocated) {
  if (!testing::KernelPopulates()) GTEST_SKIP() << "the kernel has no MADV_POPULATE_WRITE";
  const ZSTD_customMem mem = internal::ZstdMemory();
  constexpr size_t kLarge = 1 << 20;
  void* large = mem.customAlloc(mem.opaque, kLarge);
  ASSERT_NE(large, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(large) % 16, 0u);
  // The block's header (16 bytes) pushes it into one more page.
  EXPECT_EQ(testing::ResidentPages(large, kLarge), static_cast<int>((kLarge + 16 + 4095) / 4096));
  std::memset(large, 7, kLarge);
  void* small = mem.customAlloc(mem.opaque, 100);
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small) % 16, 0u);
  std::memset(small, 7, 100);
  mem.customFree(mem.opaque, small);
  mem.customFree(mem.opaque, large);
  mem.customFree(mem.opaque, nullptr);
}

}  // namespace
}  // namespace revfs
