// Memory hot paths against the C library: segment allocate/free per size
// class vs malloc/free of the same sizes, and a cache hit with pin/unpin.
//   build/.../tests/bench/memory_bench --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <random>

#include "memory/segment_allocator.h"
#include "memory/segment_cache.h"

namespace revfs {
namespace {

std::unique_ptr<SegmentAllocator> MakeAllocator() {
  return std::move(SegmentAllocator::Create(AllocatorOptions{1u << 30, 64u << 20})).value();
}

void BM_SegmentAllocateFree(benchmark::State& state) {
  auto alloc = MakeAllocator();
  const size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    auto seg = alloc->Allocate(size);
    benchmark::DoNotOptimize(seg->data());
  }
  state.SetLabel(std::to_string(size >> 10) + " KiB");
}
BENCHMARK(BM_SegmentAllocateFree)->RangeMultiplier(4)->Range(4096, 4 << 20);

void BM_MallocFree(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* p = std::malloc(size);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
  state.SetLabel(std::to_string(size >> 10) + " KiB");
}
BENCHMARK(BM_MallocFree)->RangeMultiplier(4)->Range(4096, 4 << 20);

// A cache hit: lookup, pin, read one byte, unpin.
void BM_CacheHitPinUnpin(benchmark::State& state) {
  auto alloc = MakeAllocator();
  SegmentCache<uint64_t> cache("bench", alloc.get(), 256u << 20);
  constexpr uint64_t kKeys = 1024;
  for (uint64_t k = 0; k < kKeys; ++k) {
    auto seg = alloc->Allocate(4096);
    std::memset(seg->data(), 1, 4096);
    Pinned p = cache.Insert(k, std::move(seg).value(), 4096);
  }
  uint64_t k = 0;
  for (auto _ : state) {
    auto pin = cache.Lookup(k++ & (kKeys - 1));
    benchmark::DoNotOptimize(pin->bytes()[0]);
  }
}
BENCHMARK(BM_CacheHitPinUnpin);
BENCHMARK(BM_CacheHitPinUnpin)->Threads(2);

// The same hit path with a std::unordered_map and malloc'd buffers under a
// mutex, as a native baseline for what a cache hit must cost at least.
void BM_MapHitBaseline(benchmark::State& state) {
  std::unordered_map<uint64_t, std::unique_ptr<char[]>> map;
  std::mutex mu;
  constexpr uint64_t kKeys = 1024;
  for (uint64_t k = 0; k < kKeys; ++k) map[k] = std::make_unique<char[]>(4096);
  uint64_t k = 0;
  for (auto _ : state) {
    std::lock_guard lock(mu);
    benchmark::DoNotOptimize(map.find(k++ & (kKeys - 1))->second[0]);
  }
}
BENCHMARK(BM_MapHitBaseline);

}  // namespace
}  // namespace revfs

BENCHMARK_MAIN();
