// ChunkLoader: the one owner of content chunks on the read path — chunk
// pages from the log, decoded into segments, cached by content hash and
// handed out pinned.
//
// A chunk page holds one chunk raw, zstd-compressed, or as a zstd delta
// against a base chunk (compression.h); a delta is decoded from its base,
// itself loaded (and cached) first. A raw chunk's stored segment is cached as
// it is; a compressed one is decoded into a fresh segment and the stored page
// dropped. Pages of at least kDirectReadMin bytes are read past the OS page
// cache: they are cached here and need no second copy there.
//
// Every chunk, read or cached, is checked against its reference: a damaged
// page, one that is not the chunk referenced, bytes that do not hash to the
// chunk's hash, or a chunk (cached or not) of another size than the
// reference says are all Corruption. A warm cache never gives other bytes
// than a cold one.
//
// Memory: segments come from the allocator given (the Database's one,
// shared with the PageLoader), which must outlive the ChunkLoader; its one
// cache ("chunks", by the first 128 bits of the chunk's SHA-256) is a
// reclaimer of that allocator.
//
// Thread safety: all methods are thread-safe. A chunk is decoded by one
// thread at a time (single flight), except that a reader never waits for a
// decode that only background threads (MarkBackgroundThread) run: it decodes
// alongside.
#ifndef REVFS_CONTENT_CHUNK_LOADER_H_
#define REVFS_CONTENT_CHUNK_LOADER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "memory/segment_allocator.h"
#include "memory/segment_cache.h"
#include "revfs/memory.h"
#include "revfs/mutex.h"
#include "revfs/thread_annotations.h"
#include "store/page_log.h"
#include "util/hash.h"

namespace revfs {

struct ChunkLoaderOptions {
  size_t cache_bytes = 64u << 20;
  // Tests: runs in Chunk between a cache miss and registering the decode
  // (may block).
  std::function<void(const Digest256&)> miss_hook;
  // Tests: runs as a chunk decode starts, before its page is read (may
  // block).
  std::function<void(const Digest256&)> decode_hook;
};

// Chunk pages at least this large are read bypassing the OS page cache.
inline constexpr size_t kDirectReadMin = 256u << 10;

class ChunkLoader {
 public:
  // Loads chunks of `log` into segments of `allocator`; both must outlive
  // the ChunkLoader.
  ChunkLoader(const PageLog* log, SegmentAllocator* allocator, ChunkLoaderOptions options);
  ~ChunkLoader();
  ChunkLoader(const ChunkLoader&) = delete;
  ChunkLoader& operator=(const ChunkLoader&) = delete;

  // Returns the decoded bytes of content chunk `hash` stored in `page`,
  // pinned; decoded chunks are cached by hash. Corruption if the page is
  // damaged or does not decode to bytes with that hash, or if the chunk
  // (cached or not) is not `raw_size` bytes.
  // A delta chunk is decoded from its base, itself loaded (and cached) first.
  // One thread decodes a given chunk at a time and others asking for it
  // meanwhile wait for that decode — except that a reader never waits for a
  // decode run only by background threads (MarkBackgroundThread): it
  // decodes the chunk alongside, so an idle-priority prefetcher never makes
  // a reader wait for a CPU it cannot get. `depth` is the delta chain walked
  // so far (callers pass 0).
  Result<PinnedView> Chunk(const Digest256& hash, const PageRef& page, uint32_t raw_size,
                           int depth = 0) EXCLUDES(decoding_mu_);

  // Marks the calling thread, for the rest of its life, as a background
  // thread (a prefetcher, typically at idle priority): a reader never waits
  // for a decode such a thread started (see Chunk). Call it first thing in
  // the thread.
  static void MarkBackgroundThread();
  // Returns whether the calling thread was marked as a background thread.
  static bool IsBackgroundThread();

  SegmentCache<Key128, Key128Hash>& cache() { return *cache_; }
  CacheStats stats() const { return cache_->stats(); }
  // Drops every unpinned cached chunk (pinned ones retire).
  void Clear() { cache_->Clear(); }
  // Returns pins held now on cached chunks.
  uint64_t PinsHeld() const { return cache_->stats().pins_held; }
  // Reader decodes that did not wait for a background decode of the chunk.
  uint64_t decodes_past_background() const {
    return decodes_past_background_.load(std::memory_order_relaxed);
  }

 private:
  // Returns the cached chunk `hit`, or Corruption if it is not of the
  // `raw_size` bytes its reference `ref` says.
  Result<PinnedView> ChunkHit(Pinned hit, const PageRef& ref, uint32_t raw_size);
  // Reads and decodes chunk `hash` (a cache miss) and caches it.
  Result<PinnedView> DecodeChunk(const Digest256& hash, const PageRef& ref, uint32_t raw_size,
                                 int depth) EXCLUDES(decoding_mu_);

  const PageLog* const log_;
  SegmentAllocator* const allocator_;
  const ChunkLoaderOptions options_;
  std::unique_ptr<SegmentCache<Key128, Key128Hash>> cache_;
  // A chunk being decoded now: by how many threads (a background one and a
  // foreground one that would not wait for it), and whether a foreground
  // thread is among them.
  struct InFlight {
    int decoders = 0;
    bool foreground = false;
  };
  // Chunks being decoded now, and the waiters' signal.
  Mutex decoding_mu_;
  CondVar decoded_cv_;  // with decoding_mu_
  std::unordered_map<Key128, InFlight, Key128Hash> decoding_ GUARDED_BY(decoding_mu_);
  std::atomic<uint64_t> decodes_past_background_{0};
};

}  // namespace revfs

#endif  // REVFS_CONTENT_CHUNK_LOADER_H_
