// Chunk lists whose checksums are valid but whose geometry is not, written
// into a committed store: reading the inode is Corruption rather than a
// throw (other files and older revisions stay readable), the read path
// answers Corruption instead of throwing (also for a long chunk list kept in
// a sorted map), and Verify with the tree-record check reports the inode.
// The inode encoding alone: chunk_geometry_test.cc.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>

#include "revfs/tree.h"
#include "support/engine_test.h"
#include "tree/file_chunks.h"
#include "tree/sorted_map.h"

namespace revfs::testing {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;

class ChunkGeometryStoreTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    src_ = Path("src");
    std::filesystem::create_directory(src_);
    rs_ = CreateStore("store", kT0);
    ASSERT_TRUE(rs_);
  }
  void ReleaseResources() override { rs_.reset(); }

  void Write(const std::string& name, const std::string& data) {
    std::ofstream(src_ + "/" + name, std::ios::binary | std::ios::trunc) << data;
  }

  // Commits f (100 bytes) and g (10 bytes), then a revision whose f claims
  // 200 bytes made of f's chunk at 0 and g's chunk at 50: each record and
  // page is checksum-valid; only the geometry is wrong. Returns f's inode
  // number; `bad` gets the inode as written.
  uint64_t CommitOverlappingFile(Inode* bad) {
    Write("f", std::string(100, 'f'));
    Write("g", std::string(10, 'g'));
    CaptureOptions o;
    o.time_ns = kT0 + 1;
    auto committed = CaptureTree(*rs_, src_, o);
    EXPECT_TRUE(committed.ok()) << committed.status().ToString();
    auto trx = std::move(rs_->BeginRead(1)).value();
    auto f = ResolvePath(*trx, "f");
    auto g = ResolvePath(*trx, "g");
    EXPECT_TRUE(f.ok() && g.ok());
    EXPECT_EQ(f->second.chunks.size(), 1u);
    EXPECT_EQ(g->second.chunks.size(), 1u);
    *bad = f->second;
    bad->size = 200;
    ChunkRef second = g->second.chunks[0];
    second.offset = 50;
    bad->chunks.push_back(second);
    auto w = std::move(rs_->BeginWrite()).value();
    EXPECT_TRUE(w->Put(kInodeBase | f->first, EncodeInode(*bad)).ok());
    EXPECT_TRUE(w->Commit(kT0 + 2, "overlap").ok());
    return f->first;
  }

  std::string src_;
  std::unique_ptr<Database> rs_;
};

TEST_F(ChunkGeometryStoreTest, OverlappingInodeIsCorruptionNotAThrow) {
  Inode bad;
  const uint64_t ino = CommitOverlappingFile(&bad);
  auto trx = std::move(rs_->BeginRead(2)).value();
  std::optional<Result<Inode>> got;
  ASSERT_NO_THROW(got.emplace(GetInode(*trx, ino)));
  ASSERT_FALSE(got->ok());
  EXPECT_TRUE(got->status().IsCorruption()) << got->status().ToString();
  EXPECT_NE(got->status().message().find("overlaps"), std::string_view::npos)
      << got->status().ToString();
  auto path = ResolvePath(*trx, "f");
  ASSERT_FALSE(path.ok());
  EXPECT_TRUE(path.status().IsCorruption()) << path.status().ToString();
  // The other file and the older revision stay readable.
  auto g = ResolvePath(*trx, "g");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  auto old = std::move(rs_->BeginRead(1)).value();
  auto f1 = ResolvePath(*old, "f");
  ASSERT_TRUE(f1.ok()) << f1.status().ToString();
  EXPECT_EQ(rs_->PinsHeld(), 0u);
}

