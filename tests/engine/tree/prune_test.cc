// Prune over real trees, per versioning approach (and the 200-revision
// model of forget by policies and numbers): after forget and prune
// every kept revision equals its source (before and after reopening, and
// after more commits and a second round), every forgotten one is gone, the
// segment files really shrink, verify is clean, a dry run changes nothing
// and predicts what the real run does, and a prune with nothing to do
// touches nothing.
#include <gtest/gtest.h>

#include <set>

#include "engine/tree/retention_fixture.h"
#include "support/fault_env.h"

namespace revfs::testing {
namespace {

// Every file under STORE/segments: name -> size.
std::map<std::string, uint64_t> SegmentFiles(const std::string& store) {
  std::map<std::string, uint64_t> out;
  for (const auto& de : fs::directory_iterator(store + "/segments")) {
    out[de.path().filename().string()] = de.file_size();
  }
  return out;
}

uint64_t Total(const std::map<std::string, uint64_t>& files) {
  uint64_t sum = 0;
  for (const auto& [name, size] : files) sum += size;
  return sum;
}

class PruneTest : public RetentionTreeTest, public ::testing::WithParamInterface<Versioning> {
 protected:
  void SetUp() override {
    RetentionTreeTest::SetUp();
    MakeSmallSegments(GetParam());
  }

  // Commits revision `r`; a forgotten-to-be revision also gets a file of
  // random bytes of its own, which only it references.
  void CommitWithOwnFile(int r, bool own, size_t big_size = 2u << 20) {
    for (const auto& de : fs::directory_iterator(src_)) {
      if (de.path().filename().string().starts_with("own-")) fs::remove(de.path());
    }
    if (own) Write("own-" + std::to_string(r), RandomBytes(300 << 10, 1000 + r));
    ASSERT_NO_FATAL_FAILURE(CommitRevision(r, big_size));
  }

  void ExpectKeptExactAndForgottenGone(const std::set<uint64_t>& forgotten) {
    for (uint64_t r : db_->store().KeptRevisions()) {
      if (r == 0) continue;
      EXPECT_EQ(Stored(r), sources_[r]) << "revision " << r;
    }
    for (uint64_t r : forgotten) {
      auto trx = db_->BeginRead(r);
      EXPECT_TRUE(!trx.ok() && trx.status().IsNotFound()) << "revision " << r;
    }
    VerifyReport report;
    ASSERT_TRUE(db_->store().Verify(&report).ok());
    for (const auto& d : report.damage) ADD_FAILURE() << d.file << " " << d.offset << " " << d.what;
  }

  Result<PruneReport> RunPrune(uint32_t max_unused, bool dry_run = false) {
    PruneOptions o;
    o.max_unused_percent = max_unused;
    o.dry_run = dry_run;
    return Prune(*db_, o);
  }
};

TEST_P(PruneTest, KeptRevisionsStayExactAndTheSpaceComesBack) {
  const std::set<uint64_t> forget = {1, 2, 4, 5, 7, 9, 10};
  for (int r = 1; r <= 12; ++r) ASSERT_NO_FATAL_FAILURE(CommitWithOwnFile(r, forget.count(r)));
  ASSERT_TRUE(db_->store().Forget({forget.begin(), forget.end()}).ok());

  // A dry run decides what the real run does and changes nothing.
  const auto files_before = SegmentFiles(Path("store"));
  auto dry = RunPrune(0, true);
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_EQ(SegmentFiles(Path("store")), files_before);
  EXPECT_GT(dry->pack.segments_packed + dry->pack.segments_deleted, 0u);

  auto pruned = RunPrune(0);
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_EQ(pruned->pack.segments_packed, dry->pack.segments_packed);
  EXPECT_EQ(pruned->pack.segments_deleted, dry->pack.segments_deleted);
  EXPECT_EQ(pruned->kept_revisions, 6u);
  EXPECT_EQ(pruned->forgotten_revisions, 7u);
  const auto files_after = SegmentFiles(Path("store"));
  EXPECT_EQ(pruned->store_bytes_before, Total(files_before));
  EXPECT_EQ(pruned->store_bytes_after, Total(files_after));
  // The forgotten revisions' own files were 7 x 300 KiB of random bytes.
  EXPECT_LT(Total(files_after) + 7 * (280 << 10), Total(files_before))
      << "before " << Total(files_before) << ", after " << Total(files_after);
  size_t packed = 0;
  for (const auto& [name, size] : files_after) packed += name.ends_with(".packed");
  EXPECT_EQ(packed, pruned->pack.segments_packed);
  ASSERT_NO_FATAL_FAILURE(ExpectKeptExactAndForgottenGone(forget));

  // The bookkeeping is durable, and a second prune has nothing to do.
  Open(nullptr);
  const RetentionState st = db_->store().retention();
  ASSERT_EQ(st.segments.size(), pruned->pack.live_bytes.size());
  for (const auto& s : st.segments) {
    EXPECT_EQ(s.live_bytes, pruned->pack.live_bytes.at(static_cast<uint32_t>(s.segment)));
  }
  auto again = RunPrune(0);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->pack.segments_packed + again->pack.segments_deleted, 0u);
  ASSERT_NO_FATAL_FAILURE(ExpectKeptExactAndForgottenGone(forget));

