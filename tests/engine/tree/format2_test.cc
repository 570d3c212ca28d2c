// Format-2 content read in place after `revfs upgrade` (engine/FORMAT.md,
// "Format-2 content in a format-3 store"), on the stores the format-2
// program wrote (tests/fixtures/format2): every file of every revision
// reads back with the SHA-256 its source had, and the stores are shown to
// hold what the short-digest paths decode — format-2 chunk pages (zstd,
// raw, deltas), chunk lists kept as sorted maps, directories of several
// map levels and format 2's chunk index.
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "content/compression.h"
#include "revfs/tree.h"
#include "store/page_log.h"
#include "support/engine_test.h"
#include "util/hash.h"

namespace revfs::testing {
namespace {

struct Seen {
  int files = 0;
  int short_chunks = 0;
  int short_deltas = 0;     // chunk pages of format 2 stored as a delta
  int short_file_maps = 0;  // chunk lists of format 2 kept as a sorted map
  int short_upper_dirs = 0;  // format-2 directory maps above level 0
};

class Format2Test : public EngineTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void ReleaseResources() override { db_.reset(); }

  // The manifest's SHA-256 of each regular file of revision `r`.
  std::map<std::string, std::string> Digests(int r) {
    std::map<std::string, std::string> out;
    std::ifstream in(Path("manifests/" + std::to_string(r)));
    for (std::string line; std::getline(in, line);) {
      const size_t bar = line.find("|sha256|");
      if (bar != std::string::npos) out[line.substr(2, bar - 2)] = line.substr(bar + 8);
    }
    return out;
  }

  // Whether the chunk page `c` names is a delta (its header read with
  // the digest width `c.hash` says).
  bool IsDelta(const ChunkRef& c) {
    std::string buf;
    PageView view;
    if (!db_->store().pages().Read(c.page, PageKind::kChunk, &buf, &view).ok()) return false;
    ChunkPageHeader header;
    std::string_view body;
    if (!DecodeChunkPage(view.payload, DigestSizeOf(c.hash), &header, &body).ok()) return false;
    return header.encoding == ChunkEncoding::kZstdDelta && header.base_hash.IsShort();
  }

  void CheckRevision(int r, Seen* seen) {
    auto trx = db_->BeginRead(r);
    ASSERT_TRUE(trx.ok()) << trx.status().ToString();
    const auto digests = Digests(r);
    ASSERT_FALSE(digests.empty());
    for (const auto& [path, hex] : digests) {
      auto found = ResolvePath(**trx, path);
      ASSERT_TRUE(found.ok()) << r << " " << path << ": " << found.status().ToString();
      const Inode& file = found->second;
      std::string content;
      Status s = ReadFile(*db_, **trx, file, 0, file.size, [&](std::string_view p) {
        content.append(p);
        return Status::OK();
      });
      ASSERT_TRUE(s.ok()) << r << " " << path << ": " << s.ToString();
      EXPECT_EQ(HashBytes(content).ToHex(), hex) << "revision " << r << " " << path;
      ++seen->files;
      if (file.map.hash.IsShort()) ++seen->short_file_maps;
      ASSERT_TRUE(ForEachChunk(**trx, file, 0, [&](const ChunkRef& c) {
                    if (c.hash.IsShort()) ++seen->short_chunks;
                    if (c.hash.IsShort() && c.depth > 0 && IsDelta(c)) ++seen->short_deltas;
                    return true;
                  }).ok());
    }
    auto many = ResolvePath(**trx, "many");
    ASSERT_TRUE(many.ok());
    if (many->second.map.hash.IsShort() && many->second.map.level > 0) ++seen->short_upper_dirs;
  }

  std::unique_ptr<Database> db_;
};

TEST_P(Format2Test, EveryFileReadsAsItsSourceAfterTheUpgrade) {
  const std::string fixtures = std::string(REVFS_FIXTURES) + "/format2/stores.tar.gz";
  ASSERT_EQ(std::system(("tar -C " + dir().string() + " -xzf " + fixtures).c_str()), 0);
  UpgradeReport report;
  ASSERT_TRUE(Store::Upgrade(Path(GetParam()), {}, &report).ok());
  EXPECT_EQ(report.from_format, 2u);
  EXPECT_EQ(report.revisions, 6u);
  db_ = OpenStore(GetParam());
  ASSERT_TRUE(db_);
  EXPECT_EQ(db_->store().superblock().flags, kFlagFormat2Index);
  auto dropped = FinishUpgrade(*db_);
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  EXPECT_GT(*dropped, 1u);
  EXPECT_EQ(db_->store().superblock().flags, 0u);
  auto again = FinishUpgrade(*db_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u);

  Seen seen;
  for (int r = 1; r <= 5; ++r) ASSERT_NO_FATAL_FAILURE(CheckRevision(r, &seen));
  EXPECT_GT(seen.files, 1000);
  EXPECT_GT(seen.short_chunks, 1000);
  EXPECT_GT(seen.short_deltas, 0);
  EXPECT_GT(seen.short_file_maps, 0);
  EXPECT_EQ(seen.short_upper_dirs, 5);
  // No index record is left in the latest revision.
  auto latest = db_->BeginRead(5);
  ASSERT_TRUE(latest.ok());
  int index_records = 0;
  ASSERT_TRUE((*latest)
                  ->Scan(kChunkIndexBase, kChunkLogBase | (kChunkIndexBase - 1),
                         [&](uint64_t, std::string_view) {
                           ++index_records;
                           return true;
                         })
                  .ok());
  EXPECT_EQ(index_records, 0);
  VerifyReport verify;
  ASSERT_TRUE(db_->Verify(&verify).ok());
  for (const auto& d : verify.damage) ADD_FAILURE() << d.file << " " << d.offset << " " << d.what;

  // Reopened: the same.
  db_.reset();
  db_ = OpenStore(GetParam());
  ASSERT_TRUE(db_);
  Seen reopened;
  ASSERT_NO_FATAL_FAILURE(CheckRevision(5, &reopened));
}

INSTANTIATE_TEST_SUITE_P(Versionings, Format2Test, ::testing::Values("sliding", "incremental"));

}  // namespace
}  // namespace revfs::testing
