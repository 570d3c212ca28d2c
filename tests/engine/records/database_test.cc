// Versioned records on a real store on disk, for each versioning approach:
// a random workload checked against an in-memory model of every revision,
// the bound on fragments combined per load, flat commit cost, and pins that
// are released on every exit path.
#include "revfs/database.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "records/indirect_page.h"
#include "records/page_loader.h"
#include "records/record_page.h"
#include "store/page_log.h"
#include "support/engine_test.h"
#include "support/fault_env.h"

namespace revfs::testing {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int64_t kSecond = 1'000'000'000;

using Model = std::map<uint64_t, std::string>;

struct Setting {
  Versioning versioning;
  uint32_t param;  // window or full-dump cadence
};

std::string Name(const ::testing::TestParamInfo<Setting>& info) {
  return std::string(VersioningName(info.param.versioning)) + std::to_string(info.param.param);
}

class DatabaseTest : public EngineTest, public ::testing::WithParamInterface<Setting> {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    path_ = Path("store");
    StoreConfig config;
    config.versioning = GetParam().versioning;
    config.window = std::max<uint32_t>(GetParam().param, 2);
    config.full_dump_every = GetParam().param;
    ASSERT_TRUE(Store::Create(path_, config, {}, kT0).ok());
    Reopen();
  }
  void ReleaseResources() override { rs_.reset(); }

  void Reopen(bool cache_written_leaves = false) {
    rs_.reset();
    DatabaseOptions options;
    options.store.writable = true;
    options.memory.shared_allocator = allocator();
    options.memory.cache_written_leaves = cache_written_leaves;
    auto rs = Database::Open(path_, options);
    ASSERT_TRUE(rs.ok()) << rs.status().ToString();
    rs_ = std::move(rs).value();
  }

