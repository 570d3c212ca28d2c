// (4) SirixDB's biggest leak: when combining fragments into a page failed,
// the fragments it had pinned were never unpinned. Here a combine that fails
// — a thrown exception, a corrupt fragment, an exhausted budget — injected at
// each fragment of a chain leaves zero pins and every segment accounted for.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

#include "revfs/record_store.h"
#include "support/engine_test.h"
#include "support/fault_env.h"

namespace revfs::testing {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int kWindow = 4;

class ReadPathTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    path_ = Path("store");
    StoreConfig config;
    config.versioning = Versioning::kSliding;
    config.window = kWindow;
    ASSERT_TRUE(Store::Create(path_, config, {}, kT0).ok());
    Open(allocator());
    // Four commits touching leaf 0: its chain holds four fragments.
    for (int rev = 1; rev <= kWindow; ++rev) {
      auto trx = rs_->BeginWrite();
      ASSERT_TRUE(trx.ok());
      for (uint64_t k = 0; k < 10; ++k) {
        ASSERT_TRUE((*trx)->Put(k * kWindow + rev, "rev" + std::to_string(rev)).ok());
      }
      ASSERT_TRUE((*trx)->Commit(kT0 + rev, "").ok());
    }
    chain_ = LeafChain();
    ASSERT_EQ(chain_.size(), static_cast<size_t>(kWindow));
  }
  void ReleaseResources() override {
    rs_.reset();
    hog_.clear();
  }

  void Open(SegmentAllocator* a) {
    rs_.reset();
    RecordStoreOptions options;
    options.store.writable = true;
    options.memory.shared_allocator = a;
    options.memory.combine_hook = [this](size_t i) {
      if (static_cast<int>(i) != fail_at_.load()) return;
      if (hog_allocator_) {
        // Take every segment left, so the combine's output cannot be had.
        for (size_t size = kMaxSegmentSize; size >= kMinSegmentSize; size /= 2) {
          while (true) {
            auto seg = hog_allocator_->Allocate(size);
            if (!seg.ok()) break;
            hog_.push_back(std::move(seg).value());
          }
        }
        return;
      }
      throw std::runtime_error("injected failure at fragment " + std::to_string(i));
    };
    auto rs = RecordStore::Open(path_, options);
    ASSERT_TRUE(rs.ok()) << rs.status().ToString();
    rs_ = std::move(rs).value();
  }

  std::vector<FragmentRef> LeafChain() {
    auto root = rs_->store().ReadRevisionRoot(rs_->store().latest_revision());
    std::string buf;
    PageView view;
    EXPECT_TRUE(rs_->store().pages().Read(root->tree_root, PageKind::kIndirect, &buf, &view).ok());
    std::string unpacked = *UnpackRecordPage(view.payload);
  auto page = IndirectPage::Parse(unpacked);
    return std::get<LeafRef>(*page->child_at(0)).chain;
  }

  // Reads key 5 of the latest revision with cold caches; returns the status.
  Status ColdRead() {
    rs_->loader().Clear();
    auto trx = rs_->BeginRead(rs_->store().latest_revision());
    if (!trx.ok()) return trx.status();
    auto got = (*trx)->Get(5);
    return got.ok() ? Status::OK() : got.status();
  }

  void ExpectNothingHeld(SegmentAllocator* a) {
    EXPECT_EQ(rs_->loader().PinsHeld(), 0u);
    rs_->loader().Clear();
    AllocatorStats s = a->stats();
    EXPECT_TRUE(s.Conserved()) << s.ToJson();
  }

  std::string path_;
  std::unique_ptr<RecordStore> rs_;
  std::vector<FragmentRef> chain_;
  std::atomic<int> fail_at_{-1};
  SegmentAllocator* hog_allocator_ = nullptr;
  std::vector<Segment> hog_;
};

TEST_F(ReadPathTest, CombineSucceedsWithAllFragments) {
  ASSERT_TRUE(ColdRead().ok());
  EXPECT_EQ(rs_->stats().max_fragments_per_load, static_cast<uint64_t>(kWindow));
  ExpectNothingHeld(allocator());
}

TEST_F(ReadPathTest, ExceptionAtEachFragmentLeavesNoPins) {
  for (int i = 0; i < kWindow; ++i) {
    SCOPED_TRACE("fragment " + std::to_string(i));
    fail_at_ = i;
    Status s = ColdRead();
    EXPECT_EQ(s.code(), Status::Code::kAborted) << s.ToString();
    EXPECT_NE(s.message().find("injected failure"), std::string_view::npos);
    ExpectNothingHeld(allocator());
  }
  fail_at_ = -1;
  EXPECT_TRUE(ColdRead().ok());
}

TEST_F(ReadPathTest, CorruptFragmentAtEachPositionLeavesNoPins) {
  for (int i = 0; i < kWindow; ++i) {
    SCOPED_TRACE("fragment " + std::to_string(i));
    const PageRef& page = chain_[i].page;
    FlipByte(path_ + "/pages", page.offset + page.size - 2);
    Status s = ColdRead();
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    ExpectNothingHeld(allocator());
    FlipByte(path_ + "/pages", page.offset + page.size - 2);
  }
  EXPECT_TRUE(ColdRead().ok());
}

TEST_F(ReadPathTest, AllocationFailureAtEachFragmentLeavesNoPins) {
  auto small = SegmentAllocator::Create(AllocatorOptions{kMaxSegmentSize, 0});
  ASSERT_TRUE(small.ok());
  Open(small->get());
  hog_allocator_ = small->get();
  for (int i = 0; i < kWindow; ++i) {
    SCOPED_TRACE("fragment " + std::to_string(i));
    fail_at_ = i;
    Status s = ColdRead();
    EXPECT_TRUE(s.IsResourceExhausted()) << s.ToString();
    EXPECT_GT(hog_.size(), 0u);
    hog_.clear();
    ExpectNothingHeld(small->get());
  }
  fail_at_ = -1;
  EXPECT_TRUE(ColdRead().ok());
  rs_.reset();
  EXPECT_TRUE((*small)->stats().Conserved());
}

}  // namespace
}  // namespace revfs::testing
