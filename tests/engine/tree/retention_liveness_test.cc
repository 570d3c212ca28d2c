// Retention over real trees: ComputeLiveness keeps every page a kept
// revision reads (reads recorded through the Env) and no chunk only
// forgotten revisions used, for each versioning approach; and a 40+
// revision model: forget by policy and by list, reopen, every kept revision
// equals its source, every forgotten one is gone.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "engine/tree/retention_fixture.h"

namespace revfs::testing {
namespace {

void ExpectReadsLive(const Liveness& live, const std::vector<RecordingEnv::ReadOp>& reads) {
  ASSERT_FALSE(reads.empty());
  for (const auto& op : reads) {
    if (!op.direct) {
      auto it = std::lower_bound(live.pages.begin(), live.pages.end(), op.offset,
                                 [](const LivePage& p, uint64_t o) { return p.offset < o; });
      ASSERT_TRUE(it != live.pages.end() && it->offset == op.offset && it->size == op.n)
          << "page at " << op.offset << " (" << op.n << " bytes) read but not live";
    } else {
      auto it = std::lower_bound(live.pages.begin(), live.pages.end(), op.offset,
                                 [](const LivePage& p, uint64_t o) { return p.offset < o; });
      ASSERT_TRUE(it != live.pages.end() && it->offset < op.offset + op.n)
          << "direct read at " << op.offset << " holds no live page";
    }
  }
}

class LivenessTest : public RetentionTreeTest,
                     public ::testing::WithParamInterface<Versioning> {};

TEST_P(LivenessTest, KeptReadsAreLiveAndForgottenOnlyChunksAreNot) {
  StoreConfig config;
  config.versioning = GetParam();
  config.window = 3;
  config.full_dump_every = 4;
  Make(config);
  for (int r = 1; r <= 12; ++r) ASSERT_NO_FATAL_FAILURE(CommitRevision(r, 24u << 20));
  const std::vector<uint64_t> forget = {1, 2, 4, 5, 7, 9, 10};
  std::set<uint64_t> chunks_of_forgotten;
  for (const auto& op : ReadsOf(forget)) {
    if (!op.direct && KindAt(op.offset) == 4) chunks_of_forgotten.insert(op.offset);
  }
  ASSERT_TRUE(db_->store().Forget(forget).ok());
  const std::vector<uint64_t> kept = db_->store().KeptRevisions();
  ASSERT_EQ(kept, (std::vector<uint64_t>{0, 3, 6, 8, 11, 12}));
  auto live = ComputeLiveness(*db_, kept);
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_GT(live->delta_bases + live->chunks, 0u);
  EXPECT_GT(live->shared_blocks_skipped, 0u) << "the big file's chunk list is shared";
  EXPECT_TRUE(live->Contains(db_->store().superblock().retention.offset));
  uint64_t sum = 0;
  for (const LivePage& p : live->pages) sum += p.size;
  EXPECT_EQ(sum, live->live_bytes);
  EXPECT_LT(live->live_bytes, db_->store().superblock().pages_end);

  const auto kept_reads = ReadsOf(kept);
  ExpectReadsLive(*live, kept_reads);
  std::set<uint64_t> kept_chunks;
  for (const auto& op : kept_reads) kept_chunks.insert(op.offset);
  size_t dead = 0;
  for (uint64_t off : chunks_of_forgotten) {
    if (kept_chunks.count(off)) continue;
    EXPECT_FALSE(live->Contains(off)) << "chunk at " << off << " only forgotten revisions use";
    ++dead;
  }
  EXPECT_GT(dead, 0u) << "the forgotten revisions had chunks of their own";
  // Every live chunk page is one a kept revision reads (directly or as a
  // delta base): liveness keeps no chunk for nothing.
  for (const LivePage& p : live->pages) {
    if (KindAt(p.offset) != 4) continue;
    bool read = kept_chunks.count(p.offset) > 0;
    for (const auto& op : kept_reads) {
      read = read || (op.direct && op.offset <= p.offset && p.offset < op.offset + op.n);
    }
    EXPECT_TRUE(read) << "live chunk at " << p.offset << " no kept revision reads";
  }
  // Forgotten revision roots are dead.
  for (uint64_t r : forget) {
    EXPECT_TRUE(db_->store().GetRevision(r).status().IsNotFound());
  }
}

INSTANTIATE_TEST_SUITE_P(Approaches, LivenessTest,
                         ::testing::Values(Versioning::kFull, Versioning::kIncremental,
                                           Versioning::kDifferential, Versioning::kSliding),
                         [](const auto& info) { return std::string(VersioningName(info.param)); });

TEST_F(RetentionTreeTest, ModelFortyTwoRevisionsForgetByPolicyAndList) {
  StoreConfig config;
  config.versioning = Versioning::kIncremental;
  config.full_dump_every = 5;
  Make(config);
  // Files no revision changes: their inode leaves are shared by every
  // revision, and the liveness walk takes them once.
  fs::create_directory(src_ + "/many");
  for (int i = 0; i < 2100; ++i) Write("many/" + std::to_string(i), std::to_string(i));
  constexpr int kRevisions = 42;
  for (int r = 1; r <= kRevisions; ++r) ASSERT_NO_FATAL_FAILURE(CommitRevision(r, 2u << 20));
  ASSERT_TRUE(db_->store().Hold(13, "keep").ok());
  // By policy: what restic would keep with --keep-last 3 --keep-daily 4
  // --keep-weekly 2 (commits every 7 h), then explicitly two more.
  std::vector<RevisionTime> times;
  for (uint64_t n : db_->store().KeptRevisions()) {
    times.push_back({n, db_->store().GetRevision(n)->time_ns});
  }
  RetentionPolicy policy;
  policy.last = 3;
  policy.daily = 4;
  policy.weekly = 2;
  PolicyDecision d = ApplyRetentionPolicy(times, policy, {13});
  ASSERT_GT(d.forget.size(), 20u);
  ASSERT_TRUE(db_->store().Forget(d.forget).ok());
  std::vector<uint64_t> more;
  for (uint64_t k : d.keep) {
    if (k != 13 && k != kRevisions && more.size() < 2) more.push_back(k);
  }
  ASSERT_TRUE(db_->store().Forget(more).ok());
  std::set<uint64_t> forgotten(d.forget.begin(), d.forget.end());
  forgotten.insert(more.begin(), more.end());

  Open(nullptr);  // reopen
  const std::vector<uint64_t> kept = db_->store().KeptRevisions();
  EXPECT_EQ(kept.size() + forgotten.size(), kRevisions + 1u);
  EXPECT_EQ(kept.back(), static_cast<uint64_t>(kRevisions));
  EXPECT_TRUE(std::count(kept.begin(), kept.end(), 13));
  for (uint64_t r : kept) {
    if (r == 0) continue;
    EXPECT_EQ(Stored(r), sources_[r]) << "revision " << r;
  }
  for (uint64_t r : forgotten) {
    EXPECT_TRUE(db_->store().GetRevision(r).status().IsNotFound()) << r;
    EXPECT_TRUE(db_->BeginRead(r).status().IsNotFound()) << r;
    auto at = db_->store().RevisionAt(kT0 + static_cast<int64_t>(r) * 7 * kHour);
    if (!at.ok()) {
      EXPECT_TRUE(at.status().IsNotFound()) << r;
      continue;
    }
    EXPECT_FALSE(forgotten.count(*at)) << "at/ of revision " << r << "'s time";
    EXPECT_LT(*at, r);
  }
  VerifyReport report;
  ASSERT_TRUE(db_->Verify(&report, CheckTreeRecord).ok());
  EXPECT_TRUE(report.clean()) << report.damage[0].what;
  auto live = ComputeLiveness(*db_, kept);
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_GT(live->shared_leaves_skipped, kept.size() - 2) << "unchanged leaves walked again";
  ExpectReadsLive(*live, ReadsOf(kept));
}

}  // namespace
}  // namespace revfs::testing
