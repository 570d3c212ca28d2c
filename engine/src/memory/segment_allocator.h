// SegmentAllocator: the one source of page memory in an open store.
//
// Memory is reserved with mmap once per size class (powers of two, 4 KiB to
// 8 MiB) and cut into fixed-size segments, handed out from a free list per
// class. A Segment is a move-only owner: destroying it returns the segment to
// its free list, whatever path the owner leaves by. Past a threshold of free
// resident bytes in a class, released segments give their physical pages
// back to the OS (madvise(MADV_DONTNEED)) while keeping the address range.
// A segment with no physical pages (never used, or given back) has the
// pages it was asked for populated in one call (MADV_POPULATE_WRITE) when
// it is handed out: a page fault per 4 KiB costs 10-15 us on a VM, the one
// call under 1 us a page.
//
// A total budget bounds the bytes handed out at once. When a request would
// exceed it, the allocator asks its reclaimers (the caches) to evict unpinned
// entries. If that does not free enough — the rest is pinned by other
// threads, which hold pins only for the span of a read — it waits a bounded
// time (AllocatorOptions::release_wait) for segments to be freed or pins to
// be released, asking again after each, and only then fails with
// ResourceExhausted — never an abort.
//
// Ownership: the allocator must outlive every Segment it handed out (the
// Database owns it and destroys its caches first).
// Thread safety: all methods are thread-safe. Lock order: a reclaimer is
// called without the allocator's lock (mu_) held, only with reclaimers_mu_
// shared, which RemoveReclaimer takes exclusively, so a reclaimer is never
// called once removed; it frees segments after releasing its own locks, so
// the two never nest. Freeing takes mu_, so reclaimers_mu_ comes before mu_.
#ifndef REVFS_MEMORY_SEGMENT_ALLOCATOR_H_
#define REVFS_MEMORY_SEGMENT_ALLOCATOR_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "revfs/memory.h"
#include "revfs/mutex.h"
#include "revfs/result.h"

namespace revfs {

inline constexpr size_t kMinSegmentSize = 4096;
inline constexpr int kSizeClasses = 12;  // 4 KiB .. 8 MiB
inline constexpr size_t kMaxSegmentSize = kMinSegmentSize << (kSizeClasses - 1);
inline constexpr size_t kHugePageSize = 2u << 20;  // x86-64 and arm64 with 4 KiB pages

// AllocatorOptions is defined in revfs/memory.h (a Database's
// MemoryOptions carry it).

class SegmentAllocator;

// Owns one segment; returns it to its allocator when destroyed.
class [[nodiscard]] Segment {
 public:
  Segment() = default;
  Segment(Segment&& other) noexcept { *this = std::move(other); }
  Segment& operator=(Segment&& other) noexcept;
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;
  ~Segment() { Reset(); }

  char* data() const { return data_; }
  // Returns the allocator the segment came from (null when empty).
  SegmentAllocator* allocator() const { return owner_; }
  size_t capacity() const { return capacity_; }
  int size_class() const { return size_class_; }
  explicit operator bool() const { return data_ != nullptr; }
  // Returns the segment to its allocator now.
  void Reset();

 private:
  friend class SegmentAllocator;
  Segment(SegmentAllocator* owner, char* data, int size_class, size_t capacity)
      : owner_(owner), data_(data), capacity_(capacity), size_class_(size_class) {}

  SegmentAllocator* owner_ = nullptr;
  char* data_ = nullptr;
  size_t capacity_ = 0;
  int size_class_ = -1;
};

// Something that can give memory back on request: a cache.
class Reclaimer {
 public:
  virtual ~Reclaimer() = default;
  // Evicts unpinned entries until about `bytes` were freed; returns the bytes
  // freed. Must not be called with any allocator lock held.
  virtual size_t Reclaim(size_t bytes) = 0;
};

struct SizeClassStats {
  size_t segment_size = 0;
  uint64_t total = 0;     // segments carved from the class's reservation
  uint64_t free = 0;      // on the free lists
  uint64_t resident_free = 0;  // free and still backed by physical pages
};

struct AllocatorStats {
  std::array<SizeClassStats, kSizeClasses> classes{};
  uint64_t bytes_reserved = 0;  // address space mapped
  uint64_t bytes_in_use = 0;    // handed out now
  uint64_t bytes_resident = 0;  // in use + free-but-resident
  uint64_t budget_bytes = 0;
  uint64_t allocations = 0;
  uint64_t releases = 0;
  uint64_t allocation_failures = 0;
  uint64_t reclaim_calls = 0;
  uint64_t pages_returned_to_os = 0;  // segments madvised
  uint64_t pages_populated = 0;       // 4 KiB pages populated at hand-out
  // True when every segment carved is back on a free list.
  bool Conserved() const;
  std::string ToJson() const;
};

class SegmentAllocator {
 public:
  static Result<std::unique_ptr<SegmentAllocator>> Create(const AllocatorOptions& options);
  ~SegmentAllocator();
  SegmentAllocator(const SegmentAllocator&) = delete;
  SegmentAllocator& operator=(const SegmentAllocator&) = delete;

