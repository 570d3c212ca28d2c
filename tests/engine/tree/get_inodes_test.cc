// GetInodes: a batch of inodes read by ranges gives exactly what point
// reads give — the same inodes in the order asked, repeats and all, each
// missing or damaged one with its own error — and reads a directory's
// children with range reads, not a point read each; and a capture numbers
// inodes 64 to a record leaf.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "revfs/tree.h"
#include "support/engine_test.h"
#include "tree/sorted_map.h"

namespace revfs {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;

class GetInodesTest : public testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    const std::string src = Path("src");
    for (int d = 0; d < 3; ++d) {
      const std::string dir = src + "/d" + std::to_string(d);
      std::filesystem::create_directories(dir + "/sub");
      for (int i = 0; i < 200; ++i) std::ofstream(dir + "/f" + std::to_string(i)) << d << ":" << i;
    }
    std::filesystem::create_symlink("d0/f1", src + "/link");
    rs_ = CreateStore("store", kT0);
    ASSERT_TRUE(rs_);
    CaptureOptions o;
    o.time_ns = kT0 + 1;
    ASSERT_TRUE(CaptureTree(*rs_, src, o).ok());
  }
  void ReleaseResources() override { rs_.reset(); }

  // Every inode number of revision `rev`, from a walk of its tree.
  std::vector<uint64_t> AllInos(ReadTrx& trx) {
    std::vector<uint64_t> inos = {kRootIno};
    for (size_t i = 0; i < inos.size(); ++i) {
      auto inode = GetInode(trx, inos[i]);
      EXPECT_TRUE(inode.ok());
      if (!inode.ok() || inode->type != FileType::kDirectory) continue;
      EXPECT_TRUE(ListDirectory(trx, *inode, "", [&](std::string_view, const DirEntry& e) {
                    inos.push_back(e.ino);
                    return true;
                  }).ok());
    }
    return inos;
  }

  std::unique_ptr<Database> rs_;
};

TEST_F(GetInodesTest, EqualsPointReadsInTheOrderAsked) {
  auto trx = rs_->BeginRead(1);
  ASSERT_TRUE(trx.ok());
  std::vector<uint64_t> inos = AllInos(**trx);
  ASSERT_EQ(inos.size(), 1u + 4u + 3u * 201u);
  const uint64_t top = *std::max_element(inos.begin(), inos.end());
  // Shuffled, with repeats, and numbers no inode has: one inside a run,
  // one far past the last.
  std::vector<uint64_t> asked = inos;
  asked.insert(asked.end(), inos.begin(), inos.begin() + 50);
  asked.push_back(top + 1);
  asked.push_back(top + 100000);
  std::shuffle(asked.begin(), asked.end(), std::mt19937(7));
  std::vector<Result<Inode>> got = GetInodes(**trx, asked);
  ASSERT_EQ(got.size(), asked.size());
  for (size_t i = 0; i < asked.size(); ++i) {
    Result<Inode> want = GetInode(**trx, asked[i]);
    ASSERT_EQ(got[i].ok(), want.ok()) << "inode " << asked[i];
    if (want.ok()) {
      EXPECT_EQ(EncodeInode(*got[i]), EncodeInode(*want)) << "inode " << asked[i];
    } else {
      EXPECT_TRUE(got[i].status().IsNotFound()) << got[i].status().ToString();
    }
  }
  EXPECT_TRUE(GetInodes(**trx, {}).empty());
}

TEST_F(GetInodesTest, ReadsADirectorysChildrenByRanges) {
  auto trx = rs_->BeginRead(1);
  ASSERT_TRUE(trx.ok());
  auto dir = ResolvePath(**trx, "d1");
  ASSERT_TRUE(dir.ok());
  std::vector<uint64_t> children;
  ASSERT_TRUE(ListDirectory(**trx, dir->second, "", [&](std::string_view, const DirEntry& e) {
                children.push_back(e.ino);
                return true;
              }).ok());
  ASSERT_EQ(children.size(), 201u);
  const RecordStats before = rs_->stats();
  std::vector<Result<Inode>> got = GetInodes(**trx, children);
  const RecordStats after = rs_->stats();
  for (const auto& inode : got) EXPECT_TRUE(inode.ok()) << inode.status().ToString();
  // Neighbours in the key space: a few range reads, not 201 point reads.
  EXPECT_EQ(after.point_reads - before.point_reads, 0u);
  EXPECT_GE(after.range_reads - before.range_reads, 1u);
  EXPECT_LE(after.range_reads - before.range_reads, 3u);
  // The point reads they replace.
  for (uint64_t ino : children) ASSERT_TRUE(GetInode(**trx, ino).ok());
  EXPECT_EQ(rs_->stats().point_reads - after.point_reads, children.size());
}

// A capture numbers inodes 64 to a record leaf, in walk order: every
// number sits in the first 64 slots of its leaf, and the leaves fill one
// after the other.
TEST_F(GetInodesTest, InodesAreNumberedSixtyFourToALeaf) {
  auto trx = rs_->BeginRead(1);
  ASSERT_TRUE(trx.ok());
  std::vector<uint64_t> inos = AllInos(**trx);
  std::map<uint64_t, int> per_leaf;
  for (uint64_t ino : inos) {
    EXPECT_LT(ino % 1024, kInodesPerLeaf) << ino;
    ++per_leaf[ino / 1024];
  }
  // 608 inodes from number 2 on (the root is 1): 63 in leaf 0, 64 in each
  // of the next eight, 33 in the tenth.
  ASSERT_EQ(inos.size(), 608u);
  ASSERT_EQ(per_leaf.size(), 10u);
  int i = 0;
  for (const auto& [leaf, count] : per_leaf) {
    EXPECT_EQ(leaf, static_cast<uint64_t>(i));
    EXPECT_EQ(count, i == 0 ? 63 : i == 9 ? 33 : 64) << "leaf " << leaf;
    ++i;
  }
}

