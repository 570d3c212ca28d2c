#include "records/page_loader.h"

#include <exception>
#include <new>
#include <string>
#include <vector>

#include "records/record_page.h"

namespace revfs {
namespace {

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

}  // namespace

PageLoader::PageLoader(const PageLog* log, SegmentAllocator* allocator, PageLoaderOptions options)
    : log_(log),
      allocator_(allocator),
      options_(std::move(options)),
      fragments_(std::make_unique<SegmentCache<uint64_t>>("fragments", allocator,
                                                          options_.fragment_cache_bytes)),
      pages_(std::make_unique<SegmentCache<uint64_t>>("pages", allocator,
                                                      options_.page_cache_bytes)) {}

PageLoader::~PageLoader() {
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
    return std::move(*hit).ToView();
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
    return std::move(*hit).ToView();
  }

  LeafRef whole;
  const LeafRef* chain = &leaf;
  if (!leaf.resolved()) {
    whole = leaf;
    REVFS_RETURN_IF_ERROR(ResolveChain(&whole));
    chain = &whole;
  }
  // Pin every fragment; the guards in `pins` release them on every return.
  std::vector<PinnedView> pins;
  std::vector<std::string_view> views;
  pins.reserve(chain->chain.size());
  views.reserve(chain->chain.size());
  for (const FragmentRef& f : chain->chain) {
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
  *combined = chain->chain.size();
  const size_t size = plan.OutputSize();
  // Readers index into the image by the offsets it holds: never past it.
  Status s = CombinedPage::Check(std::string_view(out.data(), size));
  if (!s.ok()) return s.WithContext(log_->path() + ": leaf at offset " + std::to_string(key));
  return CacheAndPin(*pages_, key, std::move(out), size, 0, kTagCombined);
}

Status PageLoader::CacheLeafImage(uint64_t key, Segment image, size_t size) {
  Status s = CombinedPage::Check(std::string_view(image.data(), size));
  if (!s.ok()) return s.WithContext(log_->path() + ": leaf at offset " + std::to_string(key));
  return CacheAndPin(*pages_, key, std::move(image), size, 0, kTagCombined).status();
}

Status PageLoader::CacheIndirect(uint64_t key, Segment page, size_t size) {
  auto parsed = IndirectPage::Parse(std::string_view(page.data(), size));
  if (!parsed.ok()) {
    return parsed.status().WithContext(log_->path() + ": indirect page at offset " +
                                       std::to_string(key));
  }
  return CacheAndPin(*pages_, key, std::move(page), size, 0, TagFor(PageKind::kIndirect)).status();
}

void PageLoader::Forget(uint64_t key) { (void)pages_->Erase(key); }

Status PageLoader::ResolveChain(LeafRef* leaf) {
  if (leaf->resolved()) return Status::OK();
  const FragmentRef newest = leaf->chain.front();
  REVFS_ASSIGN_OR_RETURN(PinnedView pin, Fragment(newest));
  FragmentView head;
  Status s = DecodeFragmentHead(pin.bytes(), &head);
  if (s.ok()) s = leaf->AppendTail(head.has_tail ? &head.tail : nullptr);
  if (!s.ok()) {
    return s.WithContext(log_->path() + ": leaf fragment at offset " +
                         std::to_string(newest.page.offset));
  }
  return Status::OK();
}

void PageLoader::Clear() {
  pages_->Clear();
  fragments_->Clear();
}

uint64_t PageLoader::PinsHeld() const {
  uint64_t held = 0;
  for (const CacheStats& s : stats()) held += s.pins_held;
  return held;
}

std::vector<CacheStats> PageLoader::stats() const {
  return {fragments_->stats(), pages_->stats()};
}

}  // namespace revfs
