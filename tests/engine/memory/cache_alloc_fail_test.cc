// A std::bad_alloc inside the cache's own bookkeeping — an entry, a map
// node — at each allocation of Insert, Erase, Clear and destruction in turn:
// the operation either happens whole or not at all, no segment is lost, the
// process does not terminate, and the cache holds exactly what it should.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <memory>
#include <new>
#include <vector>

#include "memory/segment_allocator.h"
#include "memory/segment_cache.h"
#include "support/engine_test.h"
#include "support/fail_new.h"

namespace revfs::testing {
namespace {

using Cache = SegmentCache<uint64_t>;

class CacheAllocFailTest : public EngineTest {
 protected:
  void ReleaseResources() override {
    ArmAllocationFailure(0);
    pins_.clear();
    cache_.reset();
  }

  Segment Filled(uint64_t key, size_t size) {
    auto seg = allocator()->Allocate(size);
    EXPECT_TRUE(seg.ok()) << seg.status().ToString();
    std::memset(seg->data(), Fill(key), size);
    return std::move(seg).value();
  }
  static char Fill(uint64_t key) { return static_cast<char>('a' + key % 26); }
  static size_t SizeOf(uint64_t key) { return 3000 + key * 5000; }

  static uint64_t Charged(uint64_t key) {
    return kMinSegmentSize << SegmentAllocator::ClassFor(SizeOf(key));
  }

  // Checks, with allocation failures paused, that the cache holds exactly
  // `model_` (key -> fill byte) and that the pool holds exactly what the
  // cache, the test's pins on removed entries and its prepared segments
  // account for.
  void ExpectConsistent(const char* step) {
    SCOPED_TRACE(step);
    const int left = PauseAllocationFailure();
    CacheStats st = cache_->stats();
    EXPECT_EQ(st.entries, model_.size());
    uint64_t usage = 0;
    for (uint64_t key = 0; key < 8; ++key) {
      auto hit = cache_->Lookup(key);
      auto it = model_.find(key);
      ASSERT_EQ(hit.has_value(), it != model_.end()) << "key " << key;
      if (!hit) continue;
      EXPECT_EQ(hit->bytes(), std::string(SizeOf(key), it->second)) << "key " << key;
      usage += Charged(key);
    }
    EXPECT_EQ(st.usage_bytes, usage);
    uint64_t retired = 0;
    for (const auto& [key, pin] : pins_) {
      EXPECT_EQ(pin.bytes(), std::string(SizeOf(key), Fill(key)));
      auto hit = cache_->Lookup(key);
      if (!hit || hit->bytes().data() != pin.bytes().data()) retired += Charged(key);
    }
    EXPECT_EQ(allocator()->stats().bytes_in_use, usage + retired + PreparedBytes());
    ResumeAllocationFailure(left);
  }

  uint64_t PreparedBytes() const {
    uint64_t bytes = 0;
    for (const auto& [key, seg] : prepared_) bytes += seg.capacity();
    return bytes;
  }

  // Inserts `key` (its segment made beforehand); on success keeps the pin
  // when `keep`; on std::bad_alloc the model stays as it was.
  void TryInsert(uint64_t key, bool keep) {
    Segment seg = std::move(prepared_[key]);
    prepared_.erase(key);
    try {
      Pinned pin = cache_->Insert(key, std::move(seg), SizeOf(key));
      const int left = PauseAllocationFailure();  // the test's own bookkeeping
      model_[key] = Fill(key);
      if (keep) pins_.emplace_back(key, std::move(pin));
      ResumeAllocationFailure(left);
    } catch (const std::bad_alloc&) {
    }
  }

  void Prepare(uint64_t key) {
    const int left = PauseAllocationFailure();
    prepared_[key] = Filled(key, SizeOf(key));
    ResumeAllocationFailure(left);
  }

  std::unique_ptr<Cache> cache_;
  std::vector<std::pair<uint64_t, Pinned>> pins_;
  std::map<uint64_t, char> model_;
  std::map<uint64_t, Segment> prepared_;
};

// Fails the n-th allocation of a script of inserts, a replacement of a
// pinned entry, an erase, a clear and the destruction of a cache holding a
// pinned entry, for every n until the script runs without a failure.
TEST_F(CacheAllocFailTest, BadAllocAtEachAllocationLosesNothing) {
  int failures = 0;
  for (int n = 1;; ++n) {
    SCOPED_TRACE("failing allocation " + std::to_string(n));
    cache_ = std::make_unique<Cache>("test", allocator(), 64u << 20);
    model_.clear();
    for (uint64_t key = 1; key <= 5; ++key) Prepare(key);
    ArmAllocationFailure(n);

    TryInsert(1, /*keep=*/true);
    ExpectConsistent("insert 1");
    TryInsert(2, /*keep=*/false);
    ExpectConsistent("insert 2");
    Prepare(1);
    TryInsert(1, /*keep=*/false);  // replaces an entry the test may pin
    ExpectConsistent("replace 1");
    EXPECT_EQ(cache_->Erase(2), model_.erase(2) == 1);
    ExpectConsistent("erase 2");
    TryInsert(3, /*keep=*/false);
    TryInsert(4, /*keep=*/true);
    ExpectConsistent("insert 3, 4");
    cache_->Clear();
    model_.clear();
    ExpectConsistent("clear");
    TryInsert(5, /*keep=*/true);
    ExpectConsistent("insert 5");
    cache_.reset();  // pinned entries retire; their pins free them below
    const bool fired = AllocationFailureFired();
    ArmAllocationFailure(0);
    uint64_t pinned = 0;
    for (const auto& [key, pin] : pins_) {
      EXPECT_EQ(pin.bytes(), std::string(SizeOf(key), Fill(key)));
      pinned += Charged(key);
    }
    EXPECT_EQ(allocator()->stats().bytes_in_use, pinned + PreparedBytes());
    pins_.clear();
    prepared_.clear();
    EXPECT_TRUE(allocator()->stats().Conserved()) << allocator()->stats().ToJson();
    if (!fired) break;
    ++failures;
    ASSERT_LT(n, 1000);
  }
  EXPECT_GE(failures, 5);  // at least each Insert's entry was failed once
}

// The allocator's own free lists never grow while segments come back, so a
// segment returned from a destructor cannot throw.
TEST_F(CacheAllocFailTest, ReturningSegmentsNeverAllocates) {
  std::vector<Segment> held;
  for (int i = 0; i < 100; ++i) held.push_back(Filled(i, 4096));
  ArmAllocationFailure(1);
  held.clear();
  EXPECT_FALSE(AllocationFailureFired());
  ArmAllocationFailure(0);
}

}  // namespace
}  // namespace revfs::testing
