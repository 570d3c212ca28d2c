// Directory entries and power cuts: a file created or renamed whose parent
// directory was not synced may be lost by a crash even when its bytes were
// synced. The fault-injecting Env undoes such entries on DropUnsyncedData;
// here `init` and commit are checked against it: an init that returned OK,
// or a commit that returned OK, survives the crash, and an init cut short
// leaves no store or a whole one.
#include <gtest/gtest.h>

#include <filesystem>

#include "revfs/store.h"
#include "support/engine_test.h"
#include "support/fault_env.h"
#include "support/store_util.h"

namespace revfs::testing {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;
using Op = FaultInjectionEnv::Op;

class DirDurabilityTest : public EngineTest {
 protected:
  // Expects `path` to open as a store at revision `latest`, verify clean.
  void ExpectWholeStore(const std::string& path, uint64_t latest) {
    auto store = Store::Open(path, StoreOptions{nullptr, true});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ((*store)->latest_revision(), latest);
    VerifyReport report;
    ASSERT_TRUE((*store)->Verify(&report).ok());
    EXPECT_TRUE(report.clean()) << report.damage.front().what;
  }
};

// The seam itself: entries not made durable by SyncDir are undone.
TEST_F(DirDurabilityTest, TheEnvDropsEntriesWhoseDirectoryWasNotSynced) {
  FaultInjectionEnv env;
  const std::string d = Path("d");
  ASSERT_TRUE(env.CreateDir(d).ok());
  ASSERT_TRUE(env.SyncDir(dir().string()).ok());
  auto write = [&](const std::string& name) {
    auto f = env.NewAppendableFile(d + "/" + name);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append("bytes").ok());
    ASSERT_TRUE((*f)->Sync().ok());  // the bytes are durable, the name maybe not
  };
  write("kept");
  ASSERT_TRUE(env.SyncDir(d).ok());
  write("lost");
  ASSERT_TRUE(env.RenameFile(d + "/kept", d + "/renamed").ok());
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_TRUE(fs::exists(d + "/kept"));
  EXPECT_FALSE(fs::exists(d + "/renamed"));
  EXPECT_FALSE(fs::exists(d + "/lost"));
  EXPECT_EQ(fs::file_size(d + "/kept"), 5u);
  // A directory created and never made durable goes with its contents.
  ASSERT_TRUE(env.CreateDir(Path("e")).ok());
  auto f = env.NewAppendableFile(Path("e/x"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE(env.SyncDir(Path("e")).ok());
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_FALSE(fs::exists(Path("e")));
}

// `init` returned OK: the store is there after a power cut.
TEST_F(DirDurabilityTest, InitThatReturnedSurvivesAPowerCut) {
  FaultInjectionEnv env;
  const std::string path = Path("store");
  ASSERT_TRUE(Store::Create(path, StoreConfig{}, StoreOptions{&env, true}, kT0).ok());
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  ExpectWholeStore(path, 0);
}

// `init` cut short at each of its syncs, then a power cut: no store, or a
// whole one; and `init` works again where there is none.
TEST_F(DirDurabilityTest, InitCutShortLeavesNoStoreOrAWholeOne) {
  uint64_t syncs = 0;
  {
    FaultInjectionEnv env;
    ASSERT_TRUE(Store::Create(Path("count"), StoreConfig{}, StoreOptions{&env, true}, kT0).ok());
    syncs = env.Count(Op::kSync);
  }
  ASSERT_GE(syncs, 3u);
  for (uint64_t n = 1; n <= syncs; ++n) {
    SCOPED_TRACE("sync #" + std::to_string(n));
    const std::string path = Path("s" + std::to_string(n));
    FaultInjectionEnv env;
    env.FailAt(Op::kSync, n, Status::IOError("injected sync failure"));
    EXPECT_FALSE(Store::Create(path, StoreConfig{}, StoreOptions{&env, true}, kT0).ok());
    ASSERT_TRUE(env.DropUnsyncedData().ok());
    if (fs::exists(path)) {
      ExpectWholeStore(path, 0);
    } else {
      ASSERT_TRUE(Store::Create(path, StoreConfig{}, {}, kT0).ok());
      ExpectWholeStore(path, 0);
    }
  }
}

// A commit that returned OK survives a power cut, right after init.
TEST_F(DirDurabilityTest, CommitsThatReturnedSurviveAPowerCut) {
  FaultInjectionEnv env;
  const std::string path = Path("store");
  ASSERT_TRUE(Store::Create(path, StoreConfig{}, StoreOptions{&env, true}, kT0).ok());
  std::vector<CommittedRevision> revs;
  {
    auto store = Store::Open(path, StoreOptions{&env, true});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (int i = 1; i <= 3; ++i) {
      auto rev = CommitPages(store->get(), 3, kT0 + i);
      ASSERT_TRUE(rev.ok()) << rev.status().ToString();
      revs.push_back(*rev);
    }
  }
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  ExpectWholeStore(path, 3);
  auto store = Store::Open(path, StoreOptions{});
  ASSERT_TRUE(store.ok());
  for (const auto& rev : revs) EXPECT_TRUE(CheckRevision(**store, rev).ok());
}

}  // namespace
}  // namespace revfs::testing
