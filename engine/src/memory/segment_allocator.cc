#include "memory/segment_allocator.h"

#include <sanitizer/asan_interface.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <new>

#include "revfs/json.h"

namespace revfs {

Segment& Segment::operator=(Segment&& other) noexcept {
  if (this != &other) {
    Reset();
    owner_ = std::exchange(other.owner_, nullptr);
    data_ = std::exchange(other.data_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
    size_class_ = std::exchange(other.size_class_, -1);
  }
  return *this;
}

void Segment::Reset() {
  if (data_) owner_->Release(data_, size_class_);
  owner_ = nullptr;
  data_ = nullptr;
  capacity_ = 0;
  size_class_ = -1;
}

int SegmentAllocator::ClassFor(size_t bytes) {
  size_t size = kMinSegmentSize;
  for (int c = 0; c < kSizeClasses; ++c, size <<= 1) {
    if (bytes <= size) return c;
  }
  return -1;
}

Result<std::unique_ptr<SegmentAllocator>> SegmentAllocator::Create(
    const AllocatorOptions& options) {
  if (options.budget_bytes < kMaxSegmentSize) {
    return Status::InvalidArgument("memory budget must be at least " +
                                   std::to_string(kMaxSegmentSize >> 20) + " MiB");
  }
  std::unique_ptr<SegmentAllocator> a(new SegmentAllocator(options));
  MutexLock lock(&a->mu_);  // not shared yet; held for the analysis's sake
  for (int c = 0; c < kSizeClasses; ++c) {
    const size_t size = kMinSegmentSize << c;
    // Enough address space for the whole budget in any one class; physical
    // pages are committed only when a segment is first written.
    const size_t reserved = (options.budget_bytes + size - 1) / size * size;
    // Classes of a huge page or more start on a huge-page boundary and ask
    // for huge pages: a chunk read into one then faults once, and the
    // kernel pins it for direct IO and copies out of it page table by page
    // table instead of 4 KiB page by page.
    const bool huge = size >= kHugePageSize;
    const size_t mapped = reserved + (huge ? kHugePageSize : 0);
    void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return Status::FromErrno(errno, "mmap of the segment pool");
    SizeClass& sc = a->classes_[c];
    sc.mapping = static_cast<char*>(p);
    sc.mapped = mapped;
    sc.base = sc.mapping;
    if (huge) {
      const uintptr_t at = reinterpret_cast<uintptr_t>(p);
      sc.base += (kHugePageSize - at % kHugePageSize) % kHugePageSize;
      (void)::madvise(sc.base, reserved, MADV_HUGEPAGE);  // a hint; refused is fine
    }
    sc.reserved = reserved;
  }
  return a;
}

SegmentAllocator::~SegmentAllocator() {
  for (SizeClass& sc : classes_) {
    if (sc.mapping) ::munmap(sc.mapping, sc.mapped);
  }
}

char* SegmentAllocator::TryTake(int c, bool* fresh) {
  const size_t size = kMinSegmentSize << c;
  if (in_use_ + size > options_.budget_bytes) return nullptr;
  SizeClass& sc = classes_[c];
  char* p = nullptr;
  *fresh = sc.warm.empty();
  if (!sc.warm.empty()) {
    p = sc.warm.back();
    sc.warm.pop_back();
  } else if (!sc.cold.empty()) {
    p = sc.cold.back();
    sc.cold.pop_back();
  } else if ((sc.carved + 1) * size <= sc.reserved) {
    // Room on the free lists for every segment carved, made now: Release
    // runs in destructors (Segment's, a cache entry's) and must not
    // allocate, or a std::bad_alloc there would terminate the process.
    if (sc.warm.capacity() < sc.carved + 1 || sc.cold.capacity() < sc.carved + 1) {
      const size_t room = std::max<size_t>(16, 2 * (sc.carved + 1));
      sc.warm.reserve(room);  // may throw std::bad_alloc: nothing changed yet
      sc.cold.reserve(room);
    }
    p = sc.base + sc.carved * size;
    ++sc.carved;
  } else {
    return nullptr;
  }
  in_use_ += size;
  ++allocations_;
  ASAN_UNPOISON_MEMORY_REGION(p, size);
  return p;
}

Result<Segment> SegmentAllocator::Allocate(size_t bytes, bool may_wait) {
  try {
    return AllocateOrThrow(bytes, may_wait);
  } catch (const std::bad_alloc&) {
    MutexLock lock(&mu_);
    ++failures_;
    return Status::ResourceExhausted("out of memory for the segment pool's free lists");
  }
}

Segment SegmentAllocator::HandOut(char* p, int c, size_t bytes, bool fresh) {
  const size_t size = kMinSegmentSize << c;
  // A huge-page class faults once per 2 MiB already. Populating is only
  // ever a saving: refused (an old kernel, no memory now), the pages fault
  // in on first touch as they would have.
  if (fresh && size < kHugePageSize) {
    const size_t populate = std::min(size, (bytes + kMinSegmentSize - 1) & ~(kMinSegmentSize - 1));
    if (::madvise(p, populate, MADV_POPULATE_WRITE) == 0) {
      populated_.fetch_add(populate / kMinSegmentSize, std::memory_order_relaxed);
    }
  }
  return Segment(this, p, c, size);
}

Result<Segment> SegmentAllocator::AllocateOrThrow(size_t bytes, bool may_wait) {
  const int c = ClassFor(std::max<size_t>(bytes, 1));
  if (c < 0) {
    return Status::InvalidArgument("segment of " + std::to_string(bytes) +
                                   " bytes exceeds the largest size class");
  }
  const size_t size = kMinSegmentSize << c;
  const auto deadline = std::chrono::steady_clock::now() + options_.release_wait;
  while (true) {
    const uint64_t seen = released_.load();
    for (int attempt = 0; attempt < 3; ++attempt) {
      size_t want = 0;
      bool fresh = false;
      char* p = nullptr;
      {
        MutexLock lock(&mu_);
        p = TryTake(c, &fresh);
        if (!p) {
          want = in_use_ + size - std::min(in_use_ + size, options_.budget_bytes);
          ++reclaim_calls_;
        }
      }
      if (p) return HandOut(p, c, bytes, fresh);
      // Ask the caches for memory without holding mu_: they give segments
      // back through Release, which takes it. reclaimers_mu_ keeps each
      // cache alive while it is asked.
      size_t freed = 0;
      {
        ReaderMutexLock reclaimers(&reclaimers_mu_);
        for (Reclaimer* r : reclaimers_) {
          if (freed >= want) break;
          freed += r->Reclaim(want - freed);
        }
      }
      if (freed == 0) break;
    }
    bool fresh = false;
    char* p = nullptr;
    bool timed_out = false;
    {
      MutexLock lock(&mu_);
      p = TryTake(c, &fresh);
      if (!p) {
        // What is left is pinned (or held) by other threads for the span
        // of their reads: wait for one to let go, then ask the caches again.
        if (!may_wait) {  // not counted as a failure: the caller does without
          return Status::ResourceExhausted("memory budget of " +
                                           std::to_string(options_.budget_bytes >> 20) +
                                           " MiB in use; not waited for");
        }
        timed_out = std::chrono::steady_clock::now() >= deadline;
        if (!timed_out) {
          ++waiters_;
          release_cv_.WaitUntil(&mu_, deadline, [&] { return released_.load() != seen; });
          --waiters_;
        }
      }
    }
    if (p) return HandOut(p, c, bytes, fresh);
    if (timed_out) break;
  }
  bool fresh = false;
  char* p = nullptr;
  {
    MutexLock lock(&mu_);
    p = TryTake(c, &fresh);
    if (!p) ++failures_;
  }
  if (p) return HandOut(p, c, bytes, fresh);
  MutexLock lock(&mu_);
  return Status::ResourceExhausted(
      "memory budget of " + std::to_string(options_.budget_bytes >> 20) + " MiB exhausted (" +
      std::to_string(in_use_ >> 20) + " MiB pinned or in use; asked for " +
      std::to_string(size >> 10) + " KiB, waited " +
      std::to_string(options_.release_wait.count()) + " ms for pins to be released)");
}

void SegmentAllocator::Release(char* data, int c) {
  const size_t size = kMinSegmentSize << c;
  // A released segment is off limits until handed out again: under
  // AddressSanitizer a read through a stale pointer (after an unpin) is
  // reported, where the mapped pool would return stale bytes silently.
  ASAN_POISON_MEMORY_REGION(data, size);
  MutexLock lock(&mu_);
  SizeClass& sc = classes_[c];
  in_use_ -= size;
  ++releases_;
  if (sc.warm.size() * size >= options_.keep_resident_bytes) {
    ::madvise(data, size, MADV_DONTNEED);
    sc.cold.push_back(data);
    ++madvised_;
  } else {
    sc.warm.push_back(data);
  }
  released_.fetch_add(1);
  if (waiters_.load() > 0) release_cv_.SignalAll();
}

void SegmentAllocator::NoteReclaimable() {
  released_.fetch_add(1);
  if (waiters_.load() > 0) {
    // Under mu_: a waiter checks released_ and starts waiting atomically
    // with respect to it, so this notification cannot fall in between.
    MutexLock lock(&mu_);
    release_cv_.SignalAll();
  }
}

void SegmentAllocator::AddReclaimer(Reclaimer* r) {
  WriterMutexLock lock(&reclaimers_mu_);
  reclaimers_.push_back(r);
}

void SegmentAllocator::RemoveReclaimer(Reclaimer* r) {
  WriterMutexLock lock(&reclaimers_mu_);
  reclaimers_.erase(std::remove(reclaimers_.begin(), reclaimers_.end(), r), reclaimers_.end());
}

AllocatorStats SegmentAllocator::stats() const {
  MutexLock lock(&mu_);
  AllocatorStats s;
  for (int c = 0; c < kSizeClasses; ++c) {
    const SizeClass& sc = classes_[c];
    SizeClassStats& out = s.classes[c];
    out.segment_size = kMinSegmentSize << c;
    out.total = sc.carved;
    out.free = sc.warm.size() + sc.cold.size();
    out.resident_free = sc.warm.size();
    s.bytes_reserved += sc.reserved;
    s.bytes_resident += (sc.carved - sc.cold.size()) * out.segment_size;
  }
  s.bytes_in_use = in_use_;
  s.budget_bytes = options_.budget_bytes;
  s.allocations = allocations_;
  s.releases = releases_;
  s.allocation_failures = failures_;
  s.reclaim_calls = reclaim_calls_;
  s.pages_returned_to_os = madvised_;
  s.pages_populated = populated_.load(std::memory_order_relaxed);
  return s;
}

bool AllocatorStats::Conserved() const {
  for (const SizeClassStats& c : classes) {
    if (c.free != c.total) return false;
  }
  return bytes_in_use == 0 && allocations == releases;
}

std::string AllocatorStats::ToJson() const {
  JsonWriter w;
  w.BeginObject();
  w.Key("budget_bytes").Uint(budget_bytes);
  w.Key("bytes_reserved").Uint(bytes_reserved);
  w.Key("bytes_in_use").Uint(bytes_in_use);
  w.Key("bytes_resident").Uint(bytes_resident);
  w.Key("allocations").Uint(allocations);
  w.Key("releases").Uint(releases);
  w.Key("allocation_failures").Uint(allocation_failures);
  w.Key("reclaim_calls").Uint(reclaim_calls);
  w.Key("pages_returned_to_os").Uint(pages_returned_to_os);
  w.Key("pages_populated").Uint(pages_populated);
  w.Key("conserved").Bool(Conserved());
  w.Key("classes").BeginArray();
  for (const SizeClassStats& c : classes) {
    if (c.total == 0) continue;
    w.BeginObject();
    w.Key("segment_size").Uint(c.segment_size);
    w.Key("total").Uint(c.total);
    w.Key("free").Uint(c.free);
    w.Key("resident_free").Uint(c.resident_free);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.str();
}

}  // namespace revfs