  // Checks that revision `rev` holds exactly `model`, by Get and by Scan.
  void ExpectRevision(uint64_t rev, const Model& model, const std::vector<uint64_t>& probe) {
    auto trx = rs_->BeginRead(rev);
    ASSERT_TRUE(trx.ok()) << trx.status().ToString();
    Model scanned;
    Status s = (*trx)->Scan(0, UINT64_MAX, [&](uint64_t k, std::string_view v) {
      scanned.emplace(k, std::string(v));
      return true;
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_EQ(scanned.size(), model.size()) << "revision " << rev;
    ASSERT_TRUE(scanned == model) << "revision " << rev;
    for (uint64_t key : probe) {
      auto got = (*trx)->Get(key);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      auto it = model.find(key);
      if (it == model.end()) {
        ASSERT_FALSE(got->has_value()) << "revision " << rev << " key " << key;
      } else {
        ASSERT_TRUE(got->has_value()) << "revision " << rev << " key " << key;
        ASSERT_EQ((*got)->value(), it->second);
      }
    }
  }

  std::string path_;
  std::unique_ptr<Database> rs_;
};

TEST_P(DatabaseTest, RandomWorkloadMatchesModelInEveryRevision) {
  std::mt19937_64 rng(GetParam().param * 7 + static_cast<unsigned>(GetParam().versioning));
  std::vector<Model> models = {Model{}};
  std::vector<uint64_t> keys;
  // Dense keys (0..12000) and sparse ones far apart, so the trie grows tall.
  for (uint64_t k = 0; k < 12000; ++k) keys.push_back(k);
  for (int i = 0; i < 300; ++i) keys.push_back(rng() >> (rng() % 40));
  for (uint64_t rev = 1; rev <= 50; ++rev) {
    Model model = models.back();
    auto trx = rs_->BeginWrite();
    ASSERT_TRUE(trx.ok()) << trx.status().ToString();
    int ops = rev == 1 ? 10000 : 50 + static_cast<int>(rng() % 400);
    for (int i = 0; i < ops; ++i) {
      uint64_t key = rev == 1 ? keys[i] : keys[rng() % keys.size()];
      if (rev > 1 && rng() % 5 == 0) {
        ASSERT_TRUE((*trx)->Delete(key).ok());
        model.erase(key);
      } else {
        std::string value = "r" + std::to_string(rev) + "k" + std::to_string(key) +
                            std::string(rng() % 64, 'v');
        ASSERT_TRUE((*trx)->Put(key, value).ok());
        model[key] = value;
      }
    }
    auto committed = (*trx)->Commit(kT0 + static_cast<int64_t>(rev) * kSecond, "rev " + std::to_string(rev));
    ASSERT_TRUE(committed.ok()) << committed.status().ToString();
    ASSERT_EQ(*committed, rev);
    models.push_back(std::move(model));
  }
  std::vector<uint64_t> probe(keys.begin(), keys.begin() + 200);
  probe.insert(probe.end(), keys.end() - 300, keys.end());
  probe.push_back(UINT64_MAX);
  for (uint64_t rev = 0; rev < models.size(); ++rev) ExpectRevision(rev, models[rev], probe);
  Reopen();
  for (uint64_t rev = 0; rev < models.size(); rev += 7) ExpectRevision(rev, models[rev], probe);
  ExpectRevision(50, models[50], probe);
}

TEST_P(DatabaseTest, FragmentsPerLoadStayBoundedOverLongHistory) {
  // 200 revisions, each changing a few records of the same two leaves.
  std::mt19937 rng(5);
  Model model;
  for (uint64_t rev = 1; rev <= 200; ++rev) {
    auto trx = rs_->BeginWrite();
    ASSERT_TRUE(trx.ok());
    for (int i = 0; i < 3; ++i) {
      uint64_t key = rng() % 2048;
      std::string v = "v" + std::to_string(rev);
      ASSERT_TRUE((*trx)->Put(key, v).ok());
      model[key] = v;
    }
    ASSERT_TRUE((*trx)->Commit(kT0 + static_cast<int64_t>(rev), "").ok());
    // Read every revision's leaves cold: clear caches so each load combines.
    rs_->ClearCaches();
    auto read = rs_->BeginRead(rev);
    ASSERT_TRUE(read.ok());
    ASSERT_TRUE((*read)->Get(0).ok());
    ASSERT_TRUE((*read)->Get(1500).ok());
  }
  ExpectRevision(200, model, {0, 1, 1023, 1024, 2047});
  const auto& p = GetParam();
  uint64_t bound = p.versioning == Versioning::kFull           ? 1
                   : p.versioning == Versioning::kDifferential ? 2
                                                               : p.param;
  RecordStats stats = rs_->stats();
  EXPECT_GT(stats.leaf_loads, 200u);
  EXPECT_LE(stats.max_fragments_per_load, bound);
  EXPECT_EQ(stats.max_fragments_per_load, bound) << "the bound is reached";
}

TEST_P(DatabaseTest, LeavesCachedByTheirWriterReadAsTheirFragmentsCombine) {
  // A writer that caches what it writes (revfs watch): every read of the
  // revision just committed, and every later commit's read of its base,
  // finds the writer's images (but a differential chain's, below); reading
  // them again from the store, every
  // revision is the model's. Sliding windows carry records by the source
  // fragment the images name: a wrong source loses records a few
  // revisions later, which the cold reads at the end find.
  Reopen(/*cache_written_leaves=*/true);
  std::mt19937_64 rng(GetParam().param * 13 + static_cast<unsigned>(GetParam().versioning));
  std::vector<Model> models = {Model{}};
  std::vector<uint64_t> probe;
  for (uint64_t k = 0; k < 4096; k += 97) probe.push_back(k);
  // The pages cache's misses: a leaf combined, or an indirect page read
  // from the store. The writer caches the indirect pages it writes too, so
  // after the first commit every miss is a leaf combine.
  auto page_misses = [&] { return rs_->page_loader().stats()[1].misses; };
  for (uint64_t rev = 1; rev <= 60; ++rev) {
    const uint64_t misses_before = page_misses(), loads_before = rs_->stats().leaf_loads;
    Model model = models.back();
    auto trx = rs_->BeginWrite();
    ASSERT_TRUE(trx.ok()) << trx.status().ToString();
    const int ops = rev == 1 ? 3000 : 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < ops; ++i) {
      const uint64_t key = rng() % 4096;  // four leaves
      if (rev > 1 && rng() % 4 == 0) {
        ASSERT_TRUE((*trx)->Delete(key).ok());
        model.erase(key);
      } else {
        std::string value = "r" + std::to_string(rev) + "k" + std::to_string(key);
        ASSERT_TRUE((*trx)->Put(key, value).ok());
        model[key] = value;
      }
    }
    auto committed = (*trx)->Commit(kT0 + static_cast<int64_t>(rev) * kSecond, "");
    ASSERT_TRUE(committed.ok()) << committed.status().ToString();
    ExpectRevision(rev, model, probe);
    if (rev > 1) {
      EXPECT_EQ(page_misses() - misses_before, rs_->stats().leaf_loads - loads_before)
          << "revision " << rev << ": an indirect page was read back";
      // What the commit replaced is dropped: the cache holds the newest
      // revision's four leaves and its one indirect page, no more.
      EXPECT_LE(rs_->page_loader().stats()[1].entries, 5u) << "revision " << rev;
    }
    models.push_back(std::move(model));
  }
  if (GetParam().versioning == Versioning::kDifferential) {
    // A differential chain keeps its full dump and drops the differential
    // before: those leaves are read back (CombinePlan::PlanOver), all others
    // are not.
    EXPECT_GT(rs_->stats().leaf_loads, 0u);
  } else {
    EXPECT_EQ(rs_->stats().leaf_loads, 0u) << "a leaf was combined from its fragments";
  }
  rs_->ClearCaches();
  for (uint64_t rev = 1; rev < models.size(); ++rev) ExpectRevision(rev, models[rev], probe);
  EXPECT_GT(rs_->stats().leaf_loads, 0u);
  Reopen();
  ExpectRevision(60, models[60], probe);
}

TEST_P(DatabaseTest, OneRecordCommitCostStaysFlat) {
  // A store with 20,000 records, then 200 one-record commits.
  {
    auto trx = rs_->BeginWrite();
    for (uint64_t k = 0; k < 20000; ++k) ASSERT_TRUE((*trx)->Put(k, std::string(40, 'a')).ok());
    ASSERT_TRUE((*trx)->Commit(kT0, "bulk").ok());
  }
  std::vector<uint64_t> bytes;
  for (uint64_t rev = 2; rev <= 201; ++rev) {
    auto trx = rs_->BeginWrite();
    ASSERT_TRUE((*trx)->Put(5000, "changed " + std::to_string(rev)).ok());
    ASSERT_TRUE((*trx)->Commit(kT0 + static_cast<int64_t>(rev), "").ok());
    bytes.push_back(rs_->store().ReadRevisionRoot(rev)->Counter("bytes_written"));
  }
  if (GetParam().versioning == Versioning::kIncremental ||
      GetParam().versioning == Versioning::kSliding) {
    // bytes[i] is revision i + 2. Full dumps (incremental) and carried
    // windows (sliding) recur periodically; neither may grow with history.
    auto median = [](std::vector<uint64_t> v) {
      std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
      return v[v.size() / 2];
    };
    std::vector<uint64_t> early(bytes.begin(), bytes.begin() + 24);
    std::vector<uint64_t> late(bytes.end() - 24, bytes.end());
    EXPECT_LT(median(late), 2 * median(early));
    EXPECT_LE(*std::max_element(late.begin(), late.end()),
              2 * *std::max_element(early.begin(), early.end()));
    EXPECT_LT(bytes[198], 2 * bytes[0]) << "revision 200 vs revision 2";
    EXPECT_LT(bytes[0], 4096u) << "a one-record commit writes a few pages, not a leaf";
  }
}

TEST_P(DatabaseTest, LeavesEmptiedByDeletesLeaveTheTrie) {
  // Three leaves of records; then one leaf's records all deleted, then all.
  Model model;
  {
    auto trx = rs_->BeginWrite();
    for (uint64_t k = 0; k < 3 * 1024; k += 3) {
      model[k] = "value " + std::to_string(k);
      ASSERT_TRUE((*trx)->Put(k, model[k]).ok());
    }
    ASSERT_TRUE((*trx)->Commit(kT0 + kSecond, "three leaves").ok());
  }
  const Model three = model;
  auto fragments = [&](uint64_t rev) {
    auto root = rs_->store().ReadRevisionRoot(rev);
    return root->Counter("fragments_full") + root->Counter("fragments_partial");
  };
  {
    auto trx = rs_->BeginWrite();
    for (uint64_t k = 1024; k < 2048; ++k) {
      ASSERT_TRUE((*trx)->Delete(k).ok());
      model.erase(k);
    }
    ASSERT_TRUE((*trx)->Commit(kT0 + 2 * kSecond, "leaf 1 emptied").ok());
  }
  EXPECT_EQ(fragments(2), 0u) << "an emptied leaf is dropped, not written as tombstones";
  {
    auto trx = rs_->BeginWrite();
    for (uint64_t k = 0; k < 3 * 1024; ++k) ASSERT_TRUE((*trx)->Delete(k).ok());
    ASSERT_TRUE((*trx)->Commit(kT0 + 3 * kSecond, "all emptied").ok());
  }
  EXPECT_EQ(fragments(3), 0u);
  EXPECT_EQ(rs_->store().ReadRevisionRoot(3)->Counter("indirect_pages_written"), 0u);
  {
    auto trx = rs_->BeginWrite();
    ASSERT_TRUE((*trx)->Put(1500, "back").ok());
    ASSERT_TRUE((*trx)->Commit(kT0 + 4 * kSecond, "one again").ok());
  }
  Reopen();
  const std::vector<uint64_t> probe = {0, 3, 1023, 1024, 1500, 2046, 2047, 2048, 3069};
  ExpectRevision(1, three, probe);
  ExpectRevision(2, model, probe);
  ExpectRevision(3, Model(), probe);
  ExpectRevision(4, Model{{1500, "back"}}, probe);
  VerifyReport report;
  ASSERT_TRUE(rs_->Verify(&report).ok());
  EXPECT_TRUE(report.clean());
}

TEST_P(DatabaseTest, AbortLeavesNothingReachable) {
  {
    auto trx = rs_->BeginWrite();
    ASSERT_TRUE((*trx)->Put(1, "one").ok());
    ASSERT_TRUE((*trx)->Commit(kT0, "").ok());
  }
  {
    auto trx = rs_->BeginWrite();
    ASSERT_TRUE((*trx)->Put(1, "uncommitted").ok());
    ASSERT_TRUE((*trx)->Put(99999, "uncommitted").ok());
    // destroyed without Commit
  }
  EXPECT_EQ(rs_->store().latest_revision(), 1u);
  auto trx = rs_->BeginWrite();
  ASSERT_TRUE(trx.ok()) << trx.status().ToString();
  EXPECT_EQ(**(*trx)->Get(1), "one");
  ASSERT_TRUE((*trx)->Put(2, "two").ok());
  ASSERT_TRUE((*trx)->Commit(kT0 + 1, "").ok());
  ExpectRevision(2, Model{{1, "one"}, {2, "two"}}, {1, 2, 99999});
}

TEST_P(DatabaseTest, VerifyWalksEveryTreeAndFindsDamagedFragments) {
  std::vector<PageRef> fragments;
  for (uint64_t rev = 1; rev <= 12; ++rev) {
    auto trx = rs_->BeginWrite();
    for (uint64_t k = 0; k < 3000; k += 1 + rev) ASSERT_TRUE((*trx)->Put(k, "r" + std::to_string(rev)).ok());
    ASSERT_TRUE((*trx)->Commit(kT0 + static_cast<int64_t>(rev), "").ok());
  }
  VerifyReport clean;
  ASSERT_TRUE(rs_->Verify(&clean).ok());
  EXPECT_TRUE(clean.clean()) << clean.damage.front().what;
  // Damage the newest fragment of leaf 1 as of revision 7.
  auto root = rs_->store().ReadRevisionRoot(7);
  std::string buf;
  PageView view;
  ASSERT_TRUE(rs_->store().pages().Read(root->trie_root, PageKind::kIndirect, &buf, &view).ok());
  std::string unpacked = *UnpackRecordPage(view.payload);
  auto page = IndirectPage::Parse(unpacked);
  ASSERT_TRUE(page.ok());
  PageRef target = std::get<LeafRef>(*page->child_at(*page->Find(1))).chain.front().page;
  rs_.reset();
  FlipByte(path_ + "/segments/0000000000", target.offset + target.size / 2);
  Reopen();
  VerifyReport report;
  ASSERT_TRUE(rs_->Verify(&report).ok());
  ASSERT_FALSE(report.clean());
  bool found = false;
  for (const auto& d : report.damage) {
    if (d.offset == target.offset && d.revision && *d.revision <= 7) found = true;
  }
  EXPECT_TRUE(found);
  // Reading that leaf in revision 7 is a clean error; other leaves read fine.
  auto trx = rs_->BeginRead(7);
  ASSERT_TRUE(trx.ok());
  EXPECT_TRUE((*trx)->Get(1024 + 8).status().IsCorruption());
  auto other = (*trx)->Get(0);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->has_value());
}

