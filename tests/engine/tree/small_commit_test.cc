// Small commits: where a revision's bytes go (the per-kind counters) and how
// many bytes a commit of a few small edited files in a small tree costs,
// under every versioning approach.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "revfs/tree.h"
#include "support/engine_test.h"

namespace revfs {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;

// Text of `n` bytes from a small vocabulary (compresses like source code).
std::string Text(std::mt19937_64& rng, size_t n) {
  static const char* kWords[] = {"alpha", "beta", "gamma", "delta", "return", "int",
                                 "struct", "value", "index", "count", "if", "for"};
  std::string s;
  while (s.size() < n) {
    s += kWords[rng() % 12];
    s += (rng() % 9 == 0) ? "\n" : " ";
  }
  s.resize(n);
  return s;
}

class SmallCommitTest : public testing::EngineTest,
                        public ::testing::WithParamInterface<Versioning> {
 protected:
  void SetUp() override {
    testing::EngineTest::SetUp();
    src_ = Path("src");
    StoreConfig config;
    config.versioning = GetParam();
    rs_ = CreateStore("store", kT0, config);
    ASSERT_TRUE(rs_);
  }
  void ReleaseResources() override { rs_.reset(); }

  std::string FilePath(int f) const {
    return src_ + "/d" + std::to_string(f % 4) + "/s" + std::to_string(f % 3) + "/f" +
           std::to_string(f) + ".txt";
  }
  // 200 files of 1-3 KiB in 12 directories (two levels, like tree_gen).
  void MakeTree() {
    std::mt19937_64 rng(1);
    for (int f = 0; f < 200; ++f) {
      fs::create_directories(fs::path(FilePath(f)).parent_path());
      std::ofstream(FilePath(f), std::ios::binary) << Text(rng, 1024 + rng() % 2048);
    }
  }
  // Appends a line to 5 files picked by `seed`.
  void Edit(unsigned seed) {
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 5; ++i) {
      std::ofstream(FilePath(static_cast<int>(rng() % 200)), std::ios::app) << Text(rng, 60);
    }
  }
  uint64_t Commit(int64_t t) {
    CaptureOptions o;
    o.time_ns = kT0 + t;
    auto s = CaptureTree(*rs_, src_, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? s->revision : 0;
  }

  std::string src_;
  std::unique_ptr<Database> rs_;
};

TEST_P(SmallCommitTest, CountersSayWhereTheBytesGo) {
  MakeTree();
  Commit(1);
  Edit(7);
  const uint64_t rev = Commit(2);
  auto root = rs_->store().ReadRevisionRoot(rev);
  ASSERT_TRUE(root.ok());
  const uint64_t parts = root->Counter("bytes_chunks") + root->Counter("bytes_indirect") +
                         root->Counter("bytes_leaves_meta") +
                         root->Counter("bytes_leaves_inodes") +
                         root->Counter("bytes_leaves_maps") +
                         root->Counter("bytes_leaves_chunk_index") +
                         root->Counter("bytes_leaves_chunk_log") +
                         root->Counter("bytes_leaves_other");
  EXPECT_EQ(parts, root->Counter("bytes_written"));
  EXPECT_GT(root->Counter("bytes_chunks"), 0u);
  EXPECT_GT(root->Counter("bytes_leaves_inodes"), 0u);
  EXPECT_GT(root->Counter("bytes_leaves_maps"), 0u);
  EXPECT_GT(root->Counter("bytes_indirect"), 0u);
}

TEST_P(SmallCommitTest, PathCompressedTrieWritesTwoPagesPerKind) {
  MakeTree();
  Commit(1);
  Edit(7);
  const uint64_t rev = Commit(2);
  auto root = rs_->store().ReadRevisionRoot(rev);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->trie_height, 8u);
  // The root and one level-1 page for each of metadata, inodes, map blocks,
  // the chunk log, the history's version pages and (should this commit turn
  // the log into a run) the chunk index: not a path of 8 pages per kind.
  EXPECT_LE(root->Counter("indirect_pages_written"), 7u);
  Edit(8);
  root = rs_->store().ReadRevisionRoot(Commit(3));
  EXPECT_EQ(root->Counter("bytes_leaves_chunk_index"), 0u) << "new chunks go to the log";
  EXPECT_GT(root->Counter("bytes_leaves_chunk_log"), 0u);
  EXPECT_LE(root->Counter("indirect_pages_written"), 6u);
}

