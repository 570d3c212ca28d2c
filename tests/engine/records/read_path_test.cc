// (4) SirixDB's biggest leak: when combining fragments into a page failed,
// the fragments it had pinned were never unpinned. Here a combine that fails
// — a thrown exception, a corrupt fragment, an exhausted budget — injected at
// each fragment of a chain leaves zero pins and every segment accounted for.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>

#include "content/chunk_loader.h"
#include "content/compression.h"
#include "records/page_loader.h"
#include "records/record_page.h"
#include "revfs/database.h"
#include "support/engine_test.h"
#include "support/fault_env.h"
#include "util/hash.h"

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
    DatabaseOptions options;
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
    auto rs = Database::Open(path_, options);
    ASSERT_TRUE(rs.ok()) << rs.status().ToString();
    rs_ = std::move(rs).value();
  }

  std::vector<FragmentRef> LeafChain() {
    auto root = rs_->store().ReadRevisionRoot(rs_->store().latest_revision());
    std::string buf;
    PageView view;
    EXPECT_TRUE(rs_->store().pages().Read(root->trie_root, PageKind::kIndirect, &buf, &view).ok());
    std::string unpacked = *UnpackRecordPage(view.payload);
    auto page = IndirectPage::Parse(unpacked);
    // The older fragments are named by the newest (its tail).
    LeafRef leaf = std::get<LeafRef>(*page->child_at(0));
    EXPECT_TRUE(rs_->page_loader().ResolveChain(&leaf).ok());
    rs_->ClearCaches();
    return leaf.chain;
  }

  // Reads key 5 of the latest revision with cold caches; returns the status.
  Status ColdRead() {
    rs_->ClearCaches();
    auto trx = rs_->BeginRead(rs_->store().latest_revision());
    if (!trx.ok()) return trx.status();
    auto got = (*trx)->Get(5);
    return got.ok() ? Status::OK() : got.status();
  }

  void ExpectNothingHeld(SegmentAllocator* a) {
    EXPECT_EQ(rs_->PinsHeld(), 0u);
    rs_->ClearCaches();
    AllocatorStats s = a->stats();
    EXPECT_TRUE(s.Conserved()) << s.ToJson();
  }

  std::string path_;
  std::unique_ptr<Database> rs_;
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
    FlipByte(path_ + "/segments/0000000000", page.offset + page.size - 2);
    Status s = ColdRead();
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    ExpectNothingHeld(allocator());
    FlipByte(path_ + "/segments/0000000000", page.offset + page.size - 2);
  }
  EXPECT_TRUE(ColdRead().ok());
}

TEST_F(ReadPathTest, AllocationFailureAtEachFragmentLeavesNoPins) {
  AllocatorOptions tiny{kMaxSegmentSize, 0};
  tiny.release_wait = std::chrono::milliseconds(0);  // the hog takes all until it fails
  auto small = SegmentAllocator::Create(tiny);
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

// Appends `raw` as a raw chunk page in a new revision; returns its reference.
PageRef AppendChunk(Database& rs, const std::string& raw) {
  auto trx = rs.BeginWrite();
  EXPECT_TRUE(trx.ok()) << trx.status().ToString();
  ChunkPageHeader header;
  header.encoding = ChunkEncoding::kRaw;
  header.raw_size = static_cast<uint32_t>(raw.size());
  header.hash = HashBytes(raw);
  auto ref = (*trx)->AppendPage(PageKind::kChunk, EncodeChunkPage(header, raw));
  EXPECT_TRUE(ref.ok()) << ref.status().ToString();
  EXPECT_TRUE((*trx)->Commit(kT0 + 100, "chunk").ok());
  return *ref;
}

// A reference that passed its page's checksum can still be wrong about the
// chunk's size. The miss path refuses it; so must a warm cache, or a read
// would come back short (or run past the chunk).
TEST_F(ReadPathTest, CachedChunkOfAnotherSizeThanReferencedIsCorruption) {
  const std::string raw(10000, 'c');
  const PageRef page = AppendChunk(*rs_, raw);
  const Digest256 hash = HashBytes(raw);
  rs_->ClearCaches();
  EXPECT_TRUE(rs_->chunk_loader().Chunk(hash, page, raw.size() + 1).status().IsCorruption());
  {
    auto warm = rs_->chunk_loader().Chunk(hash, page, raw.size());
    ASSERT_TRUE(warm.ok()) << warm.status().ToString();
    EXPECT_EQ(warm->bytes(), raw);
  }
  for (uint32_t claimed : {static_cast<uint32_t>(raw.size() + 1), static_cast<uint32_t>(raw.size() - 1), 0u}) {
    SCOPED_TRACE("claimed size " + std::to_string(claimed));
    auto hit = rs_->chunk_loader().Chunk(hash, page, claimed);
    EXPECT_TRUE(hit.status().IsCorruption()) << (hit.ok() ? "returned " + std::to_string(hit->bytes().size()) + " bytes" : hit.status().ToString());
  }
  auto again = rs_->chunk_loader().Chunk(hash, page, raw.size());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->bytes(), raw);
  EXPECT_EQ(rs_->chunk_loader().cache().stats().inserts, 1u);  // still the one decode
}

// The page cache holds indirect pages (by offset) and combined leaves (by
// their newest fragment's offset) under one key space. A damaged reference
// of one kind that names a page cached as the other is corruption, warm or
// cold — never the other page's bytes.
TEST_F(ReadPathTest, PageCachedAsAnotherKindIsCorruption) {
  auto root = rs_->store().ReadRevisionRoot(rs_->store().latest_revision());
  ASSERT_TRUE(root.ok());
  const PageRef indirect = root->trie_root;
  LeafRef leaf{chain_, kWindow};
  LeafRef leaf_at_indirect{{FragmentRef{indirect, 1}}, 1};
  PageRef indirect_at_leaf = chain_.front().page;

  for (bool warm : {false, true}) {
    SCOPED_TRACE(warm ? "warm" : "cold");
    rs_->ClearCaches();
    if (warm) {
      size_t combined = 0;
      ASSERT_TRUE(rs_->page_loader().Indirect(indirect).ok());
      ASSERT_TRUE(rs_->page_loader().Leaf(leaf, &combined).ok());
    }
    size_t combined = 0;
    auto as_leaf = rs_->page_loader().Leaf(leaf_at_indirect, &combined);
    EXPECT_TRUE(as_leaf.status().IsCorruption()) << (as_leaf.ok() ? "returned a page" : as_leaf.status().ToString());
    auto as_indirect = rs_->page_loader().Indirect(indirect_at_leaf);
    EXPECT_TRUE(as_indirect.status().IsCorruption()) << (as_indirect.ok() ? "returned a page" : as_indirect.status().ToString());
  }
  // The real pages still read as themselves.
  EXPECT_TRUE(ColdRead().ok());
  ExpectNothingHeld(allocator());
}

}  // namespace
}  // namespace revfs::testing
