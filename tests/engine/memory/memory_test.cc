// The memory rule, after SirixDB's four leaks: every segment from the one
// allocator; every removal cause hands the segment back; a pinned entry
// removed from a cache retires and its last unpin frees it; and under
// concurrency and exhaustion nothing is lost or freed twice.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "memory/segment_allocator.h"
#include "memory/segment_cache.h"
#include "support/engine_test.h"
#include "support/resident.h"

namespace revfs::testing {
namespace {

using Cache = SegmentCache<uint64_t>;

class MemoryTest : public EngineTest {
 protected:
  void ReleaseResources() override { cache_.reset(); }

  // Makes a segment of `size` bytes filled with a pattern derived from `key`.
  Segment Filled(uint64_t key, size_t size) {
    auto seg = allocator()->Allocate(size);
    EXPECT_TRUE(seg.ok()) << seg.status().ToString();
    std::memset(seg->data(), static_cast<int>('a' + key % 26), size);
    return std::move(seg).value();
  }
  static bool Holds(const Pinned& p, uint64_t key, size_t size) {
    return p.bytes().size() == size &&
           p.bytes().find_first_not_of(static_cast<char>('a' + key % 26)) == std::string::npos;
  }
  uint64_t InUse() { return allocator()->stats().bytes_in_use; }

  std::unique_ptr<Cache> cache_;
};

TEST_F(MemoryTest, SizeClassesRoundUpAndCoverTheLargestPage) {
  EXPECT_EQ(SegmentAllocator::ClassFor(1), 0);
  EXPECT_EQ(SegmentAllocator::ClassFor(4096), 0);
  EXPECT_EQ(SegmentAllocator::ClassFor(4097), 1);
  EXPECT_EQ(SegmentAllocator::ClassFor(kMaxSegmentSize), kSizeClasses - 1);
  EXPECT_EQ(SegmentAllocator::ClassFor(kMaxSegmentSize + 1), -1);
  EXPECT_TRUE(allocator()->Allocate(kMaxSegmentSize + 1).status().IsInvalidArgument());
  auto seg = allocator()->Allocate(5000);
  ASSERT_TRUE(seg.ok());
  EXPECT_EQ(seg->capacity(), 8192u);
}

// Large segments are where chunks are read with direct IO and copied to the
// kernel; they start on a huge-page boundary so each can be one huge page.
TEST_F(MemoryTest, SegmentsOfAHugePageOrMoreStartOnOne) {
  std::vector<Segment> held;
  for (size_t size : {kHugePageSize, kHugePageSize * 2, kMaxSegmentSize}) {
    for (int i = 0; i < 3; ++i) {
      auto seg = allocator()->Allocate(size - 100);
      ASSERT_TRUE(seg.ok()) << seg.status().ToString();
      EXPECT_EQ(reinterpret_cast<uintptr_t>(seg->data()) % kHugePageSize, 0u) << size;
      EXPECT_EQ(seg->capacity(), size);
      std::memset(seg->data(), 1, seg->capacity());  // the whole segment is ours to write
      held.push_back(std::move(seg).value());
    }
  }
  auto small = allocator()->Allocate(100);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small->data()) % kMinSegmentSize, 0u);
}

// (1) SirixDB tied segments to many short-lived owners. Here every cached or
// held segment is one the allocator handed out: the counters add up.
TEST_F(MemoryTest, TheSharedAllocatorCountsExactlyWhatTheCachesHold) {
  cache_ = std::make_unique<Cache>("test", allocator(), 64u << 20);
  Cache other("other", allocator(), 64u << 20);
  std::vector<Pinned> pins;
  size_t expected = 0;
  for (uint64_t k = 0; k < 40; ++k) {
    size_t size = 1000 + k * 9000;
    Cache& c = k % 2 ? *cache_ : other;
    pins.push_back(c.Insert(k, Filled(k, size), size));
    expected += allocator()->stats().classes[SegmentAllocator::ClassFor(size)].segment_size;
  }
  AllocatorStats a = allocator()->stats();
  EXPECT_EQ(a.bytes_in_use, expected);
  EXPECT_EQ(a.bytes_in_use, cache_->stats().usage_bytes + other.stats().usage_bytes);
  for (int c = 0; c < kSizeClasses; ++c) {
    EXPECT_EQ(a.classes[c].total - a.classes[c].free,
              cache_->stats().cached_per_class[c] + other.stats().cached_per_class[c])
        << "class " << c;
  }
  pins.clear();
  other.Clear();
  cache_->Clear();
  EXPECT_TRUE(allocator()->stats().Conserved());
}