  // Returns a segment of at least `bytes` (1 .. kMaxSegmentSize). Past the
  // budget it asks the caches for memory and, unless `may_wait` is false
  // (memory that is only worth having at once), waits for pins to go.
  Result<Segment> Allocate(size_t bytes, bool may_wait = true) EXCLUDES(mu_, reclaimers_mu_);

  // Tells waiting Allocate calls that memory may have become reclaimable
  // (a cached entry was unpinned). Cheap when nobody waits; never blocks on
  // a reclaimer. Call with no cache lock held.
  void NoteReclaimable() EXCLUDES(mu_);

  void AddReclaimer(Reclaimer* r) EXCLUDES(reclaimers_mu_);
  void RemoveReclaimer(Reclaimer* r) EXCLUDES(reclaimers_mu_);

  AllocatorStats stats() const EXCLUDES(mu_);
  size_t budget() const { return options_.budget_bytes; }

  // Returns the size class for `bytes`, or -1 if too large.
  static int ClassFor(size_t bytes);

 private:
  friend class Segment;
  struct SizeClass {
    char* mapping = nullptr;    // what mmap returned
    size_t mapped = 0;          // its length
    char* base = nullptr;       // the reservation (aligned within the mapping)
    size_t reserved = 0;        // its length
    size_t carved = 0;          // segments cut so far
    // Each has capacity for every segment carved, so Release never allocates.
    std::vector<char*> warm;    // free, resident
    std::vector<char*> cold;    // free, pages given back to the OS
  };

  explicit SegmentAllocator(const AllocatorOptions& options) : options_(options) {}
  // Allocate's body; throws std::bad_alloc if a free list cannot grow.
  Result<Segment> AllocateOrThrow(size_t bytes, bool may_wait) EXCLUDES(mu_, reclaimers_mu_);
  // Takes a segment of class `c` if the budget allows; null otherwise.
  // Sets `*fresh` when the segment has no physical pages (carved now or
  // taken from the cold list). Throws std::bad_alloc (changing nothing) if
  // the free lists cannot be given room for one more segment.
  char* TryTake(int c, bool* fresh) REQUIRES(mu_);
  // Returns a segment of class `c` at `p` for a request of `bytes`,
  // populating those bytes' pages first if the segment is `fresh`.
  Segment HandOut(char* p, int c, size_t bytes, bool fresh) EXCLUDES(mu_);
  void Release(char* data, int c) EXCLUDES(mu_);

  const AllocatorOptions options_;
  mutable Mutex mu_;
  // Signalled (with mu_) when a segment is released or NoteReclaimable is
  // called, and anyone waits in Allocate. `released_` counts such events so
  // a waiter sees one that happened between its last attempt and its wait;
  // with `waiters_` (both sequentially consistent) no wake-up is lost.
  CondVar release_cv_;
  std::atomic<uint64_t> released_{0};
  std::atomic<int> waiters_{0};
  std::array<SizeClass, kSizeClasses> classes_ GUARDED_BY(mu_);
  size_t in_use_ GUARDED_BY(mu_) = 0;
  uint64_t allocations_ GUARDED_BY(mu_) = 0;
  uint64_t releases_ GUARDED_BY(mu_) = 0;
  uint64_t failures_ GUARDED_BY(mu_) = 0;
  uint64_t reclaim_calls_ GUARDED_BY(mu_) = 0;
  uint64_t madvised_ GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> populated_{0};
  // Held shared while reclaimers are being called, exclusively to add or
  // remove one: a cache being destroyed waits until no Allocate is inside it.
  mutable SharedMutex reclaimers_mu_;
  std::vector<Reclaimer*> reclaimers_ GUARDED_BY(reclaimers_mu_);
};

// The memory rule once every reader is done: returns OK if no pin is held
// (`pins_held`, as the caches count them) and every segment of `allocator`
// is back on a free list; otherwise Corruption naming the pins held and, per
// size class, the segments missing (memory/pool_check.cc).
Status CheckSegmentsReturned(const SegmentAllocator& allocator, uint64_t pins_held);

}  // namespace revfs

#endif  // REVFS_MEMORY_SEGMENT_ALLOCATOR_H_
