// Faults injected into a whole tree commit (CaptureTree: content chunks,
// inode and directory records, indirect pages, the revision root, the index
// and the superblock), one at a time, exhaustively: each write failing (and
// torn), each sync failing, each rename failing, and ENOSPC at each append.
// Every one yields a clean error, leaves the store at the previous revision
// (in the open store and after a crash that drops unsynced bytes), leaks no
// segment (the fixture checks pool conservation), and the next commit works.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "revfs/tree.h"
#include "support/engine_test.h"
#include "support/fault_env.h"

namespace revfs::testing {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;
using Op = FaultInjectionEnv::Op;

class CommitFaultTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    src_ = Path("src");
    fs::create_directories(src_ + "/dir/sub");
    Write("a.txt", Text(1));
    Write("dir/b.bin", std::string(300000, 'b'));
    Write("dir/sub/c", "c");
    const std::string base = Path("base");
    ASSERT_TRUE(Store::Create(base, StoreConfig{}, {}, kT0).ok());
    {
      auto rs = OpenStore(base, nullptr);
      ASSERT_TRUE(rs.ok());
      ASSERT_TRUE(CaptureTree(**rs, src_, Options(1)).ok());
    }
    // The second commit's changes: an edit (a delta chunk), a new file, a
    // deletion.
    Write("a.txt", Text(2));
    Write("dir/new", std::string(70000, 'n'));
    fs::remove(src_ + "/dir/sub/c");
  }
  void ReleaseResources() override { rs_.reset(); }

  static std::string Text(int rev) {
    std::string t;
    for (int i = 0; i < 5000; ++i) t += "line " + std::to_string(i * rev % 101) + "\n";
    return t;
  }
  void Write(const std::string& rel, const std::string& data) {
    std::ofstream(src_ + "/" + rel, std::ios::binary | std::ios::trunc) << data;
  }
  static CaptureOptions Options(int rev) {
    CaptureOptions o;
    o.time_ns = kT0 + rev;
    return o;
  }
  Result<std::unique_ptr<Database>> OpenStore(const std::string& path, Env* env) {
    DatabaseOptions options;
    options.store = StoreOptions{env, true};
    options.memory.shared_allocator = allocator();
    return Database::Open(path, options);
  }
  // A fresh copy of the one-revision store.
  std::string Copy(const std::string& name) {
    const std::string path = Path(name);
    fs::remove_all(path);
    fs::copy(Path("base"), path, fs::copy_options::recursive);
    return path;
  }

  uint64_t OpsOfSecondCommit(Op op) {
    FaultInjectionEnv env;
    auto rs = OpenStore(Copy("count"), &env);
    EXPECT_TRUE(rs.ok());
    env.ResetCounts();
    EXPECT_TRUE(CaptureTree(**rs, src_, Options(2)).ok());
    return env.Count(op);
  }

  // Reads "a.txt" of `rev`.
  static std::string ReadA(Database& rs, uint64_t rev) {
    auto trx = rs.BeginRead(rev);
    if (!trx.ok()) return "<" + trx.status().ToString() + ">";
    auto file = ResolvePath(**trx, "a.txt");
    if (!file.ok()) return "<" + file.status().ToString() + ">";
    std::string out;
    Status s = ReadFile(rs, **trx, file->second, 0, file->second.size, [&](std::string_view p) {
      out.append(p);
      return Status::OK();
    });
    return s.ok() ? out : "<" + s.ToString() + ">";
  }

  void FailCommitAt(Op op, uint64_t n, const Status& error, bool torn) {
    SCOPED_TRACE("op " + std::to_string(static_cast<int>(op)) + " #" + std::to_string(n) +
                 (torn ? " torn" : "") + ": " + error.ToString());
    const std::string path = Copy("fault");
    FaultInjectionEnv env;
    {
      auto rs = OpenStore(path, &env);
      ASSERT_TRUE(rs.ok());
      env.FailAt(op, n, error, torn);
      auto summary = CaptureTree(**rs, src_, Options(2));
      ASSERT_TRUE(env.fired());
      ASSERT_FALSE(summary.ok());
      EXPECT_EQ(summary.status().code(), error.code()) << summary.status().ToString();
      EXPECT_EQ((*rs)->store().latest_revision(), 1u);
      EXPECT_EQ(ReadA(**rs, 1), Text(1));
      EXPECT_EQ((*rs)->PinsHeld(), 0u);
    }
    ASSERT_TRUE(env.DropUnsyncedData().ok());
    auto rs = OpenStore(path, nullptr);
    ASSERT_TRUE(rs.ok()) << rs.status().ToString();
    EXPECT_EQ((*rs)->store().latest_revision(), 1u);
    EXPECT_EQ(ReadA(**rs, 1), Text(1));
    VerifyReport report;
    ASSERT_TRUE((*rs)->Verify(&report).ok());
    EXPECT_TRUE(report.clean()) << report.damage.front().what;
    auto next = CaptureTree(**rs, src_, Options(3));
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    EXPECT_EQ(next->revision, 2u);
    EXPECT_EQ(ReadA(**rs, 2), Text(2));
    ++faults_;
  }

  std::string src_;
  std::unique_ptr<Database> rs_;
  int faults_ = 0;
};

TEST_F(CommitFaultTest, EveryWriteSyncRenameAndFullDisk) {
  const uint64_t writes = OpsOfSecondCommit(Op::kWrite);
  const uint64_t syncs = OpsOfSecondCommit(Op::kSync);
  const uint64_t renames = OpsOfSecondCommit(Op::kRename);
  ASSERT_GE(writes, 5u);
  ASSERT_GE(syncs, 2u);
  for (uint64_t n = 1; n <= writes; ++n) {
    FailCommitAt(Op::kWrite, n, Status::IOError("injected write error"), false);
    FailCommitAt(Op::kWrite, n, Status::IOError("injected torn write"), true);
    FailCommitAt(Op::kWrite, n, Status::NoSpace("injected: No space left on device"), true);
  }
  for (uint64_t n = 1; n <= syncs; ++n) {
    FailCommitAt(Op::kSync, n, Status::IOError("injected sync error"), false);
  }
  for (uint64_t n = 1; n <= renames; ++n) {
    FailCommitAt(Op::kRename, n, Status::IOError("injected rename error"), false);
  }
  std::printf("commit faults: %llu writes, %llu syncs, %llu renames per commit; %d faults injected\n",
              static_cast<unsigned long long>(writes), static_cast<unsigned long long>(syncs),
              static_cast<unsigned long long>(renames), faults_);
  EXPECT_EQ(faults_, static_cast<int>(3 * writes + syncs + renames));
}

}  // namespace
}  // namespace revfs::testing
