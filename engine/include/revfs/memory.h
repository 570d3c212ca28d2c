// What the API shows of the engine's memory: MemoryOptions (with
// AllocatorOptions), the budgets of a Database's allocator and caches, and
// PinnedView, the guard through which callers hold bytes of a cached page or
// chunk.
//
// Every page and chunk the engine reads lives in a segment of its one
// allocator, held by a cache (engine/src/memory/). A reader gets such bytes
// pinned: the segment stays in memory, unchanged, until the guard is
// destroyed or reassigned, even if the cache drops it meanwhile (it is then
// freed by the last unpin). Unpinning never does I/O and takes no cache lock.
//
// Thread safety: the options are values; a PinnedView belongs to one thread
// at a time, and any number of threads may hold pins on the same bytes.
#ifndef REVFS_MEMORY_H_
#define REVFS_MEMORY_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>
#include <utility>

#include "revfs/hash.h"

namespace revfs {

class SegmentAllocator;  // engine/src/memory/segment_allocator.h

// The allocator's budget and its dealings with the OS.
struct AllocatorOptions {
  size_t budget_bytes = 256u << 20;  // bytes of segments handed out at once
  // Free resident bytes a class keeps before releasing pages to the OS.
  size_t keep_resident_bytes = 8u << 20;
  // How long Allocate waits for other threads to release pins or segments
  // when the budget is exhausted, before it fails.
  std::chrono::milliseconds release_wait{1000};
};

// The memory of an open Database: one allocator, from which the caches of
// record pages (PageLoader) and of content chunks (ChunkLoader) take their
// segments.
struct MemoryOptions {
  AllocatorOptions allocator;
  // Use this allocator instead of making one (tests share theirs so the
  // fixture can check conservation). Must outlive the Database.
  SegmentAllocator* shared_allocator = nullptr;
  size_t fragment_cache_bytes = 32u << 20;
  size_t page_cache_bytes = 64u << 20;
  size_t chunk_cache_bytes = 64u << 20;
  // For a writer that reads on after each commit (revfs watch): each leaf
  // a commit writes is combined from the leaf as it was and the fragment
  // written (no fragment is read back), and cached once the commit is
  // durable, as a read of it would cache it, so that the next commit's
  // reads of that leaf decode nothing. The images wait for the commit in
  // segments counted against half of page_cache_bytes (the allocator's
  // budget grows by as much); a leaf past that, one whose image cannot be
  // had at once, or one whose image the fragment does not tell
  // (CombinePlan::PlanOver, records/record_page.h) is read as before. A
  // one-shot writer (revfs commit) leaves it off.
  bool cache_written_leaves = false;
  // Tests: runs before each fragment is taken into a combine (may throw).
  std::function<void(size_t)> combine_hook;
  // Tests: runs when a chunk is missed in its cache, before its decode is
  // registered (may block).
  std::function<void(const Digest256&)> chunk_miss_hook;
  // Tests: runs as a chunk decode starts, before its page is read (may
  // block).
  std::function<void(const Digest256&)> chunk_decode_hook;
};

namespace internal {
struct CacheEntryBase;  // a cache entry (engine/src/memory/segment_cache.h)
}  // namespace internal
class Pinned;

// Pinned bytes of a page or chunk: valid until this object is destroyed or
// assigned to. Move-only; a moved-from or default-made view holds nothing.
class [[nodiscard]] PinnedView {
 public:
  PinnedView() = default;
  PinnedView(PinnedView&& other) noexcept
      : entry_(std::exchange(other.entry_, nullptr)), bytes_(std::exchange(other.bytes_, {})) {}
  PinnedView& operator=(PinnedView&& other) noexcept {
    if (this != &other) {
      if (entry_) Release();
      entry_ = std::exchange(other.entry_, nullptr);
      bytes_ = std::exchange(other.bytes_, {});
    }
    return *this;
  }
  PinnedView(const PinnedView&) = delete;
  PinnedView& operator=(const PinnedView&) = delete;
  ~PinnedView() {
    if (entry_) Release();
  }

  std::string_view bytes() const { return bytes_; }

 private:
  friend class Pinned;  // the caches' own pin hands itself over (Pinned::ToView)
  PinnedView(internal::CacheEntryBase* entry, std::string_view bytes)
      : entry_(entry), bytes_(bytes) {}
  // Unpins (engine/src/memory/segment_cache.cc); entry_ is set.
  void Release() noexcept;

  internal::CacheEntryBase* entry_ = nullptr;
  std::string_view bytes_;
};

}  // namespace revfs

#endif  // REVFS_MEMORY_H_
