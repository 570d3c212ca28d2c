// Store retention: forget, hold, release — what readers see, what survives
// reopen, crashes and bad input.
#include <gtest/gtest.h>

#include "env/env.h"
#include "revfs/store.h"
#include "store/retention.h"
#include "store/revision_writer.h"
#include "support/engine_test.h"
#include "support/fault_env.h"
#include "support/store_util.h"
#include "util/coding.h"

namespace revfs::testing {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int64_t kSecond = 1'000'000'000;

class RetentionTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    path_ = Path("store");
    ASSERT_TRUE(Store::Create(path_, StoreConfig{}, {}, kT0).ok());
  }
  std::unique_ptr<Store> Open(bool writable, Env* env = nullptr) {
    auto store = Store::Open(path_, StoreOptions{env, writable});
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  // Commits revisions 1..n, revision r at kT0 + r * 10 s.
  std::vector<CommittedRevision> CommitN(Store* store, int n) {
    std::vector<CommittedRevision> revs;
    for (int r = 1; r <= n; ++r) {
      auto rev = CommitPages(store, 2, kT0 + r * 10 * kSecond);
      EXPECT_TRUE(rev.ok()) << rev.status().ToString();
      if (rev.ok()) revs.push_back(*rev);
    }
    return revs;
  }
  std::string path_;
};

TEST_F(RetentionTest, ForgottenRevisionsReadAsNotFoundAndKeepNumbers) {
  auto store = Open(true);
  auto revs = CommitN(store.get(), 6);
  ASSERT_EQ(revs.size(), 6u);
  ASSERT_TRUE(store->Forget({2, 3, 5}).ok());
  for (uint64_t r : {2, 3, 5}) {
    EXPECT_TRUE(store->IsForgotten(r));
    auto e = store->GetRevision(r);
    ASSERT_TRUE(e.status().IsNotFound()) << r;
    EXPECT_NE(e.status().message().find("revision " + std::to_string(r) + " was forgotten"),
              std::string_view::npos);
    EXPECT_TRUE(store->ReadRevisionRoot(r).status().IsNotFound());
  }
  EXPECT_EQ(store->KeptRevisions(), (std::vector<uint64_t>{0, 1, 4, 6}));
  EXPECT_EQ(store->retention().forgotten,
            (std::vector<RetentionState::Range>{{2, 2}, {5, 1}}));
  // at/T: the newest kept revision at or before T.
  EXPECT_EQ(*store->RevisionAt(kT0 + 35 * kSecond), 1u);  // 3 and 2 forgotten
  EXPECT_EQ(*store->RevisionAt(kT0 + 50 * kSecond), 4u);  // 5 forgotten
  EXPECT_EQ(*store->RevisionAt(kT0 + 60 * kSecond), 6u);
  // Kept revisions read back exactly; the next commit keeps the retention.
  for (uint64_t r : {1, 4, 6}) EXPECT_TRUE(CheckRevision(*store, revs[r - 1]).ok()) << r;
  auto seven = CommitPages(store.get(), 1, kT0 + 70 * kSecond);
  ASSERT_TRUE(seven.ok());
  EXPECT_EQ(seven->number, 7u);
  EXPECT_TRUE(store->IsForgotten(3));
  store.reset();
  auto again = Open(false);
  EXPECT_EQ(again->KeptRevisions(), (std::vector<uint64_t>{0, 1, 4, 6, 7}));
  EXPECT_TRUE(again->GetRevision(5).status().IsNotFound());
  VerifyReport report;
  ASSERT_TRUE(again->Verify(&report).ok());
  EXPECT_TRUE(report.clean()) << report.damage[0].what;
  EXPECT_EQ(report.revisions_checked, 5u);
}

TEST_F(RetentionTest, RevisionAtSkipsAForgottenOldestRevision) {
  auto store = Open(true);
  CommitN(store.get(), 3);
  ASSERT_TRUE(store->Forget({0, 1}).ok());
  auto r = store->RevisionAt(kT0 + 15 * kSecond);
  EXPECT_TRUE(r.status().IsNotFound()) << (r.ok() ? *r : 0);
  EXPECT_EQ(*store->RevisionAt(kT0 + 25 * kSecond), 2u);
}