// (2) SirixDB's cache returned segments only on size eviction. Here each
// removal cause does.
TEST_F(MemoryTest, EveryRemovalCauseGivesTheSegmentBackToTheAllocator) {
  cache_ = std::make_unique<Cache>("test", allocator(), 64u << 20);
  { Pinned p = cache_->Insert(1, Filled(1, 4096), 4096); }
  ASSERT_EQ(InUse(), 4096u);
  EXPECT_TRUE(cache_->Erase(1));  // invalidate
  EXPECT_EQ(InUse(), 0u);
  EXPECT_FALSE(cache_->Erase(1));

  { Pinned p = cache_->Insert(2, Filled(2, 4096), 4096); }
  { Pinned p = cache_->Insert(2, Filled(3, 4096), 4096); }  // replace
  EXPECT_EQ(InUse(), 4096u);
  auto hit = cache_->Lookup(2);
  ASSERT_TRUE(hit);
  EXPECT_TRUE(Holds(*hit, 3, 4096));
  hit.reset();

  { Pinned p = cache_->Insert(4, Filled(4, 8192), 8192); }
  cache_->Clear();  // clear
  EXPECT_EQ(InUse(), 0u);

  { Pinned p = cache_->Insert(5, Filled(5, 4096), 4096); }
  cache_.reset();  // close
  EXPECT_EQ(InUse(), 0u);

  Cache small("small", allocator(), 8192);
  for (uint64_t k = 0; k < 10; ++k) { Pinned p = small.Insert(k, Filled(k, 4096), 4096); }
  EXPECT_LE(InUse(), 8192u);  // size eviction kept it within budget
  CacheStats s = small.stats();
  EXPECT_EQ(s.removals[static_cast<int>(RemovalCause::kSize)], 8u);
  small.Clear();
  EXPECT_TRUE(allocator()->stats().Conserved());
}

TEST_F(MemoryTest, RemovalCausesAreCounted) {
  cache_ = std::make_unique<Cache>("test", allocator(), 64u << 20);
  { Pinned p = cache_->Insert(1, Filled(1, 4096), 4096); }
  { Pinned p = cache_->Insert(1, Filled(1, 4096), 4096); }
  cache_->Erase(1);
  { Pinned p = cache_->Insert(2, Filled(2, 4096), 4096); }
  cache_->Clear();
  CacheStats s = cache_->stats();
  EXPECT_EQ(s.removals[static_cast<int>(RemovalCause::kReplace)], 1u);
  EXPECT_EQ(s.removals[static_cast<int>(RemovalCause::kInvalidate)], 1u);
  EXPECT_EQ(s.removals[static_cast<int>(RemovalCause::kClear)], 1u);
  EXPECT_EQ(s.pins_taken, s.pins_released);
}

// (3) SirixDB asserted when a pinned page was removed. Here it retires: not
// freed while pinned, freed by the last unpin, whatever removed it.
TEST_F(MemoryTest, APinnedEntryRemovedByAnyCauseIsFreedByItsLastUnpin) {
  for (RemovalCause cause : {RemovalCause::kInvalidate, RemovalCause::kReplace,
                             RemovalCause::kClear, RemovalCause::kClose}) {
    SCOPED_TRACE(RemovalCauseName(cause));
    cache_ = std::make_unique<Cache>("test", allocator(), 64u << 20);
    auto counters_before = cache_->stats();
    Pinned first = cache_->Insert(7, Filled(7, 16384), 16384);
    std::optional<Pinned> second = cache_->Lookup(7);
    ASSERT_TRUE(second);
    switch (cause) {
      case RemovalCause::kInvalidate: cache_->Erase(7); break;
      case RemovalCause::kReplace: { Pinned p = cache_->Insert(7, Filled(8, 4096), 4096); break; }
      case RemovalCause::kClear: cache_->Clear(); break;
      case RemovalCause::kClose: cache_.reset(); break;
      default: break;
    }
    // Still pinned: still in memory, bytes intact.
    EXPECT_GE(InUse(), 16384u);
    EXPECT_TRUE(Holds(first, 7, 16384));
    first = Pinned();  // one pin left
    EXPECT_GE(InUse(), 16384u);
    EXPECT_TRUE(Holds(*second, 7, 16384));
    if (cache_) {
      CacheStats s = cache_->stats();
      EXPECT_EQ(s.retired_while_pinned, counters_before.retired_while_pinned + 1);
    }
    second.reset();  // the last unpin frees it
    if (cache_) {
      EXPECT_EQ(cache_->stats().freed_at_last_unpin, 1u);
      cache_->Clear();
    }
    cache_.reset();
    EXPECT_EQ(InUse(), 0u);
  }
}

