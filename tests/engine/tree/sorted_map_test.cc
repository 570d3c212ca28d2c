#include "tree/sorted_map.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "support/engine_test.h"

namespace revfs::testing {
namespace {

constexpr uint64_t kBase = uint64_t{2} << 60;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;

class SortedMapTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    ASSERT_TRUE(Store::Create(Path("s"), StoreConfig{}, {}, kT0).ok());
    DatabaseOptions options;
    options.store.writable = true;
    options.memory.shared_allocator = allocator();
    rs_ = std::move(Database::Open(Path("s"), options)).value();
  }
  void ReleaseResources() override { rs_.reset(); }

  // Commits `map` as the new version of the tree; returns the new root.
  MapRoot Write(const std::map<std::string, std::string>& map, const MapRoot& old,
                 uint64_t* written = nullptr) {
    auto trx = std::move(rs_->BeginWrite()).value();
    SortedMapWriter w(trx.get(), kBase, [this] { return ++next_id_; }, old);
    for (const auto& [k, v] : map) EXPECT_TRUE(w.Add(k, v).ok());
    auto root = w.Finish();
    EXPECT_TRUE(root.ok()) << root.status().ToString();
    if (written) *written = w.blocks_written();
    EXPECT_TRUE(trx->Commit(kT0 + ++time_, "").ok());
    return *root;
  }

  void Check(const std::map<std::string, std::string>& map, const MapRoot& root) {
    auto trx = std::move(rs_->BeginRead(rs_->store().latest_revision())).value();
    EXPECT_EQ(root.count, map.size());
    std::map<std::string, std::string> scanned;
    ASSERT_TRUE(MapScan(*trx, kBase, root, "", [&](std::string_view k, std::string_view v) {
                  scanned.emplace(k, v);
                  return true;
                }).ok());
    EXPECT_TRUE(scanned == map);
    std::mt19937 rng(3);
    std::vector<std::map<std::string, std::string>::const_iterator> its;
    for (auto it = map.begin(); it != map.end(); ++it) its.push_back(it);
    for (int i = 0; i < 200 && !map.empty(); ++i) {
      auto it = its[rng() % its.size()];
      auto got = MapGet(*trx, kBase, root, it->first);
      ASSERT_TRUE(got.ok());
      ASSERT_TRUE(got->has_value());
      EXPECT_EQ(**got, it->second);
      std::string probe = it->first;
      probe.push_back('\0');  // nothing sorts between a key and key + NUL
      if (map.count(probe)) continue;
      auto floor = MapFloor(*trx, kBase, root, probe);
      ASSERT_TRUE(floor.ok() && floor->has_value());
      EXPECT_EQ((*floor)->first, it->first);
      EXPECT_FALSE(MapGet(*trx, kBase, root, probe)->has_value());
    }
    // Seek: entries from a middle key on.
    if (map.size() > 10) {
      auto mid = std::next(map.begin(), map.size() / 2);
      size_t n = 0;
      ASSERT_TRUE(MapScan(*trx, kBase, root, mid->first, [&](std::string_view k, std::string_view) {
                    EXPECT_GE(k, mid->first);
                    return ++n < 5;
                  }).ok());
      EXPECT_EQ(n, 5u);
    }
  }

  std::unique_ptr<Database> rs_;
  uint64_t next_id_ = 0;
  int64_t time_ = 0;
};

TEST_F(SortedMapTest, EmptyAndSingle) {
  MapRoot empty = Write({}, MapRoot{});
  EXPECT_TRUE(empty.empty());
  Check({}, empty);
  MapRoot one = Write({{"a", "1"}}, empty);
  EXPECT_EQ(one.count, 1u);
  Check({{"a", "1"}}, one);
}

TEST_F(SortedMapTest, BigMapChangesCostOnlyWhatChanged) {
  std::map<std::string, std::string> map;
  std::mt19937 rng(1);
  for (int i = 0; i < 200000; ++i) {
    map["file-" + std::to_string(rng()) + ".txt"] = "ino" + std::to_string(i);
  }
  uint64_t written = 0;
  MapRoot root = Write(map, MapRoot{}, &written);
  EXPECT_GE(root.level, 2);
  EXPECT_GT(written, 1000u);
  Check(map, root);

  // The same entries again: nothing written, same identity.
  MapRoot same = Write(map, root, &written);
  EXPECT_EQ(written, 0u);
  EXPECT_EQ(same, root);

  // One entry added and one changed: a few blocks per level, not the map.
  map["file-new-entry"] = "x";
  map.begin()->second = "changed";
  MapRoot changed = Write(map, root, &written);
  EXPECT_LE(written, 4u * (root.level + 1));
  EXPECT_NE(changed.hash, root.hash);
  Check(map, changed);

  // Deletions shrink it back; old blocks are deleted from the record trie.
  for (int i = 0; i < 1000; ++i) map.erase(std::prev(map.end()));
  MapRoot smaller = Write(map, changed, &written);
  Check(map, smaller);
  size_t blocks = 0;
  auto trx = std::move(rs_->BeginRead(rs_->store().latest_revision())).value();
  ASSERT_TRUE(MapBlocks(*trx, kBase, smaller, [&](uint64_t) { ++blocks; }).ok());
  size_t records = 0;
  ASSERT_TRUE(trx->Scan(kBase, kBase | ((uint64_t{1} << 60) - 1), [&](uint64_t, std::string_view) {
                ++records;
                return true;
              }).ok());
  EXPECT_EQ(records, blocks) << "blocks no longer used are deleted";
}

TEST_F(SortedMapTest, RandomVersionsMatchModel) {
  std::mt19937 rng(2);
  std::map<std::string, std::string> map;
  MapRoot root;
  for (int v = 0; v < 15; ++v) {
    int ops = 1 + static_cast<int>(rng() % 3000);
    for (int i = 0; i < ops; ++i) {
      std::string key(1 + rng() % 40, 'a');
      for (char& c : key) c = static_cast<char>(rng() % 256);  // arbitrary bytes
      if (rng() % 3 == 0 && !map.empty()) {
        map.erase(std::next(map.begin(), rng() % map.size()));
      } else {
        map[key] = std::string(rng() % 100, static_cast<char>('a' + v));
      }
    }
    root = Write(map, root);
    Check(map, root);
  }
}

TEST_F(SortedMapTest, RejectsUnorderedAndOversized) {
  auto trx = std::move(rs_->BeginWrite()).value();
  SortedMapWriter w(trx.get(), kBase, [this] { return ++next_id_; }, MapRoot{});
  ASSERT_TRUE(w.Add("b", "1").ok());
  EXPECT_TRUE(w.Add("a", "1").IsInvalidArgument());
  EXPECT_TRUE(w.Add("b", "1").IsInvalidArgument());
  EXPECT_TRUE(w.Add("c", std::string(kMaxMapValue + 1, 'x')).IsInvalidArgument());
}

}  // namespace
}  // namespace revfs::testing