  // Commits go on after prune (dedup against an index that names pruned
  // chunks must store them anew), and a second round forgets more.
  std::set<uint64_t> forget2 = forget;
  for (int r = 13; r <= 16; ++r) ASSERT_NO_FATAL_FAILURE(CommitWithOwnFile(r, r < 16));
  ASSERT_TRUE(db_->store().Forget({3, 13, 14}).ok());
  forget2.insert({3, 13, 14});
  auto second = RunPrune(0);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_GT(second->pack.segments_packed + second->pack.segments_deleted, 0u);
  Open(nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectKeptExactAndForgottenGone(forget2));
}

// The model: 200 revisions (every file kind; a fifth with a file of their
// own), a hold, forget by restic-style policies and by number in two rounds
// with commits between, prune after each, reopen: every kept revision equals
// its source, bytes and metadata; every forgotten one is gone from every
// engine interface (revisions, reads, at-time lookups); verify is clean.
TEST_P(PruneTest, ModelTwoHundredRevisionsForgetByPoliciesAndNumbersThenPrune) {
  constexpr int kRevisions = 200;
  int r = 1;
  for (; r <= kRevisions - 20; ++r) {
    ASSERT_NO_FATAL_FAILURE(CommitWithOwnFile(r, r % 5 == 0, 256 << 10));
  }
  ASSERT_TRUE(db_->store().Hold(17, "release-1").ok());
  std::set<uint64_t> forgotten;
  auto forget_by = [&](const RetentionPolicy& policy, std::vector<uint64_t> also) {
    std::vector<RevisionTime> times;
    for (uint64_t n : db_->store().KeptRevisions()) {
      times.push_back({n, db_->store().GetRevision(n)->time_ns});
    }
    PolicyDecision d = ApplyRetentionPolicy(times, policy, {17});
    ASSERT_FALSE(d.forget.empty());
    EXPECT_TRUE(std::count(d.keep.begin(), d.keep.end(), 17u));
    ASSERT_TRUE(db_->store().Forget(d.forget).ok());
    ASSERT_TRUE(db_->store().Forget(also).ok());
    forgotten.insert(d.forget.begin(), d.forget.end());
    forgotten.insert(also.begin(), also.end());
  };
  // Commits every 7 h: 180 revisions span 52 days.
  RetentionPolicy first;
  first.last = 10;
  first.daily = 14;
  first.weekly = 4;
  first.monthly = 2;
  ASSERT_NO_FATAL_FAILURE(forget_by(first, {kRevisions - 25, kRevisions - 24}));
  auto one = RunPrune(0);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_GT(one->pack.segments_packed + one->pack.segments_deleted, 0u);
  for (; r <= kRevisions; ++r) ASSERT_NO_FATAL_FAILURE(CommitWithOwnFile(r, r % 5 == 0, 256 << 10));
  RetentionPolicy second;
  second.within = CalendarDuration{0, 0, 4, 0};
  second.monthly = 3;
  ASSERT_NO_FATAL_FAILURE(forget_by(second, {kRevisions - 1}));
  auto two = RunPrune(10);
  ASSERT_TRUE(two.ok()) << two.status().ToString();

  Open(nullptr);
  const std::vector<uint64_t> kept = db_->store().KeptRevisions();
  EXPECT_EQ(kept.size() + forgotten.size(), kRevisions + 1u);
  EXPECT_GT(forgotten.size(), 150u);
  EXPECT_TRUE(std::count(kept.begin(), kept.end(), 17u));
  EXPECT_EQ(kept.back(), static_cast<uint64_t>(kRevisions));
  ASSERT_NO_FATAL_FAILURE(ExpectKeptExactAndForgottenGone(forgotten));
  for (uint64_t f : forgotten) {
    EXPECT_TRUE(db_->store().GetRevision(f).status().IsNotFound()) << f;
    auto at = db_->store().RevisionAt(kT0 + static_cast<int64_t>(f) * 7 * kHour);
    if (at.ok()) {
      EXPECT_FALSE(forgotten.count(*at)) << "at the time of revision " << f;
    }
  }
}

TEST_P(PruneTest, MaxUnusedLeavesMostlyLiveSegmentsAlone) {
  for (int r = 1; r <= 6; ++r) ASSERT_NO_FATAL_FAILURE(CommitWithOwnFile(r, r == 2));
  ASSERT_TRUE(db_->store().Forget({2}).ok());
  auto all = RunPrune(100, true);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->pack.segments_packed, 0u) << "100 % unused allowed: nothing is packed";
  auto some = RunPrune(0, true);
  ASSERT_TRUE(some.ok());
  EXPECT_GT(some->pack.segments_packed + some->pack.segments_deleted, 0u);
  auto bad = RunPrune(101);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument()) << bad.status().ToString();
}

