#include "records/page_loader.h"

#include <exception>
#include <optional>
#include <new>
#include <vector>

#include "content/compression.h"
#include "revfs/json.h"
#include "records/record_page.h"

namespace revfs {
namespace {

// Caches `segment` under `key` and returns it pinned. SegmentCache::Insert
// throws std::bad_alloc when its bookkeeping cannot be allocated (leaving
// the cache unchanged and the segment returned); no exception leaves the
// engine, so it becomes ResourceExhausted here.
template <typename Key, typename Hash>
Result<PinnedView> CacheAndPin(SegmentCache<Key, Hash>& cache, const Key& key, Segment segment,
                               size_t size, size_t offset = 0, uint32_t tag = 0) {
  try {
    return PinnedView(cache.Insert(key, std::move(segment), size, offset, tag), 0);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory caching a page");
  }
}

// What a page-cache entry holds. Indirect pages and combined leaves share
// the pages cache and its key space (offsets in the log); fragments have a
// cache of their own but are tagged alike.
enum PageTag : uint32_t { kTagIndirect = 1, kTagFragment = 2, kTagCombined = 3 };

uint32_t TagFor(PageKind kind) {
  return kind == PageKind::kIndirect ? kTagIndirect : kTagFragment;
}

const char* TagName(uint32_t tag) {
  switch (tag) {
    case kTagIndirect: return "an indirect page";
    case kTagFragment: return "a leaf fragment";
    case kTagCombined: return "a combined leaf";
  }
  return "something else";
}

// Set by MarkBackgroundThread; read by Chunk on the same thread.
thread_local bool background_thread = false;

}  // namespace

void PageLoader::MarkBackgroundThread() { background_thread = true; }

bool PageLoader::IsBackgroundThread() { return background_thread; }

Result<std::unique_ptr<PageLoader>> PageLoader::Create(const PageLog* log,
                                                       const PageLoaderOptions& options) {
  std::unique_ptr<PageLoader> loader(new PageLoader(log, options));
  if (options.shared_allocator) {
    loader->allocator_ = options.shared_allocator;
  } else {
    REVFS_ASSIGN_OR_RETURN(loader->owned_allocator_, SegmentAllocator::Create(options.allocator));
    loader->allocator_ = loader->owned_allocator_.get();
  }
  loader->fragments_ = std::make_unique<SegmentCache<uint64_t>>(
      "fragments", loader->allocator_, options.fragment_cache_bytes);
  loader->pages_ = std::make_unique<SegmentCache<uint64_t>>("pages", loader->allocator_,
                                                            options.page_cache_bytes);
  loader->chunks_ = std::make_unique<SegmentCache<Key128, Key128Hash>>(
      "chunks", loader->allocator_, options.chunk_cache_bytes);
  return loader;
}

PageLoader::~PageLoader() {
  chunks_.reset();
  pages_.reset();
  fragments_.reset();
}

Result<PinnedView> PageLoader::ReadInto(SegmentCache<uint64_t>& cache, const PageRef& ref,
                                        PageKind kind) {
  if (auto hit = cache.Lookup(ref.offset)) {
    // Cached pages were checked when read; what a hit must match is the
    // kind the reference expects (a damaged one may name another page).
    if (hit->tag() != TagFor(kind)) {
      return Status::Corruption(log_->path() + ": page at offset " + std::to_string(ref.offset) +
                                ": expected a " + PageKindName(kind) + " page, cached as " +
                                TagName(hit->tag()));
    }
    return PinnedView(std::move(*hit), 0);
  }
  if (ref.size < kPageHeaderSize || ref.size > kMaxSegmentSize) {
    return Status::Corruption(log_->path() + ": page at offset " + std::to_string(ref.offset) +
                              ": impossible size " + std::to_string(ref.size));
  }
  REVFS_ASSIGN_OR_RETURN(Segment stored, allocator_->Allocate(ref.size));
  PageView view;
  REVFS_RETURN_IF_ERROR(log_->Read(ref, stored.data(), &view));  // segment freed on error
  if (view.kind != kind) {
    return Status::Corruption(log_->path() + ": page at offset " + std::to_string(ref.offset) +
                              ": expected a " + PageKindName(kind) + " page, found " +
                              PageKindName(view.kind));
  }
  // Cache the unpacked payload: decompressed once, read many times.
  auto size = PackedPayloadSize(view.payload);
  if (!size.ok()) return size.status().WithContext(log_->path() + ": page at offset " + std::to_string(ref.offset));
  REVFS_ASSIGN_OR_RETURN(Segment payload, allocator_->Allocate(std::max<size_t>(*size, 1)));
  Status s = UnpackRecordPage(view.payload, payload.data(), *size);
  if (!s.ok()) return s.WithContext(log_->path() + ": page at offset " + std::to_string(ref.offset));
  stored.Reset();
  return CacheAndPin(cache, ref.offset, std::move(payload), *size, 0, TagFor(kind));
}

Result<PinnedView> PageLoader::Indirect(const PageRef& ref) {
  return ReadInto(*pages_, ref, PageKind::kIndirect);
}

Result<PinnedView> PageLoader::Fragment(const FragmentRef& ref) {
  return ReadInto(*fragments_, ref.page, PageKind::kLeafFragment);
}

Result<PinnedView> PageLoader::Leaf(const LeafRef& leaf, size_t* combined) {
  *combined = 0;
  if (leaf.chain.empty()) return Status::Corruption("leaf reference without fragments");
  const uint64_t key = leaf.chain.front().page.offset;
  if (auto hit = pages_->Lookup(key)) {
    if (hit->tag() != kTagCombined) {
      return Status::Corruption(log_->path() + ": leaf fragment at offset " +
                                std::to_string(key) + " is cached as " + TagName(hit->tag()));
    }
    // Readers index into the image by the offsets it holds: every offset
    // was checked when the image was combined (below); a hit checks that
    // it is still as long as it was then — O(1), as a hit must be (a full
    // check per hit made every record read scan its whole leaf).
    Status s = CombinedPage::CheckTable(hit->bytes());
    if (!s.ok()) return s.WithContext(log_->path() + ": leaf at offset " + std::to_string(key));
    return PinnedView(std::move(*hit), 0);
  }

  // Pin every fragment; the guards in `pins` release them on every return.
  std::vector<PinnedView> pins;
  std::vector<std::string_view> views;
  pins.reserve(leaf.chain.size());
  views.reserve(leaf.chain.size());
  for (const FragmentRef& f : leaf.chain) {
    REVFS_ASSIGN_OR_RETURN(PinnedView pin, Fragment(f));
    views.push_back(pin.bytes());
    pins.push_back(std::move(pin));
  }
  CombinePlan plan;
  Segment out;
  try {
    REVFS_RETURN_IF_ERROR(plan.Plan(views, options_.combine_hook));
    REVFS_ASSIGN_OR_RETURN(out, allocator_->Allocate(plan.OutputSize()));
    plan.Write(out.data());
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory while combining leaf fragments");
  } catch (const std::exception& e) {
    return Status::Aborted(std::string("combining leaf fragments failed: ") + e.what());
  }
  *combined = leaf.chain.size();
  const size_t size = plan.OutputSize();
  // Readers index into the image by the offsets it holds: never past it.
  Status s = CombinedPage::Check(std::string_view(out.data(), size));
  if (!s.ok()) return s.WithContext(log_->path() + ": leaf at offset " + std::to_string(key));
  return CacheAndPin(*pages_, key, std::move(out), size, 0, kTagCombined);
}

Result<PinnedView> PageLoader::Chunk(const Hash128& hash, const PageRef& ref, uint32_t raw_size,
                                     int depth) {
  const Key128 key{hash.hi, hash.lo};
  if (auto hit = chunks_->Lookup(key)) return ChunkHit(std::move(*hit), ref, raw_size);
  // Only a thread holding no decode of its own waits (a base of a delta is
  // decoded by whoever needs it), so waits never form a cycle, whatever a
  // damaged store claims about its bases.
  if (depth > 0) return DecodeChunk(hash, ref, raw_size, depth);
  if (options_.chunk_miss_hook) options_.chunk_miss_hook(hash);
  // A decode in flight is waited for only if it is at least as urgent as
  // ours: a foreground thread (a reader) never waits for one that only
  // background threads run. Those run at idle priority in the mount, so on
  // busy CPUs a 1 ms decode of theirs can take seconds to finish; the
  // reader decodes the chunk itself instead (at worst one decode twice).
  // Raising the decoder's priority instead was rejected: an unprivileged
  // process may not move a thread out of SCHED_IDLE (RLIMIT_NICE), and the
  // boost would have to be undone by a thread that does not own it.
  const bool background = background_thread;
  {
    std::unique_lock lock(decoding_mu_);
    while (true) {
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
      decoded_cv_.wait(lock);
      lock.unlock();
      if (auto hit = chunks_->Lookup(key)) return ChunkHit(std::move(*hit), ref, raw_size);
      lock.lock();  // not decoded yet, or the decode failed: look again
    }
  }
  struct Done {
    PageLoader* self;
    Key128 key;
    bool foreground;
    ~Done() {
      {
        std::lock_guard lock(self->decoding_mu_);
        auto it = self->decoding_.find(key);
        if (--it->second.decoders == 0) {
          self->decoding_.erase(it);
        } else if (foreground) {
          it->second.foreground = false;  // only background decoders are left
        }
      }
      self->decoded_cv_.notify_all();
    }
  } done{this, key, !background};
  // Re-check now that the decode is registered: one that finished between
  // the miss above and the registration has cached the chunk and left
  // decoding_, so nothing told this thread to wait, and it would decode the
  // chunk a second time.
  if (auto hit = chunks_->Lookup(key)) return ChunkHit(std::move(*hit), ref, raw_size);
  return DecodeChunk(hash, ref, raw_size, depth);
}

Result<PinnedView> PageLoader::ChunkHit(Pinned hit, const PageRef& ref, uint32_t raw_size) {
  // The hash matched, but the reference's size is checked here as on a
  // miss: a reference that is wrong about it would otherwise give a short
  // (or overlong) read from a warm cache and a clean error from a cold one.
  if (hit.bytes().size() != raw_size) {
    return Status::Corruption(log_->path() + ": chunk page at offset " +
                              std::to_string(ref.offset) + " is referenced as " +
                              std::to_string(raw_size) + " bytes; the chunk has " +
                              std::to_string(hit.bytes().size()));
  }
  return PinnedView(std::move(hit), 0);
}

Result<PinnedView> PageLoader::DecodeChunk(const Hash128& hash, const PageRef& ref,
                                           uint32_t raw_size, int depth) {
  const Key128 key{hash.hi, hash.lo};
  if (options_.chunk_decode_hook) options_.chunk_decode_hook(hash);
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
  REVFS_RETURN_IF_ERROR(DecodeChunkPage(view.payload, &header, &body));
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
    return CacheAndPin(*chunks_, key, std::move(stored), raw_size, offset);
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
  if (!(HashBytes(std::string_view(decoded.data(), raw_size)) == hash)) {
    return Status::Corruption(log_->path() + ": chunk at offset " + std::to_string(ref.offset) +
                              " decodes to the wrong bytes");
  }
  stored.Reset();
  return CacheAndPin(*chunks_, key, std::move(decoded), static_cast<size_t>(raw_size));
}

void PageLoader::Clear() {
  pages_->Clear();
  fragments_->Clear();
  chunks_->Clear();
}

uint64_t PageLoader::PinsHeld() const {
  uint64_t held = 0;
  for (const CacheStats& s : {fragments_->stats(), pages_->stats(), chunks_->stats()}) {
    held += s.pins_held;
  }
  return held;
}

std::string PageLoader::StatsJson() const {
  JsonWriter w;
  w.BeginObject();
  w.Key("pool").Raw(allocator_->stats().ToJson());
  w.Key("pins_held").Uint(PinsHeld());
  w.Key("chunk_decodes_past_background").Uint(
      decodes_past_background_.load(std::memory_order_relaxed));
  uint64_t cached = 0;
  for (const CacheStats& c : {fragments_->stats(), pages_->stats(), chunks_->stats()}) {
    cached += c.usage_bytes;
  }
  // With no pins held, every segment in use is a cached one.
  w.Key("cached_bytes").Uint(cached);
  w.Key("caches").BeginArray();
  w.Raw(fragments_->stats().ToJson());
  w.Raw(pages_->stats().ToJson());
  w.Raw(chunks_->stats().ToJson());
  w.EndArray();
  w.EndObject();
  return w.str();
}

}  // namespace revfs