// Format 3: a level-1 page names each leaf by its newest fragment alone,
// whatever the chain's length; the rest of the chain is that fragment's
// tail, newest first.
TEST_P(DatabaseTest, ALevelOnePageNamesEachLeafByItsNewestFragment) {
  constexpr uint64_t kLeaves = 40;
  for (uint64_t rev = 1; rev <= 10; ++rev) {
    auto trx = rs_->BeginWrite();
    for (uint64_t l = 0; l < kLeaves; ++l) {
      if (rev > 1 && (l + rev) % 3 != 0) continue;
      ASSERT_TRUE((*trx)->Put(l << kLeafBits | rev, "r" + std::to_string(rev)).ok());
    }
    ASSERT_TRUE((*trx)->Commit(kT0 + static_cast<int64_t>(rev), "").ok());
  }
  auto root = rs_->store().ReadRevisionRoot(10);
  ASSERT_TRUE(root.ok());
  std::string buf;
  PageView view;
  ASSERT_TRUE(rs_->store().pages().Read(root->trie_root, PageKind::kIndirect, &buf, &view).ok());
  const std::string unpacked = *UnpackRecordPage(view.payload);
  auto page = IndirectPage::Parse(unpacked);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->level(), 1);
  ASSERT_EQ(page->size(), kLeaves);
  // A slot entry (6 bytes) and one reference (at most 22 bytes) a leaf.
  EXPECT_LE(unpacked.size(), 3 + kLeaves * 28);
  uint32_t longest = 0;
  for (size_t i = 0; i < page->size(); ++i) {
    LeafRef leaf = std::get<LeafRef>(*page->child_at(i));
    EXPECT_TRUE(leaf.tail_in_head);
    ASSERT_EQ(leaf.chain.size(), 1u);
    ASSERT_TRUE(rs_->page_loader().ResolveChain(&leaf).ok());
    ASSERT_EQ(leaf.chain.size(), leaf.length);
    for (size_t k = 1; k < leaf.chain.size(); ++k) {
      EXPECT_LT(leaf.chain[k].revision, leaf.chain[k - 1].revision);
    }
    longest = std::max(longest, leaf.length);
  }
  if (GetParam().versioning != Versioning::kFull) {
    EXPECT_GE(longest, 2u);
  }
  auto trx = rs_->BeginRead(10);
  ASSERT_TRUE(trx.ok());
  for (uint64_t l = 0; l < kLeaves; ++l) {
    auto got = (*trx)->Get(l << kLeafBits | 1);
    ASSERT_TRUE(got.ok() && got->has_value()) << l;
    EXPECT_EQ((*got)->value(), "r1") << l;
  }
  VerifyReport report;
  ASSERT_TRUE(rs_->Verify(&report).ok());
  EXPECT_TRUE(report.clean()) << report.damage.front().what;
}

