// PageLoader: the read path of the record layer — pages from the log into
// segments, through caches, handed out pinned.
//
// Loading a leaf pins each fragment of its chain (from the fragment cache, or
// read from the log into a fresh segment), combines them into a new segment,
// caches that combined page and returns it pinned. Every fragment pin is a
// guard, so each one is released on every way out: success, an error status
// (a corrupt fragment, an exhausted budget), or an exception thrown while
// combining, which becomes a Status here and never leaves the engine.
//
// Owns the store's one SegmentAllocator (unless given one) and three caches:
// fragments (by page offset), pages ready to use — indirect pages by offset
// and combined leaves by their newest fragment's offset — and decoded content
// chunks (by 128-bit content hash).
//
// A page found in a cache is checked against what its reference expects
// (the kind of page, a chunk's size) as one read from the log is: a warm
// cache never gives other bytes than a cold one.
//
// Thread safety: all methods are thread-safe. A chunk is decoded by one
// thread at a time, except that a reader never waits for a decode that only
// background threads (MarkBackgroundThread) run: it decodes alongside.
#ifndef REVFS_RECORDS_PAGE_LOADER_H_
#define REVFS_RECORDS_PAGE_LOADER_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "util/hash.h"
#include "records/indirect_page.h"
#include "memory/segment_allocator.h"
#include "memory/segment_cache.h"
#include "store/page_log.h"

namespace revfs {

struct PageLoaderOptions {
  AllocatorOptions allocator;
  // Use this allocator instead of making one (tests share theirs so the
  // fixture can check conservation). Must outlive the PageLoader.
  SegmentAllocator* shared_allocator = nullptr;
  size_t fragment_cache_bytes = 32u << 20;
  size_t page_cache_bytes = 64u << 20;
  size_t chunk_cache_bytes = 64u << 20;
  // Tests: runs before each fragment is taken into a combine (may throw).
  std::function<void(size_t)> combine_hook;
  // Tests: runs in Chunk between a cache miss and registering the decode
  // (may block).
  std::function<void(const Hash128&)> chunk_miss_hook;
  // Tests: runs as a chunk decode starts, before its page is read (may
  // block).
  std::function<void(const Hash128&)> chunk_decode_hook;
};

// Chunk pages at least this large are read bypassing the OS page cache.
inline constexpr size_t kDirectReadMin = 256u << 10;

// Pinned bytes of a page: valid until this object is destroyed.
class PinnedView {
 public:
  PinnedView(Pinned pin, size_t offset) : pin_(std::move(pin)), offset_(offset) {}
  std::string_view bytes() const { return pin_.bytes().substr(offset_); }

 private:
  Pinned pin_;
  size_t offset_;
};

class PageLoader {
 public:
  static Result<std::unique_ptr<PageLoader>> Create(const PageLog* log,
                                                    const PageLoaderOptions& options);
  ~PageLoader();

  // Returns the payload of indirect page `ref`, pinned. Corruption if the
  // page (read or cached) is of another kind.
  Result<PinnedView> Indirect(const PageRef& ref);
  // Returns the payload of one fragment, pinned.
  Result<PinnedView> Fragment(const FragmentRef& ref);
  // Returns the combined image of `leaf`, pinned. `*combined` is set to the
  // number of fragments combined, 0 when the combined page was cached.
  // Corruption if the page cached under the leaf's key is not a combined
  // leaf, or its record table points outside it.
  Result<PinnedView> Leaf(const LeafRef& leaf, size_t* combined);

  // Returns the decoded bytes of content chunk `hash` stored in `page`,
  // pinned; decoded chunks are cached by hash. Corruption if the page is
  // damaged or does not decode to bytes with that hash, or if the chunk
  // (cached or not) is not `raw_size` bytes.
  // A delta chunk is decoded from its base, itself loaded (and cached) first.
  // One thread decodes a given chunk at a time and others asking for it
  // meanwhile wait for that decode — except that a reader never waits for a
  // decode run only by background threads (MarkBackgroundThread): it
  // decodes the chunk alongside, so an idle-priority prefetcher never makes
  // a reader wait for a CPU it cannot get.
  Result<PinnedView> Chunk(const Hash128& hash, const PageRef& page, uint32_t raw_size,
                           int depth = 0);

  // Marks the calling thread, for the rest of its life, as a background
  // thread (a prefetcher, typically at idle priority): a reader never waits
  // for a decode such a thread started (see Chunk). Call it first thing in
  // the thread.
  static void MarkBackgroundThread();
  // Returns whether the calling thread was marked as a background thread.
  static bool IsBackgroundThread();

  SegmentAllocator& allocator() { return *allocator_; }
  SegmentCache<Key128, Key128Hash>& chunk_cache() { return *chunks_; }
  // Drops every unpinned cached page (pinned ones retire).
  void Clear();
  std::string StatsJson() const;
  // Returns pins held now across the caches.
  uint64_t PinsHeld() const;

 private:
  PageLoader(const PageLog* log, const PageLoaderOptions& options) : log_(log), options_(options) {}
  // Reads page `ref` of `kind` into a fresh segment and caches it in `cache`.
  Result<PinnedView> ReadInto(SegmentCache<uint64_t>& cache, const PageRef& ref, PageKind kind);
  // Returns the cached chunk `hit`, or Corruption if it is not of the
  // `raw_size` bytes its reference `ref` says.
  Result<PinnedView> ChunkHit(Pinned hit, const PageRef& ref, uint32_t raw_size);
  // Reads and decodes chunk `hash` (a cache miss) and caches it.
  Result<PinnedView> DecodeChunk(const Hash128& hash, const PageRef& ref, uint32_t raw_size,
                                 int depth);

  const PageLog* const log_;
  const PageLoaderOptions options_;
  std::unique_ptr<SegmentAllocator> owned_allocator_;
  SegmentAllocator* allocator_ = nullptr;
  // Destroyed before the allocator (declared after it).
  std::unique_ptr<SegmentCache<uint64_t>> fragments_;
  std::unique_ptr<SegmentCache<uint64_t>> pages_;
  std::unique_ptr<SegmentCache<Key128, Key128Hash>> chunks_;
  // A chunk being decoded now: by how many threads (a background one and a
  // foreground one that would not wait for it), and whether a foreground
  // thread is among them.
  struct InFlight {
    int decoders = 0;
    bool foreground = false;
  };
  // Chunks being decoded now, and the waiters' signal.
  std::mutex decoding_mu_;
  std::condition_variable decoded_cv_;
  std::unordered_map<Key128, InFlight, Key128Hash> decoding_;  // guarded by decoding_mu_
  // Reader decodes that did not wait for a background decode of the chunk.
  std::atomic<uint64_t> decodes_past_background_{0};
};

}  // namespace revfs

#endif  // REVFS_RECORDS_PAGE_LOADER_H_
