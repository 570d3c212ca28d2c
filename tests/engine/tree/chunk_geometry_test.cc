// Chunk lists whose checksums are valid but whose geometry is not (chunks
// overlapping, out of order, empty or past the file's end), checked on the
// inode encoding alone: decoding is Corruption and the tree-record check
// reports the inode, while well-formed lists (holes, gaps, a tail past the
// last chunk) decode and pass. On a store: chunk_geometry_store_test.cc.
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "revfs/inode.h"

namespace revfs::testing {
namespace {

ChunkRef Stored(uint64_t offset, uint32_t length) {
  ChunkRef c;
  c.offset = offset;
  c.length = length;
  c.hash = Digest256::FromWords(offset + 1, length);
  c.page = PageRef{4096 * (offset + 1), length + 64, 7};
  return c;
}

ChunkRef Hole(uint64_t offset, uint32_t length) {
  ChunkRef c;
  c.offset = offset;
  c.length = length;
  c.hole = true;
  return c;
}

Inode FileOf(uint64_t size, std::vector<ChunkRef> chunks) {
  Inode n;
  n.type = FileType::kRegular;
  n.mode = 0100644;
  n.size = size;
  n.chunks = std::move(chunks);
  return n;
}

TEST(ChunkGeometryTest, DecodingRejectsBadGeometry) {
  const std::vector<std::pair<const char*, Inode>> bad = {
      {"overlap", FileOf(200, {Stored(0, 100), Stored(50, 10)})},
      {"overlap by one byte", FileOf(200, {Stored(0, 100), Stored(99, 10)})},
      {"out of order", FileOf(200, {Stored(100, 50), Stored(0, 100)})},
      {"same offset twice", FileOf(200, {Stored(0, 100), Hole(0, 100)})},
      {"empty chunk", FileOf(200, {Stored(0, 100), Stored(100, 0)})},
      {"empty hole", FileOf(200, {Hole(0, 0)})},
      {"past the size", FileOf(120, {Stored(0, 100), Stored(100, 50)})},
      {"starts past the size", FileOf(100, {Stored(200, 10)})},
      {"hole past the size", FileOf(100, {Hole(0, 101)})},
      {"chunk of an empty file", FileOf(0, {Stored(0, 1)})},
      {"offset + length wraps", FileOf(100, {Stored(0, 10), Stored(UINT64_MAX - 4, 10)})},
  };
  for (const auto& [what, inode] : bad) {
    auto decoded = DecodeInode(EncodeInode(inode));
    ASSERT_FALSE(decoded.ok()) << what;
    EXPECT_TRUE(decoded.status().IsCorruption()) << what << ": " << decoded.status().ToString();
    EXPECT_NE(CheckTreeRecord(kInodeBase | 42, EncodeInode(inode)), "") << what;
  }
  const std::vector<std::pair<const char*, Inode>> good = {
      {"empty file", FileOf(0, {})},
      {"one chunk", FileOf(100, {Stored(0, 100)})},
      {"chunk, hole, chunk", FileOf(300, {Stored(0, 100), Hole(100, 100), Stored(200, 100)})},
      {"gaps are holes", FileOf(1000, {Stored(10, 100), Stored(500, 100)})},
      {"tail past the last chunk is a hole", FileOf(1 << 20, {Stored(0, 100)})},
  };
  for (const auto& [what, inode] : good) {
    auto decoded = DecodeInode(EncodeInode(inode));
    ASSERT_TRUE(decoded.ok()) << what << ": " << decoded.status().ToString();
    EXPECT_EQ(decoded->chunks.size(), inode.chunks.size()) << what;
    EXPECT_EQ(CheckTreeRecord(kInodeBase | 42, EncodeInode(inode)), "") << what;
  }
  EXPECT_EQ(CheckTreeRecord(kMapBlockBase | 42, "not an inode"), "");
}

}  // namespace
}  // namespace revfs::testing
