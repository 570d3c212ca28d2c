#include "content/chunker.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <random>
#include <set>
#include <vector>

namespace revfs {
namespace {

std::vector<size_t> Cuts(const Chunker& c, const std::vector<uint8_t>& data) {
  std::vector<size_t> lengths;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t len = c.FindCut(data.data() + pos, data.size() - pos);
    lengths.push_back(len);
    pos += len;
  }
  return lengths;
}

std::set<uint64_t> ChunkHashes(const Chunker& c, const std::vector<uint8_t>& data) {
  std::set<uint64_t> hashes;
  size_t pos = 0;
  for (size_t len : Cuts(c, data)) {
    hashes.insert(XXH3_64bits(data.data() + pos, len));
    pos += len;
  }
  return hashes;
}

std::vector<uint8_t> RandomBytes(size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

TEST(ChunkerTest, SizesStayWithinBoundsAndAverageNearTarget) {
  Chunker c(ChunkerParams{});
  auto data = RandomBytes(64 << 20, 1);
  auto lengths = Cuts(c, data);
  size_t total = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    total += lengths[i];
    if (i + 1 < lengths.size()) {
      EXPECT_GE(lengths[i], c.params().min_size);
      EXPECT_LE(lengths[i], c.params().max_size);
    }
  }
  EXPECT_EQ(total, data.size());
  double avg = static_cast<double>(total) / lengths.size();
  EXPECT_GT(avg, 0.6 * (1 << 20));
  EXPECT_LT(avg, 1.8 * (1 << 20));
}

TEST(ChunkerTest, SmallInputIsOneChunk) {
  Chunker c(ChunkerParams{});
  auto data = RandomBytes(100 * 1024, 2);
  EXPECT_EQ(Cuts(c, data), std::vector<size_t>{data.size()});
}

TEST(ChunkerTest, InsertingAByteKeepsAlmostEveryChunk) {
  Chunker c(ChunkerParams{});
  auto data = RandomBytes(32 << 20, 3);
  auto before = ChunkHashes(c, data);
  data.insert(data.begin(), 0x42);
  auto after = ChunkHashes(c, data);
  size_t shared = 0;
  for (uint64_t h : after) shared += before.count(h);
  EXPECT_GE(shared + 2, before.size()) << "only the chunks at the insert may change";
}

TEST(ChunkerTest, RejectsBadParams) {
  EXPECT_FALSE((ChunkerParams{1024, 1000, 4096}).Validate().ok());
  EXPECT_FALSE((ChunkerParams{4096, 2048, 8192}).Validate().ok());
  EXPECT_TRUE((ChunkerParams{}).Validate().ok());
}

}  // namespace
}  // namespace revfs