TEST_P(DatabaseTest, ReadTrxOpensByTime) {
  for (uint64_t rev = 1; rev <= 3; ++rev) {
    auto trx = rs_->BeginWrite();
    ASSERT_TRUE((*trx)->Put(1, "r" + std::to_string(rev)).ok());
    ASSERT_TRUE((*trx)->Commit(kT0 + static_cast<int64_t>(rev) * 10 * kSecond, "").ok());
  }
  auto at = rs_->BeginReadAt(kT0 + 25 * kSecond);
  ASSERT_TRUE(at.ok());
  EXPECT_EQ((*at)->revision(), 2u);
  EXPECT_EQ((*(*at)->Get(1))->value(), "r2");
  auto empty = rs_->BeginReadAt(kT0 + 5 * kSecond);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ((*empty)->revision(), 0u);
  EXPECT_FALSE((*empty)->Get(1)->has_value());
  EXPECT_TRUE(rs_->BeginReadAt(kT0 - 1).status().IsNotFound());
  EXPECT_TRUE(rs_->BeginRead(4).status().IsNotFound());
}

TEST_P(DatabaseTest, TooLargeRecordIsRefused) {
  auto trx = rs_->BeginWrite();
  EXPECT_TRUE((*trx)->Put(1, std::string(kMaxRecordValue + 1, 'x')).IsInvalidArgument());
  EXPECT_TRUE((*trx)->Put(1, std::string(kMaxRecordValue, 'x')).ok());
  EXPECT_TRUE(rs_->BeginWrite().status().IsBusy());
}

