// Space accounting (ComputeSpace), per versioning approach, checked against
// what it claims to be: a revision's alone bytes are exactly what the live
// set loses when that revision alone is left out (two ComputeLiveness walks),
// live = alone + shared + bookkeeping, dead = segment files - live, a forget
// turns exactly the forgotten revision's alone bytes (and the superseded
// retention page) into dead bytes, and a prune gives the dead bytes back.
#include <gtest/gtest.h>

#include "engine/tree/retention_fixture.h"

namespace revfs::testing {
namespace {

class SpaceTest : public RetentionTreeTest, public ::testing::WithParamInterface<Versioning> {
 protected:
  void SetUp() override {
    RetentionTreeTest::SetUp();
    MakeSmallSegments(GetParam());
  }

  static uint64_t AloneOf(const SpaceReport& space, uint64_t revision) {
    for (const RevisionSpace& r : space.revisions) {
      if (r.revision == revision) return r.alone_bytes;
    }
    ADD_FAILURE() << "revision " << revision << " is not in the report";
    return 0;
  }

  uint64_t LiveBytes(const std::vector<uint64_t>& kept) {
    auto live = ComputeLiveness(*db_, kept);
    EXPECT_TRUE(live.ok()) << live.status().ToString();
    return live.ok() ? live->live_bytes : 0;
  }

  SpaceReport Space() {
    auto space = ComputeSpace(*db_);
    EXPECT_TRUE(space.ok()) << space.status().ToString();
    return space.ok() ? *space : SpaceReport{};
  }

  // Checks `space` against independent walks and the files on disk.
  void ExpectConsistent(const SpaceReport& space) {
    const std::vector<uint64_t> kept = db_->store().KeptRevisions();
    ASSERT_EQ(space.revisions.size(), kept.size());
    const uint64_t live = LiveBytes(kept);
    EXPECT_EQ(space.live_bytes, live);
    // The live bytes by kind add up to the same (and the retention page).
    auto by_kind = ComputeLiveness(*db_, kept);
    ASSERT_TRUE(by_kind.ok());
    EXPECT_EQ(by_kind->revision_root_bytes + by_kind->indirect_bytes + by_kind->fragment_bytes +
                  by_kind->chunk_bytes + by_kind->delta_base_bytes + space.bookkeeping_bytes,
              live);
    uint64_t by_records = 0;
    for (uint64_t b : by_kind->fragment_bytes_by_record_kind) by_records += b;
    EXPECT_EQ(by_records, by_kind->fragment_bytes);
    EXPECT_GT(by_kind->fragment_bytes_by_record_kind[kInodeBase >> 60], 0u);
    EXPECT_EQ(space.live_bytes, space.alone_bytes + space.shared_bytes + space.bookkeeping_bytes);
    uint64_t sum = 0;
    for (size_t i = 0; i < kept.size(); ++i) {
      const RevisionSpace& r = space.revisions[i];
      ASSERT_EQ(r.revision, kept[i]);
      std::vector<uint64_t> others = kept;
      others.erase(others.begin() + static_cast<ptrdiff_t>(i));
      EXPECT_EQ(r.alone_bytes, live - LiveBytes(others)) << "revision " << r.revision;
      sum += r.alone_bytes;
    }
    EXPECT_EQ(sum, space.alone_bytes);
    uint64_t files = 0;
    for (const auto& de : fs::directory_iterator(Path("store") + "/segments")) {
      files += de.file_size();
    }
    EXPECT_EQ(space.store_bytes, files);
    EXPECT_EQ(space.dead_bytes, files - live);
  }
};

TEST_P(SpaceTest, AloneSharedAndDeadBytesAreWhatTheyClaim) {
  for (int r = 1; r <= 10; ++r) {
    // Revision 6 holds a file twice (one copy's chunks are reused by the
    // other: still revision 6's alone) and revision 7 a file of its own.
    if (r == 6) {
      const std::string twice = RandomBytes(200 << 10, 66);
      Write("copy-a", twice);
      Write("copy-b", twice);
    }
    if (r == 7) {
      fs::remove(src_ + "/copy-a");
      fs::remove(src_ + "/copy-b");
      Write("own", RandomBytes(300 << 10, 77));
    }
    if (r == 8) fs::remove(src_ + "/own");
    ASSERT_NO_FATAL_FAILURE(CommitRevision(r, 1u << 20));
  }
  SpaceReport space = Space();
  ASSERT_NO_FATAL_FAILURE(ExpectConsistent(space));
  // What only one revision holds is its alone; what never changes is shared.
  EXPECT_GE(space.revisions[6].alone_bytes, 200u << 10);
  EXPECT_GE(space.revisions[7].alone_bytes, 300u << 10);
  EXPECT_GT(space.shared_bytes, 1u << 20);  // the big file, unchanged for most revisions
  EXPECT_EQ(space.bookkeeping_bytes, 0u);   // nothing forgotten or held yet

  // Forgetting revision 7 makes its alone bytes dead, and nothing else.
  ASSERT_TRUE(db_->store().Forget({7}).ok());
  SpaceReport after = Space();
  ASSERT_NO_FATAL_FAILURE(ExpectConsistent(after));
  EXPECT_GT(after.bookkeeping_bytes, 0u);  // the retention page
  EXPECT_EQ(after.dead_bytes, space.dead_bytes + space.revisions[7].alone_bytes);

  // Forgetting more: what only the forgotten ones shared with revision 5
  // becomes 5's alone.
  ASSERT_TRUE(db_->store().Forget({2, 3, 4}).ok());
  SpaceReport more = Space();
  ASSERT_NO_FATAL_FAILURE(ExpectConsistent(more));
  EXPECT_GT(AloneOf(more, 5), AloneOf(after, 5));
  EXPECT_GT(more.dead_bytes, after.dead_bytes);

  // Prune gives the dead bytes back (all but the newest segment's few dead
  // pages, which only a seal would take).
  PruneOptions o;
  o.max_unused_percent = 0;
  auto report = Prune(*db_, o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  Open(nullptr);
  SpaceReport pruned = Space();
  ASSERT_NO_FATAL_FAILURE(ExpectConsistent(pruned));
  EXPECT_LT(pruned.dead_bytes, more.dead_bytes / 4);
  // What is live stays live, unless prune rewrote the kept revisions
  // without the forgotten ones' fragments: then less is.
  const uint64_t live_before = more.alone_bytes + more.shared_bytes;
  const uint64_t live_after = pruned.alone_bytes + pruned.shared_bytes;
  if (report->rewritten_revisions == 0) {
    EXPECT_EQ(live_after, live_before);
  } else if (GetParam() != Versioning::kDifferential) {
    EXPECT_LT(live_after, live_before);
  } else {
    // A differential chain written again with fewer versions puts its full
    // dumps elsewhere: leaves that change every revision (the history's)
    // may then carry a little more since their last full dump.
    EXPECT_LE(live_after, live_before + live_before / 100);
  }
}

INSTANTIATE_TEST_SUITE_P(Approaches, SpaceTest,
                         ::testing::Values(Versioning::kFull, Versioning::kIncremental,
                                           Versioning::kDifferential, Versioning::kSliding),
                         [](const auto& info) { return std::string(VersioningName(info.param)); });

}  // namespace
}  // namespace revfs::testing
