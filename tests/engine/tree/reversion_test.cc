// Prune's rewrite of the kept revisions (engine/FORMAT.md, "Re-versioning
// the kept revisions"), per versioning approach: after forget and prune
// every kept revision holds exactly the records it held before, its chains
// hold no fragment of a forgotten revision, the fragment bound holds, the
// fragments kept shrink, the store verifies, the new roots survive reopen,
// a second prune rewrites nothing; a reader that opened a revision before
// prune reads it whole afterwards, its pages packed away; a rewrite that
// fails at any write or sync, then a power cut, loses nothing.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "engine/tree/retention_fixture.h"
#include "records/record_page.h"
#include "store/superblock.h"
#include "support/fault_env.h"

namespace revfs::testing {
namespace {

using Records = std::map<uint64_t, std::string>;

Records AllRecords(Database& db, uint64_t rev) {
  Records out;
  auto trx = db.BeginRead(rev);
  EXPECT_TRUE(trx.ok()) << trx.status().ToString();
  if (!trx.ok()) return out;
  Status s = (*trx)->Scan(0, UINT64_MAX, [&](uint64_t key, std::string_view value) {
    out.emplace(key, std::string(value));
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

class ReversionTest : public RetentionTreeTest, public ::testing::WithParamInterface<Versioning> {
 protected:
  void SetUp() override {
    RetentionTreeTest::SetUp();
    MakeSmallSegments(GetParam());
    for (int r = 1; r <= 24; ++r) ASSERT_NO_FATAL_FAILURE(CommitRevision(r, 1u << 20));
    // Keep every sixth revision and the latest.
    for (int r = 1; r < 24; ++r) {
      if (r % 6 != 0) forget_.push_back(r);
    }
    for (uint64_t r = 0; r <= 24; ++r) {
      if (std::find(forget_.begin(), forget_.end(), r) == forget_.end()) {
        records_[r] = AllRecords(*db_, r);
      }
    }
    ASSERT_TRUE(db_->store().Forget(forget_).ok());
  }

  // A second, read-only Database on the store, as a mounted daemon has.
  Result<std::unique_ptr<Database>> OpenReader() {
    DatabaseOptions options;
    options.store = StoreOptions{nullptr, false};
    options.memory.shared_allocator = allocator();
    return Database::Open(Path("store"), options);
  }

  Result<PruneReport> RunPrune() {
    PruneOptions o;
    o.max_unused_percent = 0;
    return Prune(*db_, o);
  }

  void ExpectSameRecordsAndClean() {
    for (const auto& [r, records] : records_) {
      EXPECT_EQ(AllRecords(*db_, r), records) << "revision " << r;
      if (r > 0) EXPECT_EQ(Stored(r), sources_[r]) << "revision " << r;
    }
    VerifyReport report;
    ASSERT_TRUE(db_->Verify(&report).ok());
    for (const auto& d : report.damage) ADD_FAILURE() << d.file << " " << d.offset << " " << d.what;
  }

  std::vector<uint64_t> forget_;
  std::map<uint64_t, Records> records_;  // every kept revision's, before prune
};

TEST_P(ReversionTest, KeptRevisionsKeepTheirRecordsAndLoseForgottenFragments) {
  auto before = ComputeLiveness(*db_, db_->store().KeptRevisions());
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  // A dry run says what the real one rewrites, and writes nothing.
  const RetentionState st = db_->store().retention();
  PruneOptions dry;
  dry.max_unused_percent = 0;
  dry.dry_run = true;
  auto would = Prune(*db_, dry);
  ASSERT_TRUE(would.ok()) << would.status().ToString();
  EXPECT_EQ(db_->store().retention(), st);
  auto pruned = RunPrune();
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_EQ(would->rewritten_revisions, pruned->rewritten_revisions);
  EXPECT_EQ(would->stale_fragment_bytes, pruned->stale_fragment_bytes);
  if (GetParam() == Versioning::kFull) {
    // A leaf is one whole fragment: nothing a rewrite would shed.
    EXPECT_EQ(pruned->rewritten_revisions, 0u);
    EXPECT_EQ(pruned->live.stale_fragment_bytes, before->stale_fragment_bytes);
    ASSERT_NO_FATAL_FAILURE(ExpectSameRecordsAndClean());
    return;
  }
  ASSERT_TRUE(before->first_stale.has_value());
  EXPECT_EQ(*before->first_stale, 6u);  // the first kept revision after forgotten ones
  EXPECT_GT(before->stale_fragment_bytes, 0u);
  EXPECT_EQ(pruned->stale_fragment_bytes, before->stale_fragment_bytes);
  EXPECT_EQ(pruned->rewritten_revisions, 4u);  // 6, 12, 18 and 24; 0 stays
  EXPECT_GT(pruned->rewrite_bytes, 0u);
  EXPECT_GT(pruned->rewrite_records, 0u);
  // What the kept revisions' chains hold now: none of a forgotten revision.
  EXPECT_EQ(pruned->live.stale_fragment_bytes, 0u);
  EXPECT_FALSE(pruned->live.first_stale.has_value());
  if (GetParam() != Versioning::kFull) {
    // Full versioning writes a changed leaf whole either way: the other
    // approaches shed the fragments forgotten revisions added to chains.
    EXPECT_LT(pruned->live.fragment_bytes, before->fragment_bytes)
        << "fragment bytes " << before->fragment_bytes << " -> " << pruned->live.fragment_bytes;
  }
  for (uint64_t r : {6, 12, 18, 24}) {
    auto root = db_->store().ReadRevisionRoot(r);
    ASSERT_TRUE(root.ok()) << root.status().ToString();
    EXPECT_EQ(root->Counter("reversioned"), 1u) << "revision " << r;
    EXPECT_EQ(root->message, "r" + std::to_string(r));
  }
  ASSERT_NO_FATAL_FAILURE(ExpectSameRecordsAndClean());

  // The new roots are durable, and there is nothing left to rewrite.
  Open(nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectSameRecordsAndClean());
  auto again = RunPrune();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->stale_fragment_bytes, 0u);
  EXPECT_EQ(again->rewritten_revisions, 0u);

  // Commits go on from the rewritten latest revision; forgetting one of the
  // rewritten revisions drops its override.
  ASSERT_NO_FATAL_FAILURE(CommitRevision(25, 1u << 20));
  records_[25] = AllRecords(*db_, 25);
  ASSERT_TRUE(db_->store().Forget({12}).ok());
  records_.erase(12);
  for (const auto& o : db_->store().retention().overrides) EXPECT_NE(o.revision, 12u);
  auto third = RunPrune();
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  Open(nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectSameRecordsAndClean());
}

TEST_P(ReversionTest, AReaderOfAnOldRootFollowsTheRewrite) {
  // A second Database on the store, as a mounted daemon has: it opens
  // revision 12 (its pages in a segment prune packs) before prune and
  // reads it after prune packed the old root's pages away and its
  // segments were reloaded.
  auto reader = OpenReader();
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto trx = (*reader)->BeginRead(12);
  ASSERT_TRUE(trx.ok());
  auto pruned = RunPrune();
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  ASSERT_GT(pruned->pack.segments_packed + pruned->pack.segments_deleted, 0u);
  ASSERT_TRUE((*reader)->store().Refresh().ok());
  (*reader)->ClearCaches();
  Records got;
  Status s = (*trx)->Scan(0, UINT64_MAX, [&](uint64_t key, std::string_view value) {
    got.emplace(key, std::string(value));
    return true;
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(got, records_[12]);
  // It did meet the old root's pages gone (for full versioning there may
  // have been nothing to rewrite).
  if (pruned->rewritten_revisions > 0) {
    EXPECT_EQ((*reader)->stats().reads_moved_to_rewritten_roots, 1u);
  }
  auto one = (*trx)->Get(records_[12].rbegin()->first);
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ((*one)->value(), records_[12].rbegin()->second);
}

TEST_P(ReversionTest, AReaderThatNeverRefreshedOpensARewrittenRevision) {
  // Opened before prune, it read nothing; it is not told of the change (a
  // daemon waiting for a notification) and opens kept revisions after
  // prune packed their old root pages away.
  auto reader = OpenReader();
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto pruned = RunPrune();
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  for (uint64_t r : {6, 12, 18, 24}) EXPECT_EQ(AllRecords(**reader, r), records_[r]) << r;
}

TEST_P(ReversionTest, ACommitAfterAFailedRewriteInTheSameDatabaseReadsRight) {
  // The rewrite appends and reads back pages for 6 .. 24, then fails on
  // revision 3 (out of order); the next commit appends other pages at
  // those addresses: a record changed in every leaf but the inodes'.
  Database::RewriteReport report;
  EXPECT_TRUE(db_->RewriteRevisions(0, {6, 12, 18, 24, 3}, &report).IsInvalidArgument());
  EXPECT_TRUE(db_->store().retention().overrides.empty());
  auto trx = db_->BeginWrite();
  ASSERT_TRUE(trx.ok()) << trx.status().ToString();
  Records expected = records_[24];
  std::set<uint64_t> leaves;
  for (const auto& [key, value] : records_[24]) {
    if ((key >> 60) == 1 || !leaves.insert(LeafOf(key)).second) continue;
    ASSERT_TRUE((*trx)->Put(key, "changed").ok());
    expected[key] = "changed";
  }
  auto rev = (*trx)->Commit(kT0 + 1000 * kHour, "after a failed rewrite");
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  trx->reset();
  EXPECT_EQ(AllRecords(*db_, *rev), expected);
  Open(nullptr);
  EXPECT_EQ(AllRecords(*db_, *rev), expected);
}

TEST_P(ReversionTest, BothSuperblockSlotsEndPastTheRewrite) {
  // The older slot is the fallback a crash in the rest of prune may leave
  // in force alone; it must not name a segment packing deletes.
  const uint64_t before = db_->store().superblock().generation;
  const uint64_t end_before = db_->store().superblock().pages_end;
  Database::RewriteReport report;
  ASSERT_TRUE(db_->RewriteRevisions(0, {6, 12, 18, 24}, &report).ok());
  std::ifstream in(Path("store") + "/superblock", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(bytes.size(), kSuperblockSlots * kSuperblockSlotSize);
  for (int i = 0; i < kSuperblockSlots; ++i) {
    auto sb = DecodeSuperblock(std::string_view(bytes).substr(i * kSuperblockSlotSize,
                                                              kSuperblockSlotSize),
                               Path("store"));
    ASSERT_TRUE(sb.ok()) << sb.status().ToString();
    EXPECT_GT(sb->generation, before) << "slot " << i;
    EXPECT_FALSE(sb->retention.IsNull()) << "slot " << i;
    EXPECT_GT(sb->pages_end, end_before) << "slot " << i;
  }
  // And after a whole prune, verify is clean with either slot in force.
  auto pruned = RunPrune();
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  VerifyReport verify;
  ASSERT_TRUE(db_->store().Verify(&verify).ok());
  for (const auto& d : verify.damage) ADD_FAILURE() << d.file << " " << d.offset << " " << d.what;
}

// A fault at a write or a sync of the rewrite (sampled across all of them),
// then a power cut: the error is reported, and after reopening every kept
// revision holds its records, from the old roots or the new, and verifies.
TEST_P(ReversionTest, AFaultAtAWriteOrSyncOfARewriteThenACrashLosesNothing) {
  using Op = FaultInjectionEnv::Op;
  FaultInjectionEnv env;
  Open(&env);
  const std::vector<uint64_t> revisions = {6, 12, 18, 24};
  Database::RewriteReport report;
  env.ResetCounts();
  ASSERT_TRUE(db_->RewriteRevisions(0, revisions, &report).ok());
  // Each rewrite writes the same: the tries it diffs hold the same records.
  const uint64_t writes = env.Count(Op::kWrite), syncs = env.Count(Op::kSync);
  ASSERT_GT(writes, 4u);
  ASSERT_GE(syncs, 2u);  // the pages, the superblock
  std::vector<std::pair<Op, uint64_t>> faults;
  for (uint64_t n = 1; n <= writes; n += std::max<uint64_t>(1, writes / 10)) {
    faults.emplace_back(Op::kWrite, n);
  }
  faults.emplace_back(Op::kWrite, writes);
  for (uint64_t n = 1; n <= syncs; ++n) faults.emplace_back(Op::kSync, n);
  for (const auto& [op, n] : faults) {
    SCOPED_TRACE((op == Op::kWrite ? "write " : "sync ") + std::to_string(n));
    const RetentionState before = db_->store().retention();
    env.ResetCounts();
    env.FailAt(op, n, Status::IOError("injected: no space left on device"), /*torn=*/true);
    Status s = db_->RewriteRevisions(0, revisions, &report);
    const bool fired = env.fired();
    env.FailAt(op, 0, Status::OK());
    if (!fired) {
      // This round did fewer (a segment rolled over at another point: one
      // sync fewer): nothing failed.
      ASSERT_TRUE(s.ok()) << s.ToString();
      ASSERT_NO_FATAL_FAILURE(ExpectSameRecordsAndClean());
      continue;
    }
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.ToString().find("no space left"), std::string::npos) << s.ToString();
    // The roots in force are the old ones, or (a fault in the second
    // superblock write, after the switch) the new ones, all of them.
    const RetentionState after = db_->store().retention();
    if (!(after == before)) {
      ASSERT_EQ(after.overrides.size(), revisions.size());
      for (size_t i = 0; i < revisions.size(); ++i) {
        EXPECT_EQ(after.overrides[i].revision, revisions[i]);
        EXPECT_NE(after.overrides[i].root, before.overrides.empty()
                                               ? PageRef{}
                                               : before.overrides[i].root);
      }
    }
    ASSERT_TRUE(env.DropUnsyncedData().ok());
    Open(&env);
    ASSERT_NO_FATAL_FAILURE(ExpectSameRecordsAndClean());
  }
  // Misuse is refused, not misread.
  EXPECT_TRUE(db_->RewriteRevisions(12, {6}, &report).IsInvalidArgument());
  EXPECT_TRUE(db_->RewriteRevisions(0, {3}, &report).IsNotFound());  // forgotten
  ASSERT_NO_FATAL_FAILURE(ExpectSameRecordsAndClean());
}

INSTANTIATE_TEST_SUITE_P(Approaches, ReversionTest,
                         ::testing::Values(Versioning::kFull, Versioning::kIncremental,
                                           Versioning::kDifferential, Versioning::kSliding),
                         [](const auto& info) { return std::string(VersioningName(info.param)); });

}  // namespace
}  // namespace revfs::testing