TEST_F(MemoryTest, PinnedEntriesAreNeverEvictedBySize) {
  cache_ = std::make_unique<Cache>("test", allocator(), 8192);
  std::vector<Pinned> pins;
  for (uint64_t k = 0; k < 6; ++k) pins.push_back(cache_->Insert(k, Filled(k, 4096), 4096));
  EXPECT_EQ(cache_->stats().entries, 6u);  // over budget, but all pinned
  EXPECT_EQ(cache_->Reclaim(1 << 20), 0u);
  for (uint64_t k = 0; k < 6; ++k) EXPECT_TRUE(Holds(pins[k], k, 4096));
  pins.clear();
  EXPECT_EQ(cache_->Reclaim(1 << 20), 6u * 4096);
  EXPECT_EQ(InUse(), 0u);
}

TEST_F(MemoryTest, ExhaustedBudgetIsAnErrorUntilPinsGo) {
  auto made = SegmentAllocator::Create(AllocatorOptions{kMaxSegmentSize, 0});
  ASSERT_TRUE(made.ok());
  SegmentAllocator& small = **made;
  {
    SegmentCache<uint64_t> cache("tiny", &small, kMaxSegmentSize);
    std::vector<Pinned> pins;
    for (uint64_t k = 0; k < 2; ++k) {
      auto seg = small.Allocate(kMaxSegmentSize / 2);
      ASSERT_TRUE(seg.ok());
      pins.push_back(cache.Insert(k, std::move(seg).value(), kMaxSegmentSize / 2));
    }
    auto more = small.Allocate(4096);
    ASSERT_FALSE(more.ok());
    EXPECT_TRUE(more.status().IsResourceExhausted()) << more.status().ToString();
    EXPECT_NE(more.status().message().find("budget"), std::string_view::npos);
    EXPECT_EQ(small.stats().allocation_failures, 1u);
    pins.clear();  // unpinned but cached: the allocator reclaims them
    auto again = small.Allocate(kMaxSegmentSize / 2);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_GE(cache.stats().removals[static_cast<int>(RemovalCause::kSize)], 1u);
  }
  EXPECT_TRUE(small.stats().Conserved());
  EXPECT_GT(small.stats().pages_returned_to_os, 0u);  // keep_resident_bytes = 0
}

