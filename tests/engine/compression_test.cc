#include "revfs/compression.h"

#include <gtest/gtest.h>

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
    if (s.ok()) EXPECT_EQ(back.size(), raw.size());  // never overruns dst
  }
  EXPECT_TRUE(DecompressChunk(ChunkEncoding::kRaw, "abc", back.data(), 4).IsCorruption());
}

}  // namespace
}  // namespace revfs