TEST_P(SmallCommitTest, SparseKeysReadBackInOrderAcrossGrowth) {
  // Keys far apart: the trie grows from one level to eight, and children
  // of every level are compressed to the lowest level that covers them.
  const std::vector<uint64_t> keys = {5,
                                      (uint64_t{1} << 60) | 3,
                                      (uint64_t{1} << 60) | (uint64_t{1} << 30),
                                      (uint64_t{2} << 60) | 1000000,
                                      (uint64_t{3} << 60) | 65535,
                                      (uint64_t{3} << 60) | (uint64_t{1} << 45),
                                      (uint64_t{15} << 60) | 1};
  for (size_t n = 1; n <= keys.size(); ++n) {
    auto w = rs_->BeginWrite();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Put(keys[n - 1], "v" + std::to_string(n - 1)).ok());
    ASSERT_TRUE((*w)->Commit(kT0 + static_cast<int64_t>(n), "r").ok());
    auto r = rs_->BeginRead(n);
    ASSERT_TRUE(r.ok());
    for (size_t i = 0; i < n; ++i) {
      auto got = (*r)->Get(keys[i]);
      ASSERT_TRUE(got.ok() && got->has_value()) << "key " << keys[i] << " at " << n;
      EXPECT_EQ((*got)->value(), "v" + std::to_string(i));
      EXPECT_FALSE((*(*r)->Get(keys[i] + 1024)).has_value());
    }
    std::vector<uint64_t> seen;
    ASSERT_TRUE((*r)->Scan(0, UINT64_MAX, [&](uint64_t k, std::string_view) {
                     seen.push_back(k);
                     return true;
                   }).ok());
    EXPECT_EQ(seen, std::vector<uint64_t>(keys.begin(), keys.begin() + n));
  }
  VerifyReport report;
  ASSERT_TRUE(rs_->Verify(&report).ok());
  EXPECT_TRUE(report.clean());
}

TEST_P(SmallCommitTest, DedupFindsChunksInTheLogAndInTheRuns) {
  MakeTree();
  Commit(1);
  auto copy_of = [&](int f, const std::string& name) {
    fs::copy_file(FilePath(f), src_ + "/" + name, fs::copy_options::overwrite_existing);
  };
  int64_t t = 2;
  // Enough commits that the log becomes a run several times.
  for (unsigned i = 0; i < 40; ++i) {
    Edit(100 + i);
    if (i == 20) copy_of(3, "early");  // its chunk went to a run long ago
    if (i == 39) {
      std::ofstream(FilePath(5), std::ios::app) << "recent\n";
      Commit(t++);
      copy_of(5, "recent");  // its chunk is in the log now
    }
    const uint64_t rev = Commit(t++);
    if (i == 20 || i == 39) {
      auto root = rs_->store().ReadRevisionRoot(rev);
      EXPECT_GE(root->Counter("chunks_reused"), 1u) << "commit " << i;
    }
  }
  VerifyReport report;
  ASSERT_TRUE(rs_->Verify(&report).ok());
  EXPECT_TRUE(report.clean());
}

INSTANTIATE_TEST_SUITE_P(Approaches, SmallCommitTest,
                         ::testing::Values(Versioning::kSliding, Versioning::kFull,
                                           Versioning::kIncremental,
                                           Versioning::kDifferential),
                         [](const auto& info) { return std::string(VersioningName(info.param)); });

}  // namespace
}  // namespace revfs
