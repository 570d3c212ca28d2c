#include "content/chunk_loader.h"

#include <optional>
#include <new>
#include <string>

#include "content/compression.h"

namespace revfs {
namespace {

// Set by MarkBackgroundThread; read by Chunk on the same thread.
thread_local bool background_thread = false;

}  // namespace

void ChunkLoader::MarkBackgroundThread() { background_thread = true; }

bool ChunkLoader::IsBackgroundThread() { return background_thread; }

ChunkLoader::ChunkLoader(const PageLog* log, SegmentAllocator* allocator,
                         ChunkLoaderOptions options)
    : log_(log),
      allocator_(allocator),
      options_(std::move(options)),
      cache_(std::make_unique<SegmentCache<Key128, Key128Hash>>("chunks", allocator,
                                                                options_.cache_bytes)) {}

ChunkLoader::~ChunkLoader() = default;

Result<PinnedView> ChunkLoader::Chunk(const Digest256& hash, const PageRef& ref, uint32_t raw_size,
                                     int depth) {
  const Key128 key{hash.Word(0), hash.Word(1)};
  if (auto hit = cache_->Lookup(key)) return ChunkHit(std::move(*hit), ref, raw_size);
  // Only a thread holding no decode of its own waits (a base of a delta is
  // decoded by whoever needs it), so waits never form a cycle, whatever a
  // damaged store claims about its bases.
  if (depth > 0) return DecodeChunk(hash, ref, raw_size, depth);
  if (options_.miss_hook) options_.miss_hook(hash);
  // A decode in flight is waited for only if it is at least as urgent as
  // ours: a foreground thread (a reader) never waits for one that only
  // background threads run. Those run at idle priority in the mount, so on
  // busy CPUs a 1 ms decode of theirs can take seconds to finish; the
  // reader decodes the chunk itself instead (at worst one decode twice).
  // Raising the decoder's priority instead was rejected: an unprivileged
  // process may not move a thread out of SCHED_IDLE (RLIMIT_NICE), and the
  // boost would have to be undone by a thread that does not own it.
  const bool background = background_thread;
  while (true) {
    {
      MutexLock lock(&decoding_mu_);
      auto it = decoding_.find(key);
      if (it == decoding_.end()) {
        try {
          decoding_.emplace(key, InFlight{1, !background});
        } catch (const std::bad_alloc&) {
          return Status::ResourceExhausted("out of memory registering a chunk decode");
        }
        break;
      }
      if (!background && !it->second.foreground) {
        ++it->second.decoders;
        it->second.foreground = true;
        decodes_past_background_.fetch_add(1, std::memory_order_relaxed);
        break;
      }
      decoded_cv_.Wait(&decoding_mu_);
    }
    if (auto hit = cache_->Lookup(key)) return ChunkHit(std::move(*hit), ref, raw_size);
    // Not decoded yet, or the decode failed: look again.
  }
  struct Done {
    ChunkLoader* self;
    Key128 key;
    bool foreground;
    ~Done() {
      {
        MutexLock lock(&self->decoding_mu_);
        auto it = self->decoding_.find(key);
        if (--it->second.decoders == 0) {
          self->decoding_.erase(it);
        } else if (foreground) {
          it->second.foreground = false;  // only background decoders are left
        }
      }
      self->decoded_cv_.SignalAll();
    }
  } done{this, key, !background};
  // Re-check now that the decode is registered: one that finished between
  // the miss above and the registration has cached the chunk and left
  // decoding_, so nothing told this thread to wait, and it would decode the
  // chunk a second time.
  if (auto hit = cache_->Lookup(key)) return ChunkHit(std::move(*hit), ref, raw_size);
  return DecodeChunk(hash, ref, raw_size, depth);
}

Result<PinnedView> ChunkLoader::ChunkHit(Pinned hit, const PageRef& ref, uint32_t raw_size) {
  // The hash matched, but the reference's size is checked here as on a
  // miss: a reference that is wrong about it would otherwise give a short
  // (or overlong) read from a warm cache and a clean error from a cold one.
  if (hit.bytes().size() != raw_size) {
    return Status::Corruption(log_->path() + ": chunk page at offset " +
                              std::to_string(ref.offset) + " is referenced as " +
                              std::to_string(raw_size) + " bytes; the chunk has " +
                              std::to_string(hit.bytes().size()));
  }
  return std::move(hit).ToView();
}

Result<PinnedView> ChunkLoader::DecodeChunk(const Digest256& hash, const PageRef& ref,
                                           uint32_t raw_size, int depth) {
  const Key128 key{hash.Word(0), hash.Word(1)};
  if (options_.decode_hook) options_.decode_hook(hash);
  if (ref.size < kPageHeaderSize || ref.size > kMaxSegmentSize || raw_size > kMaxSegmentSize) {
    return Status::Corruption(log_->path() + ": chunk page at offset " +
                              std::to_string(ref.offset) + ": impossible size");
  }
  // The stored page lives in a segment only while it is decoded (a raw
  // chunk's stays: it is what is cached). Large pages are read past the OS
  // page cache: they are cached here, decoded, and need no second copy there.
  const bool direct = ref.size >= kDirectReadMin && PageLog::DirectSpan(ref) <= kMaxSegmentSize;
  REVFS_ASSIGN_OR_RETURN(Segment stored,
                         allocator_->Allocate(direct ? PageLog::DirectSpan(ref) : ref.size));
  PageView view;
  REVFS_RETURN_IF_ERROR(direct ? log_->ReadDirect(ref, stored.data(), &view)
                               : log_->Read(ref, stored.data(), &view));
  ChunkPageHeader header;
  std::string_view body;
  REVFS_RETURN_IF_ERROR(DecodeChunkPage(view.payload, DigestSizeOf(hash), &header, &body));
  if (view.kind != PageKind::kChunk || header.raw_size != raw_size || !(header.hash == hash)) {
    return Status::Corruption(log_->path() + ": chunk page at offset " +
                              std::to_string(ref.offset) + " is not the chunk referenced");
  }
  if (header.encoding == ChunkEncoding::kRaw) {
    // Stored as is: the page checksum has vouched for these bytes, so the
    // stored segment is cached as it is, without a copy or a second hash.
    if (body.size() != raw_size) {
      return Status::Corruption(log_->path() + ": chunk page at offset " +
                                std::to_string(ref.offset) + ": raw body of the wrong size");
    }
    const size_t offset = static_cast<size_t>(body.data() - stored.data());
    return CacheAndPin(*cache_, key, std::move(stored), raw_size, offset);
  }
  std::optional<PinnedView> base;
  if (header.encoding == ChunkEncoding::kZstdDelta) {
    if (depth >= 2 * kMaxDeltaDepth) {
      return Status::Corruption(log_->path() + ": chunk at offset " + std::to_string(ref.offset) +
                                ": delta chain too long");
    }
    REVFS_ASSIGN_OR_RETURN(base, Chunk(header.base_hash, header.base_page, header.base_size,
                                       depth + 1));
  }
  REVFS_ASSIGN_OR_RETURN(Segment decoded, allocator_->Allocate(std::max<uint32_t>(raw_size, 1)));
  Status s = DecompressChunk(header.encoding, body, decoded.data(), raw_size,
                             base ? base->bytes() : std::string_view());
  if (!s.ok()) return s.WithContext(log_->path() + ": chunk at offset " + std::to_string(ref.offset));
  if (!(HashBytesLike(hash, std::string_view(decoded.data(), raw_size)) == hash)) {
    return Status::Corruption(log_->path() + ": chunk at offset " + std::to_string(ref.offset) +
                              " decodes to the wrong bytes");
  }
  stored.Reset();
  return CacheAndPin(*cache_, key, std::move(decoded), static_cast<size_t>(raw_size));
}

}  // namespace revfs