TEST_F(ChunkGeometryStoreTest, ReadPathAnswersCorruptionForBadGeometry) {
  Inode bad;
  CommitOverlappingFile(&bad);
  auto trx = std::move(rs_->BeginRead(1)).value();
  // The inode as a caller may hold it without decoding (the read path must
  // not rely on DecodeInode having run).
  for (uint64_t offset : {uint64_t{0}, uint64_t{40}, uint64_t{55}, uint64_t{100}}) {
    std::string bytes;
    Status s;
    ASSERT_NO_THROW(s = ReadFile(*rs_, *trx, bad, offset, 200, [&](std::string_view piece) {
                      bytes.append(piece);
                      return Status::OK();
                    }));
    EXPECT_TRUE(s.IsCorruption()) << offset << ": " << s.ToString();
    std::vector<PinnedView> pins;
    std::vector<std::string_view> pieces;
    ASSERT_NO_THROW(s = ReadFilePinned(*rs_, *trx, bad, offset, 200, &pins, &pieces));
    EXPECT_TRUE(s.IsCorruption()) << offset << ": " << s.ToString();
  }
  // A chunk whose stored bytes are fewer than its length says.
  Inode short_chunk = bad;
  short_chunk.chunks.pop_back();
  short_chunk.chunks[0].length = 150;
  short_chunk.size = 150;
  std::vector<PinnedView> pins;
  std::vector<std::string_view> pieces;
  Status s;
  ASSERT_NO_THROW(s = ReadFilePinned(*rs_, *trx, short_chunk, 120, 10, &pins, &pieces));
  EXPECT_FALSE(s.ok());
  pins.clear();
  EXPECT_EQ(rs_->PinsHeld(), 0u);
}

TEST_F(ChunkGeometryStoreTest, LongChunkListWithAnOverlapIsCorruption) {
  // A list longer than kInlineChunks lives in a sorted map, which
  // DecodeInode does not read: the read path has to catch it. g's 10-byte
  // chunk at 0, 10, ..., 160, then once more at 165, overlapping.
  Inode bad;
  CommitOverlappingFile(&bad);
  const ChunkRef g = bad.chunks[1];
  auto w = std::move(rs_->BeginWrite()).value();
  auto meta_record = w->Get(kMetaKey);
  ASSERT_TRUE(meta_record.ok() && meta_record->has_value());
  auto meta = DecodeTreeMeta(**meta_record);
  ASSERT_TRUE(meta.ok());
  SortedMapWriter map(w.get(), kMapBlockBase, [&] { return meta->next_block++; }, MapRoot{});
  std::string value;
  for (uint64_t offset = 0; offset <= 170; offset += 10) {
    ChunkRef c = g;
    c.offset = offset == 170 ? 165 : offset;
    value.clear();
    EncodeChunkRef(&value, c);
    ASSERT_TRUE(map.Add(OffsetKey(c.offset), value).ok());
  }
  Inode file = bad;
  file.size = 180;
  file.chunks.clear();
  auto root = map.Finish();
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  file.map = *root;
  ASSERT_TRUE(w->Put(kMetaKey, EncodeTreeMeta(*meta)).ok());
  ASSERT_TRUE(w->Put(kInodeBase | 1000, EncodeInode(file)).ok());
  ASSERT_TRUE(w->Commit(kT0 + 3, "long overlap").ok());
  auto trx = std::move(rs_->BeginRead(3)).value();
  auto stored = GetInode(*trx, 1000);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();  // the inline part is fine
  for (uint64_t offset : {uint64_t{0}, uint64_t{150}, uint64_t{162}}) {
    std::string bytes;
    Status st;
    ASSERT_NO_THROW(st = ReadFile(*rs_, *trx, *stored, offset, 180, [&](std::string_view piece) {
                      bytes.append(piece);
                      return Status::OK();
                    }));
    EXPECT_TRUE(st.IsCorruption()) << offset << ": " << st.ToString();
  }
  // Reading before the overlap still works.
  std::string head;
  ASSERT_TRUE(ReadFile(*rs_, *trx, *stored, 0, 100, [&](std::string_view piece) {
                head.append(piece);
                return Status::OK();
              }).ok());
  EXPECT_EQ(head, std::string(100, 'g'));
  EXPECT_EQ(rs_->PinsHeld(), 0u);
}

TEST_F(ChunkGeometryStoreTest, VerifyReportsTheInode) {
  Inode bad;
  const uint64_t ino = CommitOverlappingFile(&bad);
  VerifyReport plain;
  ASSERT_TRUE(rs_->Verify(&plain).ok());
  EXPECT_TRUE(plain.clean());  // every checksum and record trie is fine
  VerifyReport report;
  ASSERT_TRUE(rs_->Verify(&report, CheckTreeRecord).ok());
  ASSERT_EQ(report.damage.size(), 1u);
  EXPECT_EQ(report.damage[0].revision, std::optional<uint64_t>(2));
  EXPECT_NE(report.damage[0].what.find("inode " + std::to_string(ino) + ": "), std::string::npos)
      << report.damage[0].what;
  EXPECT_NE(report.damage[0].what.find("overlaps"), std::string::npos) << report.damage[0].what;
}

}  // namespace
}  // namespace revfs::testing
