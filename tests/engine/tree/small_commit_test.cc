// Small commits: where a revision's bytes go (the per-kind counters) and how
// many bytes a commit of a few small edited files in a small tree costs,
// under every versioning approach.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

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
    ASSERT_TRUE(Store::Create(Path("store"), config, {}, kT0).ok());
    DatabaseOptions options;
    options.store = StoreOptions{nullptr, true};
    options.memory.shared_allocator = allocator();
    auto rs = Database::Open(Path("store"), options);
    ASSERT_TRUE(rs.ok()) << rs.status().ToString();
    rs_ = std::move(rs).value();
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
                         root->Counter("bytes_leaves_other");
  EXPECT_EQ(parts, root->Counter("bytes_written"));
  EXPECT_GT(root->Counter("bytes_chunks"), 0u);
  EXPECT_GT(root->Counter("bytes_leaves_inodes"), 0u);
  EXPECT_GT(root->Counter("bytes_leaves_maps"), 0u);
  EXPECT_GT(root->Counter("bytes_indirect"), 0u);
}

INSTANTIATE_TEST_SUITE_P(Approaches, SmallCommitTest,
                         ::testing::Values(Versioning::kSliding, Versioning::kFull,
                                           Versioning::kIncremental,
                                           Versioning::kDifferential),
                         [](const auto& info) { return std::string(VersioningName(info.param)); });

}  // namespace
}  // namespace revfs
