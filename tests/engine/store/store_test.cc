#include "revfs/store.h"

#include <gtest/gtest.h>

#include "env/env.h"
#include "store/revision_writer.h"
#include "store/superblock.h"
#include "support/engine_test.h"
#include "support/store_util.h"

namespace revfs::testing {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int64_t kSecond = 1'000'000'000;

class StoreTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    store_path_ = Path("store");
    ASSERT_TRUE(Store::Create(store_path_, StoreConfig{}, {}, kT0).ok());
  }

  std::unique_ptr<Store> OpenStore(bool writable) {
    auto store = Store::Open(store_path_, StoreOptions{nullptr, writable});
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  std::string store_path_;
};

TEST_F(StoreTest, CreateMakesRevisionZero) {
  auto store = OpenStore(false);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->latest_revision(), 0u);
  auto root = store->ReadRevisionRoot(0);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(root->number, 0u);
  EXPECT_EQ(root->time_ns, kT0);
  EXPECT_TRUE(root->trie_root.IsNull());
  EXPECT_EQ(store->config().versioning, Versioning::kSliding);
  EXPECT_EQ(store->config().window, 8u);
}

TEST_F(StoreTest, CreateRefusesAnExistingStore) {
  Status s = Store::Create(store_path_, StoreConfig{}, {}, kT0);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("already exists"), std::string_view::npos);
}

TEST_F(StoreTest, CreateRefusesConfigOutOfRange) {
  StoreConfig config;
  config.window = 1;
  Status s = Store::Create(Path("other"), config, {}, kT0);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("window"), std::string_view::npos);
}

TEST_F(StoreTest, CommitsReadBackAfterReopen) {
  std::vector<CommittedRevision> revs;
  {
    auto store = OpenStore(true);
    for (int i = 1; i <= 5; ++i) {
      auto rev = CommitPages(store.get(), i, kT0 + i * kSecond);
      ASSERT_TRUE(rev.ok()) << rev.status().ToString();
      EXPECT_EQ(rev->number, static_cast<uint64_t>(i));
      revs.push_back(*rev);
    }
    EXPECT_EQ(store->latest_revision(), 5u);
  }
  auto store = OpenStore(false);
  EXPECT_EQ(store->latest_revision(), 5u);
  for (const auto& rev : revs) EXPECT_TRUE(CheckRevision(*store, rev).ok());
  VerifyReport report;
  ASSERT_TRUE(store->Verify(&report).ok());
  EXPECT_TRUE(report.clean());
  EXPECT_EQ(report.revisions_checked, 6u);
  EXPECT_EQ(report.pages_checked, 6u + 15u);  // six roots, 1+2+3+4+5 pages
}

TEST_F(StoreTest, CommitTimeMustNotGoBackwards) {
  auto store = OpenStore(true);
  ASSERT_TRUE(CommitPages(store.get(), 1, kT0 + 10 * kSecond).ok());
  auto rev = CommitPages(store.get(), 1, kT0 + 5 * kSecond);
  ASSERT_FALSE(rev.ok());
  EXPECT_TRUE(rev.status().IsInvalidArgument());
  EXPECT_NE(rev.status().message().find("earlier"), std::string_view::npos);
  EXPECT_EQ(store->latest_revision(), 1u);
  // Equal times are allowed, and the refused commit left nothing behind.
  auto next = CommitPages(store.get(), 1, kT0 + 10 * kSecond);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->number, 2u);
}

TEST_F(StoreTest, RevisionAtFindsNewestAtOrBefore) {
  auto store = OpenStore(true);
  for (int i = 1; i <= 4; ++i) ASSERT_TRUE(CommitPages(store.get(), 1, kT0 + i * 10 * kSecond).ok());
  EXPECT_TRUE(store->RevisionAt(kT0 - 1).status().IsNotFound());
  EXPECT_EQ(*store->RevisionAt(kT0), 0u);
  EXPECT_EQ(*store->RevisionAt(kT0 + 9 * kSecond), 0u);
  EXPECT_EQ(*store->RevisionAt(kT0 + 10 * kSecond), 1u);
  EXPECT_EQ(*store->RevisionAt(kT0 + 25 * kSecond), 2u);
  EXPECT_EQ(*store->RevisionAt(kT0 + 1000 * kSecond), 4u);
  EXPECT_TRUE(store->GetRevision(5).status().IsNotFound());
}

TEST_F(StoreTest, SecondWriterIsRefused) {
  auto writer = OpenStore(true);
  auto second = Store::Open(store_path_, StoreOptions{nullptr, true});
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsBusy());
  EXPECT_NE(second.status().message().find("locked"), std::string_view::npos);
  writer.reset();
  EXPECT_TRUE(Store::Open(store_path_, StoreOptions{nullptr, true}).ok());
}

TEST_F(StoreTest, ReadOnlyStoreRefusesCommits) {
  auto store = OpenStore(false);
  auto commit = store->BeginRevision();
  EXPECT_TRUE(commit.status().IsReadOnly());
}

TEST_F(StoreTest, OneCommitAtATime) {
  auto store = OpenStore(true);
  auto first = store->BeginRevision();
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(store->BeginRevision().status().IsBusy());
}

