// A commit interrupted at every write and every sync point, through the
// fault-injecting Env: the store reopens at the previous revision with every
// earlier revision intact and verify clean, and the next commit succeeds.
#include <gtest/gtest.h>

#include <filesystem>

#include "revfs/store.h"
#include "support/engine_test.h"
#include "support/fault_env.h"
#include "support/store_util.h"

namespace revfs::testing {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int64_t kSecond = 1'000'000'000;
using Op = FaultInjectionEnv::Op;

class CrashTest : public EngineTest {
 protected:
  // Makes a store with three revisions at `path` and records them.
  void MakeHistory(const std::string& path) {
    ASSERT_TRUE(Store::Create(path, StoreConfig{}, {}, kT0).ok());
    auto store = Store::Open(path, StoreOptions{nullptr, true});
    ASSERT_TRUE(store.ok());
    history_.clear();
    for (int i = 1; i <= 3; ++i) {
      auto rev = CommitPages(store->get(), 3, kT0 + i * kSecond);
      ASSERT_TRUE(rev.ok());
      history_.push_back(*rev);
    }
  }

  // Counts the operations of `op` one commit of 4 pages performs.
  uint64_t OpsPerCommit(Op op) {
    std::string path = Path("count");
    MakeHistory(path);
    FaultInjectionEnv env;
    auto store = Store::Open(path, StoreOptions{&env, true});
    EXPECT_TRUE(store.ok());
    env.ResetCounts();
    EXPECT_TRUE(CommitPages(store->get(), 4, kT0 + 10 * kSecond).ok());
    return env.Count(op);
  }

  // Fails the `n`th operation of `op` during a commit, then crashes (drops
  // unsynced data), reopens and checks everything.
  void CrashAt(Op op, uint64_t n, Status error, bool torn) {
    SCOPED_TRACE("op " + std::to_string(static_cast<int>(op)) + " #" + std::to_string(n) +
                 (torn ? " torn" : ""));
    std::string path = Path("s" + std::to_string(static_cast<int>(op)) + "-" +
                            std::to_string(n) + (torn ? "t" : ""));
    MakeHistory(path);
    FaultInjectionEnv env;
    {
      auto store = Store::Open(path, StoreOptions{&env, true});
      ASSERT_TRUE(store.ok());
      env.FailAt(op, n, error, torn);
      auto rev = CommitPages(store->get(), 4, kT0 + 10 * kSecond);
      ASSERT_TRUE(env.fired());
      ASSERT_FALSE(rev.ok());
      EXPECT_EQ(rev.status().code(), error.code()) << rev.status().ToString();
      // The failed commit is invisible in the open store as well.
      EXPECT_EQ((*store)->latest_revision(), 3u);
    }
    ASSERT_TRUE(env.DropUnsyncedData().ok());

    auto store = Store::Open(path, StoreOptions{nullptr, true});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ((*store)->latest_revision(), 3u);
    for (const auto& rev : history_) {
      Status s = CheckRevision(**store, rev);
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    VerifyReport report;
    ASSERT_TRUE((*store)->Verify(&report).ok());
    EXPECT_TRUE(report.clean()) << report.damage.front().what;
    auto next = CommitPages(store->get(), 2, kT0 + 11 * kSecond);
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    EXPECT_EQ(next->number, 4u);
    EXPECT_TRUE(CheckRevision(**store, *next).ok());
  }

  std::vector<CommittedRevision> history_;
};

TEST_F(CrashTest, EveryWritePoint) {
  uint64_t writes = OpsPerCommit(Op::kWrite);
  ASSERT_GE(writes, 7u);  // 4 pages, the root, the index entry, the superblock
  for (uint64_t n = 1; n <= writes; ++n) {
    CrashAt(Op::kWrite, n, Status::IOError("injected write error"), false);
    CrashAt(Op::kWrite, n, Status::IOError("injected torn write"), true);
  }
}

TEST_F(CrashTest, EverySyncPoint) {
  uint64_t syncs = OpsPerCommit(Op::kSync);
  ASSERT_GE(syncs, 3u);  // pages, index, superblock
  for (uint64_t n = 1; n <= syncs; ++n) {
    CrashAt(Op::kSync, n, Status::IOError("injected sync error"), false);
  }
}

TEST_F(CrashTest, DiskFullAtEveryAppend) {
  uint64_t writes = OpsPerCommit(Op::kWrite);
  for (uint64_t n = 1; n <= writes; ++n) {
    CrashAt(Op::kWrite, n, Status::NoSpace("injected: No space left on device"), true);
  }
}

TEST_F(CrashTest, FailedCommitInSameProcessThenSuccess) {
  // Without a crash: the writer recovers by itself and the next commit lands
  // where the failed one would have, with nothing of it left behind.
  std::string path = Path("same");
  MakeHistory(path);
  FaultInjectionEnv env;
  auto store = Store::Open(path, StoreOptions{&env, true});
  ASSERT_TRUE(store.ok());
  uint64_t end = (*store)->superblock().pages_end;
  env.FailAt(Op::kSync, 2, Status::IOError("injected"));
  ASSERT_FALSE(CommitPages(store->get(), 4, kT0 + 10 * kSecond).ok());
  auto rev = CommitPages(store->get(), 1, kT0 + 10 * kSecond);
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  EXPECT_EQ(rev->number, 4u);
  EXPECT_EQ(rev->pages[0].first.offset, end);
  auto reopened = Store::Open(path, {});
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->latest_revision(), 4u);
  EXPECT_TRUE(CheckRevision(**reopened, *rev).ok());
}

TEST_F(CrashTest, CrashAfterCommitKeepsIt) {
  std::string path = Path("kept");
  MakeHistory(path);
  FaultInjectionEnv env;
  CommittedRevision rev;
  {
    auto store = Store::Open(path, StoreOptions{&env, true});
    auto r = CommitPages(store->get(), 4, kT0 + 10 * kSecond);
    ASSERT_TRUE(r.ok());
    rev = *r;
  }
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  auto store = Store::Open(path, {});
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->latest_revision(), 4u);
  EXPECT_TRUE(CheckRevision(**store, rev).ok());
}

TEST_F(CrashTest, InitIsAllOrNothing) {
  FaultInjectionEnv env;
  std::string path = Path("init");
  // Every write, sync and the rename of init, failed in turn.
  for (Op op : {Op::kWrite, Op::kSync, Op::kRename}) {
    for (uint64_t n = 1;; ++n) {
      env.FailAt(op, n, Status::IOError("injected"));
      Status s = Store::Create(path, StoreConfig{}, StoreOptions{&env, false}, kT0);
      if (!env.fired()) {
        ASSERT_TRUE(s.ok());
        ASSERT_TRUE(Env::Default()->RemoveDirRecursively(path).ok());
        break;
      }
      EXPECT_FALSE(s.ok());
      EXPECT_FALSE(std::filesystem::exists(path)) << "half-made store left behind";
      EXPECT_FALSE(std::filesystem::exists(path + ".init-tmp"));
    }
  }
}

}  // namespace
}  // namespace revfs::testing