// A prune that seals the segment appended to (a forgotten revision's own
// file dead in it) writes the retention page anew in the next segment
// before packing: the sealed segment is packed without the page it no
// longer needs, so the next prune has nothing to do.
TEST_P(PruneTest, APruneThatSealsTheNewestSegmentLeavesNothingToTheNext) {
  for (int r = 1; r <= 5; ++r) ASSERT_NO_FATAL_FAILURE(CommitWithOwnFile(r, false));
  // Revision 6's own file (100 KiB, less than a segment) and revision 7
  // go to a segment of their own.
  ASSERT_TRUE(db_->store().SealNewestSegment().ok());
  Write("own-6", RandomBytes(100 << 10, 6));
  ASSERT_NO_FATAL_FAILURE(CommitRevision(6, 2u << 20));
  ASSERT_NO_FATAL_FAILURE(CommitWithOwnFile(7, false));
  ASSERT_TRUE(db_->store().Forget({6}).ok());
  const auto before = SegmentFiles(Path("store"));
  const std::string newest = before.rbegin()->first;
  ASSERT_FALSE(newest.ends_with(".packed")) << newest;

  auto pruned = RunPrune(0);
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  const auto after = SegmentFiles(Path("store"));
  // The precondition: the segment appended to was sealed and packed.
  ASSERT_TRUE(after.count(newest + ".packed") || !after.count(newest))
      << "segment " << newest << " was not sealed";
  auto again = RunPrune(0);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->pack.segments_packed, 0u);
  EXPECT_EQ(again->pack.segments_deleted, 0u);
  EXPECT_EQ(SegmentFiles(Path("store")).size(), after.size());
  ASSERT_NO_FATAL_FAILURE(ExpectKeptExactAndForgottenGone({6}));
}

// Prune killed before its bookkeeping (its last write fails, then a power
// cut): the slot left in force, and the older one it falls back on, both
// name pages that are still there, every kept revision reads exact, verify
// is clean, and the next prune finishes.
TEST_P(PruneTest, AKillBeforeTheBookkeepingLeavesBothSlotsValid) {
  const std::set<uint64_t> forget = {1, 2, 4, 5, 7, 9, 10, 11};
  // The last commit's own file (300 KiB) rolls it over to a new segment.
  for (int r = 1; r <= 12; ++r) {
    ASSERT_NO_FATAL_FAILURE(CommitWithOwnFile(r, forget.count(r) || r == 12));
  }
  ASSERT_TRUE(db_->store().Forget({forget.begin(), forget.end()}).ok());
  db_.reset();
  fs::copy(Path("store"), Path("copy"), fs::copy_options::recursive);
  FaultInjectionEnv env;
  Open(&env);
  env.ResetCounts();
  auto counted = RunPrune(0);
  ASSERT_TRUE(counted.ok()) << counted.status().ToString();
  ASSERT_GT(counted->pack.segments_packed + counted->pack.segments_deleted, 0u);
  const uint64_t writes = env.Count(FaultInjectionEnv::Op::kWrite);
  db_.reset();
  fs::remove_all(Path("store"));
  fs::rename(Path("copy"), Path("store"));
  Open(&env);
  env.ResetCounts();
  env.FailAt(FaultInjectionEnv::Op::kWrite, writes, Status::IOError("injected: the last write"));
  auto failed = RunPrune(0);
  EXPECT_TRUE(env.fired());
  env.FailAt(FaultInjectionEnv::Op::kWrite, 0, Status::OK());
  EXPECT_FALSE(failed.ok());
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  Open(nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectKeptExactAndForgottenGone(forget));
  auto again = RunPrune(0);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_NO_FATAL_FAILURE(ExpectKeptExactAndForgottenGone(forget));
}

INSTANTIATE_TEST_SUITE_P(Approaches, PruneTest,
                         ::testing::Values(Versioning::kFull, Versioning::kIncremental,
                                           Versioning::kDifferential, Versioning::kSliding),
                         [](const auto& info) { return std::string(VersioningName(info.param)); });

}  // namespace
}  // namespace revfs::testing