TEST(TakeInodeNumberTest, MovesToTheNextLeafWhenItsOwnIsFull) {
  TreeMeta m;
  EXPECT_EQ(TakeInodeNumber(&m), 2u);  // after the root
  m.next_ino = 63;
  EXPECT_EQ(TakeInodeNumber(&m), 63u);
  EXPECT_EQ(TakeInodeNumber(&m), 1024u);
  EXPECT_EQ(TakeInodeNumber(&m), 1025u);
  // A store numbered densely before: its next number is past slot 63.
  m.next_ino = 200002;
  EXPECT_EQ(TakeInodeNumber(&m), 196u * 1024);
  EXPECT_EQ(m.next_ino, 196u * 1024 + 1);
  m.next_ino = 5 * 1024;
  EXPECT_EQ(TakeInodeNumber(&m), 5u * 1024);
}

// Sorted-map blocks are numbered 64 to a record leaf too: the blocks of a
// first capture of 150 directories are exactly the ids TakeBlockId hands
// out from a new store's, in order, so no leaf holds more than 64 of them.
TEST_F(GetInodesTest, MapBlocksAreNumberedSixtyFourToALeaf) {
  const std::string src = Path("many");
  for (int d = 0; d < 150; ++d) {
    const std::string dir = src + "/d" + std::to_string(d);
    std::filesystem::create_directories(dir);
    for (int i = 0; i < 5; ++i) std::ofstream(dir + "/f" + std::to_string(i)) << i;
  }
  auto db = CreateStore("many-store", kT0);
  ASSERT_TRUE(db);
  CaptureOptions o;
  o.time_ns = kT0 + 1;
  ASSERT_TRUE(CaptureTree(*db, src, o).ok());
  auto trx = db->BeginRead(1);
  ASSERT_TRUE(trx.ok());
  std::vector<uint64_t> ids;
  for (uint64_t ino : AllInos(**trx)) {
    auto inode = GetInode(**trx, ino);
    ASSERT_TRUE(inode.ok());
    if (inode->type != FileType::kDirectory || inode->map.empty()) continue;
    ASSERT_TRUE(
        MapBlocks(**trx, kMapBlockBase, inode->map, [&](uint64_t id) { ids.push_back(id); }).ok());
  }
  std::sort(ids.begin(), ids.end());
  ASSERT_GT(ids.size(), 2 * kBlocksPerLeaf);  // more than two leaves' worth
  TreeMeta fresh;
  std::map<uint64_t, uint64_t> per_leaf;
  for (uint64_t id : ids) {
    EXPECT_EQ(id, TakeBlockId(&fresh));
    ++per_leaf[id / 1024];
  }
  EXPECT_GE(per_leaf.size(), 3u);
  for (const auto& [leaf, count] : per_leaf) EXPECT_LE(count, kBlocksPerLeaf) << "leaf " << leaf;
}

TEST(TakeBlockIdTest, MovesToTheNextLeafWhenItsOwnIsFull) {
  TreeMeta m;
  EXPECT_EQ(TakeBlockId(&m), 1u);
  m.next_block = 63;
  EXPECT_EQ(TakeBlockId(&m), 63u);
  EXPECT_EQ(TakeBlockId(&m), 1024u);
  EXPECT_EQ(TakeBlockId(&m), 1025u);
  // A store whose blocks were numbered densely before: past slot 63.
  m.next_block = 9000;
  EXPECT_EQ(TakeBlockId(&m), 9u * 1024);
  EXPECT_EQ(m.next_block, 9u * 1024 + 1);
}

TEST_F(GetInodesTest, ADamagedRecordFailsOnlyItsOwnInode) {
  uint64_t damaged = 0;
  std::vector<uint64_t> children;
  {
    auto trx = rs_->BeginRead(1);
    ASSERT_TRUE(trx.ok());
    auto dir = ResolvePath(**trx, "d2");
    ASSERT_TRUE(dir.ok());
    ASSERT_TRUE(ListDirectory(**trx, dir->second, "", [&](std::string_view, const DirEntry& e) {
                  children.push_back(e.ino);
                  return true;
                }).ok());
    damaged = children[17];
    auto w = rs_->BeginWrite();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Put(kInodeBase | damaged, "not an inode").ok());
    ASSERT_TRUE((*w)->Commit(kT0 + 2, "damage").ok());
  }
  auto trx = rs_->BeginRead(2);
  ASSERT_TRUE(trx.ok());
  std::vector<Result<Inode>> got = GetInodes(**trx, children);
  for (size_t i = 0; i < children.size(); ++i) {
    if (children[i] == damaged) {
      ASSERT_FALSE(got[i].ok());
      EXPECT_TRUE(got[i].status().IsCorruption()) << got[i].status().ToString();
    } else {
      EXPECT_TRUE(got[i].ok()) << children[i] << ": " << got[i].status().ToString();
    }
  }
}

}  // namespace
}  // namespace revfs