TEST_F(RetentionTest, BadForgetsChangeNothingAndNameTheRevision) {
  auto store = Open(true);
  CommitN(store.get(), 4);
  ASSERT_TRUE(store->Hold(2, "monthly").ok());
  const uint64_t generation = store->superblock().generation;
  Status s = store->Forget({1, 4});
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(), "revision 4 is the latest; it cannot be forgotten");
  s = store->Forget({1, 2});
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(), "revision 2 is held (tag monthly); release it first");
  s = store->Forget({9});
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.message(), "revision 9 does not exist (latest is 4)");
  ASSERT_TRUE(store->Forget({1}).ok());
  s = store->Forget({1});
  EXPECT_EQ(s.message(), "revision 1 is already forgotten");
  EXPECT_EQ(store->superblock().generation, generation + 1);
  EXPECT_EQ(store->KeptRevisions(), (std::vector<uint64_t>{0, 2, 3, 4}));
  // Held revisions: hold on a forgotten one is NotFound; release of an
  // unheld one too.
  EXPECT_TRUE(store->Hold(1, "").IsNotFound());
  EXPECT_TRUE(store->Release(3).IsNotFound());
  EXPECT_TRUE(store->Hold(3, std::string(kMaxHoldTag + 1, 'x')).IsInvalidArgument());
}

TEST_F(RetentionTest, HoldsPersistAndRelease) {
  auto store = Open(true);
  CommitN(store.get(), 3);
  ASSERT_TRUE(store->Hold(1, "before-upgrade").ok());
  ASSERT_TRUE(store->Hold(2, "").ok());
  ASSERT_TRUE(store->Hold(1, "renamed").ok());
  store.reset();
  store = Open(true);
  EXPECT_EQ(store->Holds(),
            (std::vector<RevisionHold>{{1, "renamed"}, {2, ""}}));
  ASSERT_TRUE(store->Release(1).ok());
  ASSERT_TRUE(store->Forget({1}).ok());
  EXPECT_EQ(store->Holds(), (std::vector<RevisionHold>{{2, ""}}));
}

TEST_F(RetentionTest, ReadOnlyAndBusyAreRefused) {
  {
    auto reader = Open(false);
    Status s = reader->Forget({0});
    EXPECT_TRUE(s.IsReadOnly()) << s.ToString();
  }
  auto store = Open(true);
  CommitN(store.get(), 2);
  auto commit = store->BeginRevision();
  ASSERT_TRUE(commit.ok());
  Status s = store->Forget({1});
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_NE(s.message().find("a commit is in progress"), std::string_view::npos);
  EXPECT_TRUE(store->Hold(1, "x").IsBusy());
  commit->reset();
  EXPECT_TRUE(store->Forget({1}).ok());
  // Another process (here: another open) cannot take the writer lock.
  auto second = Store::Open(path_, StoreOptions{nullptr, true});
  EXPECT_TRUE(second.status().IsBusy());
}

TEST_F(RetentionTest, ReaderRefreshPicksUpAForget) {
  auto writer = Open(true);
  CommitN(writer.get(), 3);
  auto reader = Open(false);
  ASSERT_TRUE(reader->GetRevision(2).ok());
  ASSERT_TRUE(writer->Forget({2}).ok());
  ASSERT_TRUE(reader->GetRevision(2).ok());  // not refreshed yet
  ASSERT_TRUE(reader->Refresh().ok());
  EXPECT_TRUE(reader->GetRevision(2).status().IsNotFound());
  EXPECT_EQ(reader->KeptRevisions(), (std::vector<uint64_t>{0, 1, 3}));
}

