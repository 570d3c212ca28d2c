// PageLoader: the read path of the record layer — record pages from the log
// into segments, through caches, handed out pinned.
//
// Loading a leaf pins each fragment of its chain (from the fragment cache, or
// read from the log into a fresh segment), combines them into a new segment,
// caches that combined page and returns it pinned. Every fragment pin is a
// guard, so each one is released on every way out: success, an error status
// (a corrupt fragment, an exhausted budget), or an exception thrown while
// combining, which becomes a Status here and never leaves the engine.
//
// Memory: segments come from the allocator given (the Database's one, shared
// with the ChunkLoader, content/chunk_loader.h, which owns content chunks),
// which must outlive the PageLoader. Two caches: fragments (by page offset),
// and pages ready to use — indirect pages by offset and combined leaves by
// their newest fragment's offset.
//
// A page found in a cache is checked against what its reference expects
// (the kind of page) as one read from the log is: a warm cache never gives
// other bytes than a cold one.
//
// Thread safety: all methods are thread-safe.
#ifndef REVFS_RECORDS_PAGE_LOADER_H_
#define REVFS_RECORDS_PAGE_LOADER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "memory/segment_allocator.h"
#include "memory/segment_cache.h"
#include "records/indirect_page.h"
#include "revfs/memory.h"
#include "store/page_log.h"

namespace revfs {

struct PageLoaderOptions {
  size_t fragment_cache_bytes = 32u << 20;
  size_t page_cache_bytes = 64u << 20;
  // Tests: runs before each fragment is taken into a combine (may throw).
  std::function<void(size_t)> combine_hook;
};

class PageLoader {
 public:
  // Loads pages of `log` into segments of `allocator`; both must outlive the
  // PageLoader.
  PageLoader(const PageLog* log, SegmentAllocator* allocator, PageLoaderOptions options);
  ~PageLoader();
  PageLoader(const PageLoader&) = delete;
  PageLoader& operator=(const PageLoader&) = delete;

  // Returns the payload of indirect page `ref`, pinned. Corruption if the
  // page (read or cached) is of another kind.
  Result<PinnedView> Indirect(const PageRef& ref);
  // Returns the payload of one fragment, pinned.
  Result<PinnedView> Fragment(const FragmentRef& ref);
  // Fills in the older fragments of a chain that a level-1 page names by
  // its newest alone, from the newest fragment's tail (read through the
  // fragment cache). Corruption if the tail is missing or not the length
  // the reference says. A no-op on a resolved reference.
  Status ResolveChain(LeafRef* leaf);
  // Returns the combined image of `leaf` (resolved or not), pinned. `*combined` is set to the
  // number of fragments combined, 0 when the combined page was cached.
  // Corruption if the page cached under the leaf's key is not a combined
  // leaf, or its record table points outside it.
  Result<PinnedView> Leaf(const LeafRef& leaf, size_t* combined);

  // Caches `image` (`size` bytes), the combined image of the leaf whose
  // newest fragment is at `key`, made by a writer that has just committed
  // that fragment (MemoryOptions::cache_written_leaves): what Leaf would
  // cache on a miss, without reading the fragments back. Corruption if the
  // image is not laid out as a combined page.
  Status CacheLeafImage(uint64_t key, Segment image, size_t size);
  // Caches `page` (`size` bytes), the unpacked payload of the indirect page
  // at `key` its writer has just committed: what Indirect would cache on a
  // miss. Corruption if it does not parse as an indirect page.
  Status CacheIndirect(uint64_t key, Segment page, size_t size);
  // Drops the leaf image or indirect page cached under `key`, if any (a
  // pinned one is freed by its last unpin).
  void Forget(uint64_t key);

  // Drops every unpinned cached page (pinned ones retire).
  void Clear();
  // Returns pins held now across the caches.
  uint64_t PinsHeld() const;
  // Returns the caches' counters: fragments, then pages.
  std::vector<CacheStats> stats() const;

 private:
  // Reads page `ref` of `kind` into a fresh segment and caches it in `cache`.
  Result<PinnedView> ReadInto(SegmentCache<uint64_t>& cache, const PageRef& ref, PageKind kind);

  const PageLog* const log_;
  SegmentAllocator* const allocator_;
  const PageLoaderOptions options_;
  std::unique_ptr<SegmentCache<uint64_t>> fragments_;
  std::unique_ptr<SegmentCache<uint64_t>> pages_;
};

}  // namespace revfs

#endif  // REVFS_RECORDS_PAGE_LOADER_H_