TEST_F(StoreTest, AbortedCommitIsUnreachableAndTruncated) {
  auto store = OpenStore(true);
  uint64_t end_before = store->superblock().pages_end;
  {
    auto commit = store->BeginRevision();
    ASSERT_TRUE(commit.ok());
    ASSERT_TRUE((*commit)->AppendPage(PageKind::kOpaque, "never committed").ok());
  }
  EXPECT_EQ(store->latest_revision(), 0u);
  auto rev = CommitPages(store.get(), 1, kT0 + kSecond);
  ASSERT_TRUE(rev.ok());
  EXPECT_EQ(rev->pages[0].first.offset, end_before);  // the aborted page was cut
}

TEST_F(StoreTest, ReaderRefreshSeesNewCommits) {
  auto reader = OpenStore(false);
  auto writer = OpenStore(true);
  auto rev = CommitPages(writer.get(), 2, kT0 + kSecond);
  ASSERT_TRUE(rev.ok());
  EXPECT_EQ(reader->latest_revision(), 0u);
  ASSERT_TRUE(reader->Refresh().ok());
  EXPECT_EQ(reader->latest_revision(), 1u);
  EXPECT_TRUE(CheckRevision(*reader, *rev).ok());
}

TEST_F(StoreTest, TrailingBytesAreIgnoredAndTruncated) {
  {
    auto store = OpenStore(true);
    ASSERT_TRUE(CommitPages(store.get(), 1, kT0 + kSecond).ok());
  }
  uint64_t size = *Env::Default()->GetFileSize(store_path_ + "/segments/0000000000");
  {
    auto garbage = Env::Default()->NewAppendableFile(store_path_ + "/segments/0000000000");
    ASSERT_TRUE((*garbage)->Append(std::string(1000, 'x')).ok());
  }
  auto store = OpenStore(true);
  EXPECT_EQ(store->latest_revision(), 1u);
  EXPECT_EQ(*Env::Default()->GetFileSize(store_path_ + "/segments/0000000000"), size);
  VerifyReport report;
  ASSERT_TRUE(store->Verify(&report).ok());
  EXPECT_TRUE(report.clean());
}

TEST_F(StoreTest, NewerFormatIsRecognized) {
  Superblock sb;
  {
    auto store = OpenStore(false);
    sb = store->superblock();
  }
  sb.format_version = kStoreFormatVersion + 1;
  sb.generation += 1;
  auto file = Env::Default()->NewRandomRWFile(store_path_ + "/superblock", false);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Write((sb.generation % 2) * kSuperblockSlotSize, EncodeSuperblock(sb)).ok());
  // The other slot still holds a valid older superblock, so the store opens;
  // damage the older one too and the newer format is what is reported.
  ASSERT_TRUE((*file)->Write(((sb.generation + 1) % 2) * kSuperblockSlotSize,
                             std::string(kSuperblockSlotSize, '\x01')).ok());
  auto store = Store::Open(store_path_, {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kNotSupported);
  EXPECT_NE(store.status().message().find("newer than this program"), std::string_view::npos);
}

TEST_F(StoreTest, OlderFormatIsRefusedNotMisread) {
  Superblock sb;
  {
    auto store = OpenStore(false);
    sb = store->superblock();
  }
  // A store of format 1 (both slots): refused with both versions named.
  sb.format_version = 1;
  auto file = Env::Default()->NewRandomRWFile(store_path_ + "/superblock", false);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Write(0, EncodeSuperblock(sb)).ok());
  ASSERT_TRUE((*file)->Write(kSuperblockSlotSize, EncodeSuperblock(sb)).ok());
  auto store = Store::Open(store_path_, {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kNotSupported);
  const std::string message(store.status().message());
  EXPECT_NE(message.find(store_path_), std::string::npos) << message;
  EXPECT_NE(message.find("store format 1 is older than this program (format " +
                         std::to_string(kStoreFormatVersion) + ")"),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST_F(StoreTest, Format2StoreIsRefusedWithTheUpgradeCommand) {
  Superblock sb;
  {
    auto store = OpenStore(false);
    sb = store->superblock();
  }
  // Laid out as format 2 was: STORE/pages, no segments directory.
  sb.format_version = 2;
  auto file = Env::Default()->NewRandomRWFile(store_path_ + "/superblock", false);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Write(0, EncodeSuperblock(sb)).ok());
  ASSERT_TRUE((*file)->Write(kSuperblockSlotSize, EncodeSuperblock(sb)).ok());
  ASSERT_TRUE(Env::Default()
                  ->RenameFile(store_path_ + "/segments/0000000000", store_path_ + "/pages")
                  .ok());
  ASSERT_TRUE(Env::Default()->RemoveDirRecursively(store_path_ + "/segments").ok());
  for (bool writable : {false, true}) {
    auto store = Store::Open(store_path_, StoreOptions{nullptr, writable});
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), Status::Code::kNotSupported);
    EXPECT_EQ(std::string(store.status().message()),
              store_path_ + ": store format 2 is older than this program (format 3); run "
                            "`revfs upgrade " + store_path_ + "`");
  }
}

TEST_F(StoreTest, MissingAndNonStorePathsAreClear) {
  auto missing = Store::Open(Path("nope"), {});
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_NE(missing.status().message().find("no such store"), std::string_view::npos);
  ASSERT_TRUE(Env::Default()->CreateDir(Path("plain")).ok());
  auto plain = Store::Open(Path("plain"), {});
  EXPECT_TRUE(plain.status().IsInvalidArgument());
  EXPECT_NE(plain.status().message().find("not a revfs store"), std::string_view::npos);
}

}  // namespace
}  // namespace revfs::testing