// A segment with no physical pages gets the pages asked for in one call
// when it is handed out, not one fault per 4 KiB page on first touch: a
// new segment, and one whose pages were given back to the OS; a warm one
// (still resident) is handed out as it is.
TEST_F(MemoryTest, SegmentsWithoutPagesArePopulatedWhenHandedOut) {
  if (!KernelPopulates()) GTEST_SKIP() << "the kernel has no MADV_POPULATE_WRITE";
  auto made = SegmentAllocator::Create(AllocatorOptions{kMaxSegmentSize, 64 << 10});
  ASSERT_TRUE(made.ok());
  SegmentAllocator& a = **made;
  constexpr size_t kAsked = 10 * 4096 - 100;  // ten pages of a 64 KiB segment
  char* at = nullptr;
  {
    auto seg = a.Allocate(kAsked);
    ASSERT_TRUE(seg.ok()) << seg.status().ToString();
    ASSERT_EQ(seg->capacity(), 64u << 10);
    at = seg->data();
    EXPECT_EQ(ResidentPages(seg->data(), seg->capacity()), 10);  // none touched yet
    EXPECT_EQ(a.stats().pages_populated, 10u);
  }
  {
    auto warm = a.Allocate(kAsked);  // the same segment, still resident
    ASSERT_TRUE(warm.ok());
    EXPECT_EQ(warm->data(), at);
    EXPECT_EQ(a.stats().pages_populated, 10u);
  }
  // A second segment of the class pushes the free ones past
  // keep_resident_bytes (64 KiB): released, one gives its pages back.
  {
    auto one = a.Allocate(kAsked);
    auto two = a.Allocate(kAsked);
    ASSERT_TRUE(one.ok() && two.ok());
    EXPECT_EQ(a.stats().pages_populated, 20u);
  }
  EXPECT_EQ(a.stats().pages_returned_to_os, 1u);
  std::vector<Segment> all;
  for (int i = 0; i < 2; ++i) {
    auto seg = a.Allocate(9 * 4096 - 10);  // nine pages, the same class
    ASSERT_TRUE(seg.ok());
    all.push_back(std::move(seg).value());
  }
  // The warm one first (ten pages resident already), then the cold one.
  EXPECT_EQ(a.stats().pages_populated, 29u);
  EXPECT_EQ(all[1].data(), at);
  EXPECT_EQ(ResidentPages(all[1].data(), all[1].capacity()), 9);
  all.clear();
  EXPECT_TRUE(a.stats().Conserved());
}

// Memory pinned by other threads is theirs only for the span of a read: an
// allocation that finds the budget exhausted waits (a bounded time) for a
// pin or a segment to be let go instead of failing at once.
TEST_F(MemoryTest, ExhaustedBudgetWaitsForPinsToBeReleased) {
  using namespace std::chrono_literals;
  using Clock = std::chrono::steady_clock;
  auto made = SegmentAllocator::Create(AllocatorOptions{2 * kMaxSegmentSize, 0});
  ASSERT_TRUE(made.ok());
  SegmentAllocator& small = **made;
  {
    SegmentCache<uint64_t> cache("tiny", &small, 4 * kMaxSegmentSize);
    std::vector<Pinned> pins;
    for (uint64_t k = 0; k < 2; ++k) {
      auto seg = small.Allocate(kMaxSegmentSize);
      ASSERT_TRUE(seg.ok());
      std::memset(seg->data(), static_cast<int>('a' + k), kMaxSegmentSize);
      pins.push_back(cache.Insert(k, std::move(seg).value(), kMaxSegmentSize));
    }
    // A pin released by another thread: the entry becomes evictable.
    auto start = Clock::now();
    std::thread unpin([&] {
      std::this_thread::sleep_for(200ms);
      pins[0] = Pinned();
    });
    auto seg = small.Allocate(kMaxSegmentSize);
    unpin.join();
    ASSERT_TRUE(seg.ok()) << seg.status().ToString();
    EXPECT_GE(Clock::now() - start, 150ms);
    EXPECT_EQ(pins[1].bytes(), std::string(kMaxSegmentSize, 'b'));  // the pinned one stays
    EXPECT_FALSE(cache.Lookup(0));

    // A segment freed by another thread.
    start = Clock::now();
    std::thread release([&] {
      std::this_thread::sleep_for(200ms);
      seg->Reset();
    });
    auto again = small.Allocate(kMaxSegmentSize);
    release.join();
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_GE(Clock::now() - start, 150ms);

    // Memory only worth having at once: the error without the wait, and
    // not counted as a failure.
    const uint64_t failures = small.stats().allocation_failures;
    start = Clock::now();
    auto at_once = small.Allocate(4096, /*may_wait=*/false);
    EXPECT_TRUE(at_once.status().IsResourceExhausted()) << at_once.status().ToString();
    EXPECT_LT(Clock::now() - start, 500ms);
    EXPECT_EQ(small.stats().allocation_failures, failures);

    // Nobody lets go: a clean error after the bounded wait.
    start = Clock::now();
    auto none = small.Allocate(4096);
    const auto waited = Clock::now() - start;
    EXPECT_TRUE(none.status().IsResourceExhausted()) << none.status().ToString();
    EXPECT_GE(waited, 900ms);
    EXPECT_LT(waited, 5s);
    EXPECT_EQ(small.stats().allocation_failures, failures + 1);
  }
  EXPECT_TRUE(small.stats().Conserved());
}