TEST_P(DatabaseTest, ConcurrentReadersSeeOnlyTheirRevisionWhileWriterCommits) {
  {
    auto trx = rs_->BeginWrite();
    for (uint64_t k = 0; k < 3000; ++k) ASSERT_TRUE((*trx)->Put(k, "r1").ok());
    ASSERT_TRUE((*trx)->Commit(kT0, "").ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> errors{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937 rng(t);
      while (!stop.load()) {
        uint64_t latest = rs_->store().latest_revision();
        uint64_t rev = 1 + rng() % latest;
        auto trx = rs_->BeginRead(rev);
        if (!trx.ok()) { ++errors; continue; }
        std::string expected = "r" + std::to_string(rev);
        for (int i = 0; i < 20; ++i) {
          auto got = (*trx)->Get(rng() % 3000);
          // Revision N wrote "rN" to every key it touched; keys untouched
          // keep an older value, never a newer one.
          if (!got.ok() || !got->has_value()) { ++errors; continue; }
          uint64_t seen = std::stoull(std::string((*got)->value().substr(1)));
          if (seen > rev) ++errors;
          ++reads;
        }
      }
    });
  }
  for (uint64_t rev = 2; rev <= 30; ++rev) {
    auto trx = rs_->BeginWrite();
    for (uint64_t k = rev * 50; k < 3000; k += 7) {
      ASSERT_TRUE((*trx)->Put(k, "r" + std::to_string(rev)).ok());
    }
    ASSERT_TRUE((*trx)->Commit(kT0 + static_cast<int64_t>(rev), "").ok());
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(errors.load(), 0u);
  EXPECT_GT(reads.load(), 100u);
}

TEST_P(DatabaseTest, SpilledChangesCommitExactlyAndMemoryStaysInBudget) {
  // Each revision's changes exceed a tiny budget many times over: they are
  // parked on disk leaf by leaf, overwritten and deleted after parking, read
  // back by Get mid-transaction, and must commit exactly as in memory.
  constexpr size_t kBudget = 16 << 10;
  std::mt19937_64 rng(11 + static_cast<unsigned>(GetParam().versioning));
  std::vector<Model> models = {Model{}};
  for (uint64_t rev = 1; rev <= 6; ++rev) {
    Model model = models.back();
    auto trx = rs_->BeginWrite();
    ASSERT_TRUE(trx.ok()) << trx.status().ToString();
    (*trx)->set_spill_budget(kBudget);
    for (int i = 0; i < 3000; ++i) {
      const uint64_t key = rng() % 6000;
      if (rev > 1 && rng() % 4 == 0) {
        ASSERT_TRUE((*trx)->Delete(key).ok());
        model.erase(key);
      } else {
        std::string value = "r" + std::to_string(rev) + "i" + std::to_string(i) +
                            std::string(rng() % 200, 'x');
        ASSERT_TRUE((*trx)->Put(key, value).ok());
        model[key] = value;
      }
      if (i % 97 == 0) {  // the transaction sees its own parked changes
        const uint64_t probe = rng() % 6000;
        auto got = (*trx)->Get(probe);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        auto it = model.find(probe);
        ASSERT_EQ(got->has_value(), it != model.end()) << "key " << probe;
        if (it != model.end()) {
          ASSERT_EQ(**got, it->second) << "key " << probe;
        }
      }
    }
    ASSERT_GT((*trx)->pending(), 0u);
    auto committed = (*trx)->Commit(kT0 + static_cast<int64_t>(rev) * kSecond, "");
    ASSERT_TRUE(committed.ok()) << committed.status().ToString();
    auto root = rs_->store().ReadRevisionRoot(*committed);
    ASSERT_TRUE(root.ok());
    EXPECT_GT(root->Counter("records_spills"), 5u);
    EXPECT_GT(root->Counter("bytes_spilled"), 0u);
    // Within the budget plus one leaf read back by Get (<= 1024 records of
    // at most ~290 bytes here, with their bookkeeping).
    EXPECT_LE(root->Counter("records_pending_peak"), kBudget + 1024 * (80 + 300));
    models.push_back(std::move(model));
  }
  std::vector<uint64_t> probe;
  for (uint64_t k = 0; k < 6000; k += 13) probe.push_back(k);
  for (uint64_t rev = 0; rev < models.size(); ++rev) ExpectRevision(rev, models[rev], probe);
  Reopen();
  ExpectRevision(models.size() - 1, models.back(), probe);
  // The scratch file never outlives the transaction.
  EXPECT_FALSE(std::filesystem::exists(path_ + "/write-spill"));
}

INSTANTIATE_TEST_SUITE_P(Approaches, DatabaseTest,
                         ::testing::Values(Setting{Versioning::kFull, 4},
                                           Setting{Versioning::kIncremental, 4},
                                           Setting{Versioning::kIncremental, 16},
                                           Setting{Versioning::kDifferential, 8},
                                           Setting{Versioning::kSliding, 2},
                                           Setting{Versioning::kSliding, 4},
                                           Setting{Versioning::kSliding, 8}),
                         Name);

}  // namespace
}  // namespace revfs::testing