TEST_F(RetentionTest, AFailedOrCrashedForgetLeavesTheOldStateOrTheNew) {
  FaultInjectionEnv env;
  {
    auto store = Open(true, &env);
    CommitN(store.get(), 4);
  }
  // Fail each sync of a forget in turn; then a crash drops unsynced bytes.
  for (uint64_t n = 1; n <= 3; ++n) {
    auto store = Open(true, &env);
    ASSERT_TRUE(store);
    const bool before = store->IsForgotten(2);
    env.ResetCounts();
    env.FailAt(FaultInjectionEnv::Op::kSync, n, Status::IOError("injected"));
    Status s = store->Forget({2});
    env.FailAt(FaultInjectionEnv::Op::kSync, 0, Status::OK());
    store.reset();
    ASSERT_TRUE(env.DropUnsyncedData().ok());
    auto again = Open(false, &env);
    ASSERT_TRUE(again);
    if (s.ok()) {
      EXPECT_TRUE(again->IsForgotten(2)) << n;
    } else {
      EXPECT_EQ(again->IsForgotten(2), before) << n << ": " << s.ToString();
    }
    VerifyReport report;
    ASSERT_TRUE(again->Verify(&report).ok());
    EXPECT_TRUE(report.clean()) << n << ": " << report.damage[0].what;
    EXPECT_EQ(again->KeptRevisions().back(), 4u);
    if (again->IsForgotten(2)) break;
  }
  auto store = Open(true, &env);
  if (!store->IsForgotten(2)) {
    ASSERT_TRUE(store->Forget({2}).ok());
  }
  EXPECT_TRUE(store->IsForgotten(2));
  EXPECT_TRUE(CommitPages(store.get(), 1, kT0 + 100 * kSecond).ok());
}

TEST(RetentionPageTest, RoundTripsAndRefusesMalformedPayloads) {
  RetentionState st;
  st.AddForgotten({7, 3, 4, 5, 10, 4});
  EXPECT_EQ(st.forgotten, (std::vector<RetentionState::Range>{{3, 3}, {7, 1}, {10, 1}}));
  st.holds = {{1, "a"}, {6, std::string(255, 't')}};
  st.segments = {{0, 1000}, {2, 5}};
  st.overrides = {{2, PageRef{4096, 300, 77}}, {6, PageRef{uint64_t{3} << 40, 90, 1}}};
  auto back = DecodeRetention(EncodeRetention(st));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, st);
  EXPECT_EQ(st.ForgottenCount(), 5u);
  EXPECT_EQ(st.KeptAtOrBefore(5), std::optional<uint64_t>(2));
  EXPECT_EQ(st.KeptAtOrBefore(6), std::optional<uint64_t>(6));
  RetentionState zero;
  zero.AddForgotten({0, 1});
  EXPECT_EQ(zero.KeptAtOrBefore(1), std::nullopt);
  // Out of order ranges, trailing bytes, a held forgotten revision, and a
  // truncation at every byte are all Corruption.
  std::string bad;
  PutVarint64(&bad, 2);
  for (uint64_t v : {5, 1, 3, 1}) PutVarint64(&bad, v);
  bad += std::string("\0\0", 2);
  EXPECT_TRUE(DecodeRetention(bad).status().IsCorruption());
  EXPECT_TRUE(DecodeRetention(EncodeRetention(st) + "x").status().IsCorruption());
  RetentionState held_forgotten = st;
  held_forgotten.holds = {{3, ""}};
  EXPECT_TRUE(DecodeRetention(EncodeRetention(held_forgotten)).status().IsCorruption());
  // Root overrides: sorted, unique, of kept revisions, never null.
  for (const auto& bad_overrides : std::vector<std::vector<RetentionState::RootOverride>>{
           {{6, PageRef{1, 2, 3}}, {2, PageRef{1, 2, 3}}},
           {{2, PageRef{1, 2, 3}}, {2, PageRef{4, 5, 6}}},
           {{4, PageRef{1, 2, 3}}},
           {{2, PageRef{}}}}) {
    RetentionState o = st;
    o.overrides = bad_overrides;
    EXPECT_TRUE(DecodeRetention(EncodeRetention(o)).status().IsCorruption());
  }
  // Forgetting a revision drops its override.
  RetentionState forgot = st;
  forgot.AddForgotten({6});
  EXPECT_EQ(forgot.overrides, (std::vector<RetentionState::RootOverride>{st.overrides[0]}));
  // A truncation at every byte is Corruption, but for the one place where a
  // page of an earlier development build ends (after the segments): that
  // reads as no overrides, which is what such a page meant.
  const std::string good = EncodeRetention(st);
  RetentionState without = st;
  without.overrides.clear();
  const size_t earlier = EncodeRetention(without).size() - 1;  // its empty list is one byte
  for (size_t n = 0; n < good.size(); ++n) {
    auto got = DecodeRetention(good.substr(0, n));
    if (n == earlier) {
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(*got, without);
      continue;
    }
    EXPECT_FALSE(got.ok()) << n;
  }
}

}  // namespace
}  // namespace revfs::testing