TEST_F(MemoryTest, Key128CacheForChunks) {
  SegmentCache<Key128, Key128Hash> chunks("chunks", allocator(), 1 << 20);
  Key128 a{1, 2}, b{2, 1};
  { Pinned p = chunks.Insert(a, Filled(1, 4096), 4096); }
  { Pinned p = chunks.Insert(b, Filled(2, 4096), 4096); }
  auto hit = chunks.Lookup(a);
  ASSERT_TRUE(hit);
  EXPECT_TRUE(Holds(*hit, 1, 4096));
  EXPECT_FALSE(chunks.Lookup(Key128{1, 1}));
}

TEST_F(MemoryTest, ConcurrentPinsInvalidationsAndClearsConserveThePool) {
  cache_ = std::make_unique<Cache>("test", allocator(), 256 * 1024);  // << working set
  constexpr int kThreads = 8;
  constexpr int kOps = 20000;
  std::atomic<uint64_t> wrong{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::vector<Pinned> held;
      for (int i = 0; i < kOps; ++i) {
        uint64_t key = rng() % 512;
        size_t size = 4096 << (key % 3);
        int action = static_cast<int>(rng() % 100);
        if (action < 2) {
          cache_->Erase(rng() % 512);
        } else if (action < 3 && t == 0) {
          cache_->Clear();
        } else {
          std::optional<Pinned> p = cache_->Lookup(key);
          if (!p) {
            auto seg = allocator()->Allocate(size);
            if (!seg.ok()) { ++failures; continue; }
            std::memset(seg->data(), static_cast<int>('a' + key % 26), size);
            p = cache_->Insert(key, std::move(seg).value(), size);
          }
          if (!Holds(*p, key, size)) ++wrong;
          if (rng() % 4 == 0) held.push_back(std::move(*p));  // keep a few pins a while
          if (held.size() > 8) held.erase(held.begin());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_EQ(failures.load(), 0u);
  CacheStats s = cache_->stats();
  EXPECT_EQ(s.pins_taken, s.pins_released);
  EXPECT_GT(s.removals[static_cast<int>(RemovalCause::kSize)], 0u);
  EXPECT_GT(s.removals[static_cast<int>(RemovalCause::kInvalidate)], 0u);
  cache_->Clear();
  EXPECT_TRUE(allocator()->stats().Conserved());
}

// Caches come and go on a shared allocator while other threads allocate past
// its budget: the allocator asks the caches to give memory back, and a cache
// being destroyed is never asked once its destructor has begun (no use after
// free; under ASan and TSan this fails loudly if it were).
TEST_F(MemoryTest, ConcurrentCachesComeAndGoWhileAllocationsReclaim) {
  AllocatorOptions options;
  options.budget_bytes = kMaxSegmentSize;  // the smallest budget there is
  auto made = SegmentAllocator::Create(options);
  ASSERT_TRUE(made.ok());
  SegmentAllocator* shared = made->get();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> caches_made{0}, allocated{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {  // churn: a cache filled to the budget, then destroyed
      for (int round = 0; round < 300; ++round) {
        Cache cache("churn" + std::to_string(t), shared, kMaxSegmentSize);
        for (uint64_t k = 0; k < kMaxSegmentSize / 16384; ++k) {
          auto seg = shared->Allocate(16384);
          if (!seg.ok()) break;
          Pinned p = cache.Insert(k, std::move(seg).value(), 16384);
        }
        caches_made.fetch_add(1);
      }
    });
  }
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {  // pressure: allocations that need reclaiming
      while (!stop.load()) {
        auto seg = shared->Allocate(65536);
        if (seg.ok()) allocated.fetch_add(1);
      }
    });
  }
  for (int t = 0; t < 2; ++t) threads[t].join();
  stop.store(true);
  for (size_t t = 2; t < threads.size(); ++t) threads[t].join();
  EXPECT_EQ(caches_made.load(), 600u);
  EXPECT_GT(allocated.load(), 0u);
  EXPECT_GT(shared->stats().reclaim_calls, 0u);
  EXPECT_TRUE(shared->stats().Conserved());
}

}  // namespace
}  // namespace revfs::testing
