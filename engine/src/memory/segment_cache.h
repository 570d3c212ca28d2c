// SegmentCache: a sharded LRU cache of segments with a byte budget, and the
// pin guard through which every cached byte is read (Pinned inside the
// engine; handed over to the public PinnedView, revfs/memory.h, for
// callers).
//
// Every removal — eviction by size, explicit invalidation (Erase),
// replacement of a key, Clear, and destruction of the cache — goes through
// one path, Remove(), which counts the cause and drops the cache's reference.
// An entry that is still pinned is not freed then (and is never evicted by
// size): it is retired, and the last Pinned guard to go frees its segment.
//
// Each entry carries a reference count: one for being in the cache plus one
// per pin. Pins are taken under the shard lock (Lookup/Insert) and released
// without any lock; whoever drops the count to zero frees the entry, after
// every lock is released, so freeing never runs under a cache lock.
//
// Memory for the cache's own bookkeeping (an entry, a map node) is allocated
// before anything is detached, and removed entries are chained through the
// entries themselves: a std::bad_alloc leaves the cache as it was and loses
// no segment, and removal (Erase, Clear, eviction, destruction) never
// allocates, so it cannot fail or throw.
//
// Ownership: Pinned guards may outlive the cache but not the allocator.
// Thread safety: all methods are thread-safe. Lock order: one shard lock at a
// time; the allocator's lock is only taken (by freeing) with no shard lock.
#ifndef REVFS_MEMORY_SEGMENT_CACHE_H_
#define REVFS_MEMORY_SEGMENT_CACHE_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "memory/segment_allocator.h"
#include "revfs/memory.h"
#include "revfs/mutex.h"
#include "revfs/result.h"

namespace revfs {

enum class RemovalCause { kSize = 0, kInvalidate, kReplace, kClear, kClose };
inline constexpr int kRemovalCauses = 5;
const char* RemovalCauseName(RemovalCause cause);

struct CacheStats {
  std::string name;
  uint64_t capacity_bytes = 0;
  uint64_t usage_bytes = 0;
  uint64_t entries = 0;
  uint64_t pinned_entries = 0;
  std::array<uint64_t, kSizeClasses> cached_per_class{};
  std::array<uint64_t, kSizeClasses> pinned_per_class{};
  uint64_t hits = 0, misses = 0, inserts = 0;
  uint64_t pins_taken = 0, pins_released = 0;
  // Pins held now, from one counter: pins_taken - pins_released is not it
  // (the two are read apart, so a pin taken and released in between can
  // make the difference wrap).
  uint64_t pins_held = 0;
  std::array<uint64_t, kRemovalCauses> removals{};
  uint64_t retired_while_pinned = 0;
  uint64_t freed_at_last_unpin = 0;
  std::string ToJson() const;
};

// Counters shared by a cache and its entries (which may outlive it).
struct CacheCounters {
  std::atomic<uint64_t> hits{0}, misses{0}, inserts{0};
  std::atomic<uint64_t> pins_taken{0}, pins_released{0};
  // Up when a pin is taken, down when released. A pin's release follows its
  // taking in this one counter's order, so the count is never negative.
  std::atomic<int64_t> pins_held{0};
  std::array<std::atomic<uint64_t>, kRemovalCauses> removals{};
  std::atomic<uint64_t> retired_while_pinned{0}, freed_at_last_unpin{0};
};

namespace internal {

struct CacheEntryBase {
  Segment segment;
  size_t offset = 0;  // the cached bytes are segment[offset, offset + size)
  size_t size = 0;
  // What the bytes are, as the inserter said (e.g. a page kind): a cache
  // shared by kinds under one key space lets a reader check it on a hit.
  uint32_t tag = 0;
  std::atomic<uint32_t> refs{0};  // 1 while cached + 1 per pin
  bool cached = false;  // read and written only under its shard's mu (see Entry)
  std::shared_ptr<CacheCounters> counters;

  // Drops one reference; frees the entry when it was the last. Called with
  // no lock held. An unpin that leaves the entry alive may have made it
  // evictable: the allocator is told, for threads waiting for memory.
  void Unref(bool is_unpin) {
    // Read first: once the count drops, another thread may free the entry.
    SegmentAllocator* allocator = segment.allocator();
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      if (is_unpin) counters->freed_at_last_unpin.fetch_add(1, std::memory_order_relaxed);
      delete this;  // returns the segment to the allocator
    } else if (is_unpin && allocator) {
      allocator->NoteReclaimable();
    }
  }
  virtual ~CacheEntryBase() = default;
};

// Releases one pin on `entry` (Pinned and PinnedView): counts it and drops
// its reference, with no lock held.
inline void Unpin(CacheEntryBase* entry) {
  entry->counters->pins_released.fetch_add(1, std::memory_order_relaxed);
  entry->counters->pins_held.fetch_sub(1, std::memory_order_relaxed);
  entry->Unref(/*is_unpin=*/true);
}

}  // namespace internal

// A pin on a cached segment: the bytes stay valid and in memory until the
// guard is destroyed or reassigned. Move-only.
class [[nodiscard]] Pinned {
 public:
  Pinned() = default;
  Pinned(Pinned&& other) noexcept : entry_(std::exchange(other.entry_, nullptr)) {}
  Pinned& operator=(Pinned&& other) noexcept {
    if (this != &other) {
      Release();
      entry_ = std::exchange(other.entry_, nullptr);
    }
    return *this;
  }
  Pinned(const Pinned&) = delete;
  Pinned& operator=(const Pinned&) = delete;
  ~Pinned() { Release(); }

  explicit operator bool() const { return entry_ != nullptr; }
  // Returns the tag the entry was inserted with (0 when not pinned).
  uint32_t tag() const { return entry_ ? entry_->tag : 0; }
  std::string_view bytes() const {
    return entry_ ? std::string_view(entry_->segment.data() + entry_->offset, entry_->size) : std::string_view();
  }
  // Hands this pin over to a PinnedView (the public guard); this one is
  // left empty.
  PinnedView ToView() && {
    const std::string_view held = bytes();
    return PinnedView(std::exchange(entry_, nullptr), held);
  }

 private:
  template <typename K, typename H>
  friend class SegmentCache;
  explicit Pinned(internal::CacheEntryBase* entry) : entry_(entry) {}
  void Release() {
    if (entry_) internal::Unpin(std::exchange(entry_, nullptr));
  }

  internal::CacheEntryBase* entry_ = nullptr;
};

template <typename Key, typename Hash = std::hash<Key>>
class SegmentCache final : public Reclaimer {
 public:
  // Registers with `allocator` as a reclaimer; `capacity_bytes` bounds the
  // bytes of unpinned entries kept.
  SegmentCache(std::string name, SegmentAllocator* allocator, size_t capacity_bytes)
      : name_(std::move(name)), allocator_(allocator), capacity_(capacity_bytes) {
    for (Shard& s : shards_) s.head.next = s.head.prev = &s.head;
    allocator_->AddReclaimer(this);
  }
  ~SegmentCache() override {
    allocator_->RemoveReclaimer(this);
    RemoveAll(RemovalCause::kClose);
  }
  SegmentCache(const SegmentCache&) = delete;
  SegmentCache& operator=(const SegmentCache&) = delete;

  // Returns a pin on the entry for `key`, if cached.
  std::optional<Pinned> Lookup(const Key& key) {
    Shard& s = ShardFor(key);
    MutexLock lock(&s.mu);
    auto it = s.map.find(key);
    if (it == s.map.end()) {
      counters_->misses.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    Entry* e = it->second;
    e->refs.fetch_add(1, std::memory_order_relaxed);
    Unlink(e);
    LinkFront(s, e);
    counters_->hits.fetch_add(1, std::memory_order_relaxed);
    counters_->pins_taken.fetch_add(1, std::memory_order_relaxed);
    counters_->pins_held.fetch_add(1, std::memory_order_relaxed);
    return Pinned(e);
  }

  // Caches `segment` (of which `size` bytes from `offset` are used) under
  // `key`, tagged `tag`, and returns a pin on it; the whole segment is
  // charged. An entry
  // already under `key` is removed (cause: replace). Throws std::bad_alloc if
  // the entry or its map node cannot be allocated; the cache is then
  // unchanged and `segment` goes back to its allocator.
  Pinned Insert(const Key& key, Segment segment, size_t size, size_t offset = 0,
                uint32_t tag = 0) {
    // Owned by its references once cached; deleted by the last Unref.
    auto owned = std::make_unique<Entry>();
    Entry* e = owned.get();
    e->key = key;
    e->segment = std::move(segment);
    e->offset = offset;
    e->size = size;
    e->tag = tag;
    e->counters = counters_;
    e->refs.store(2, std::memory_order_relaxed);  // the cache's and the pin's
    Shard& s = ShardFor(key);
    Entry* replaced = nullptr;
    {
      MutexLock lock(&s.mu);
      // The map node is had (or reused) before the entry it replaces is
      // detached: a failed allocation then changes nothing.
      auto [it, inserted] = s.map.try_emplace(key, e);
      if (!inserted) {
        replaced = it->second;
        Detach(s, replaced, RemovalCause::kReplace, /*erase_from_map=*/false);
        it->second = e;
      }
      owned.release();
      e->cached = true;
      LinkFront(s, e);
      usage_.fetch_add(e->segment.capacity(), std::memory_order_relaxed);
    }
    if (replaced) replaced->Unref(false);
    counters_->inserts.fetch_add(1, std::memory_order_relaxed);
    counters_->pins_taken.fetch_add(1, std::memory_order_relaxed);
    counters_->pins_held.fetch_add(1, std::memory_order_relaxed);
    size_t usage = usage_.load(std::memory_order_relaxed);
    if (usage > capacity_) Evict(usage - capacity_, &s - shards_.data());
    return Pinned(e);
  }

  // Removes the entry for `key` (cause: invalidate); returns whether one was
  // cached. A pinned entry is retired and freed by its last unpin.
  bool Erase(const Key& key) {
    Shard& s = ShardFor(key);
    Entry* e = nullptr;
    {
      MutexLock lock(&s.mu);
      auto it = s.map.find(key);
      if (it == s.map.end()) return false;
      e = it->second;
      Detach(s, e, RemovalCause::kInvalidate, /*erase_from_map=*/true);
    }
    e->Unref(false);
    return true;
  }

  // Removes every entry (cause: clear).
  void Clear() { RemoveAll(RemovalCause::kClear); }

  // Evicts unpinned entries, least recently used first (cause: size).
  size_t Reclaim(size_t bytes) override { return Evict(bytes, 0); }

  CacheStats stats() const {
    CacheStats st;
    st.name = name_;
    st.capacity_bytes = capacity_;
    st.usage_bytes = usage_.load(std::memory_order_relaxed);
    for (const Shard& s : shards_) {
      MutexLock lock(&s.mu);
      for (const auto& [key, e] : s.map) {
        ++st.entries;
        ++st.cached_per_class[e->segment.size_class()];
        if (e->refs.load(std::memory_order_relaxed) > 1) {
          ++st.pinned_entries;
          ++st.pinned_per_class[e->segment.size_class()];
        }
      }
    }
    const CacheCounters& c = *counters_;
    st.hits = c.hits.load();
    st.misses = c.misses.load();
    st.inserts = c.inserts.load();
    // Released first: a pin is released after it is taken, so read in this
    // order taken >= released holds.
    st.pins_released = c.pins_released.load();
    st.pins_taken = c.pins_taken.load();
    st.pins_held = static_cast<uint64_t>(std::max<int64_t>(0, c.pins_held.load()));
    for (int i = 0; i < kRemovalCauses; ++i) st.removals[i] = c.removals[i].load();
    st.retired_while_pinned = c.retired_while_pinned.load();
    st.freed_at_last_unpin = c.freed_at_last_unpin.load();
    return st;
  }

  size_t capacity() const { return capacity_; }

 private:
  static constexpr size_t kShards = 16;

  struct Entry : internal::CacheEntryBase {
    Key key{};
    // The LRU list and `cached`: guarded by the mu of the entry's shard,
    // which the analysis cannot name from here (an entry does not point to
    // its shard); only code holding that Shard's mu touches them.
    Entry* prev = nullptr;
    Entry* next = nullptr;
    // Once detached: the next entry removed in the same pass, so that a
    // removal collects what it frees without allocating.
    Entry* removed_next = nullptr;
  };
  struct Shard {
    mutable Mutex mu;
    std::unordered_map<Key, Entry*, Hash> map GUARDED_BY(mu);
    Entry head GUARDED_BY(mu);  // LRU sentinel: head.next is newest
  };

  Shard& ShardFor(const Key& key) { return shards_[Hash{}(key) % kShards]; }
  static void Unlink(Entry* e) {
    e->prev->next = e->next;
    e->next->prev = e->prev;
  }
  static void LinkFront(Shard& s, Entry* e) REQUIRES(s.mu) {
    e->next = s.head.next;
    e->prev = &s.head;
    s.head.next->prev = e;
    s.head.next = e;
  }

  // The one removal path: takes `e` out of the cache (shard lock held) and
  // counts why. The caller drops the cache's reference after unlocking.
  // Never allocates. `erase_from_map` is false when the caller reuses e's
  // map node for its replacement.
  void Detach(Shard& s, Entry* e, RemovalCause cause, bool erase_from_map) REQUIRES(s.mu) {
    if (erase_from_map) s.map.erase(e->key);
    Unlink(e);
    e->cached = false;
    usage_.fetch_sub(e->segment.capacity(), std::memory_order_relaxed);
    counters_->removals[static_cast<int>(cause)].fetch_add(1, std::memory_order_relaxed);
    if (e->refs.load(std::memory_order_relaxed) > 1) {
      counters_->retired_while_pinned.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // Drops the cache's reference to each entry of a chain built by Detach's
  // callers; called with no lock held.
  static void UnrefChain(Entry* chain) {
    while (chain) {
      Entry* next = chain->removed_next;
      chain->Unref(false);
      chain = next;
    }
  }

  void RemoveAll(RemovalCause cause) {
    for (Shard& s : shards_) {
      Entry* removed = nullptr;
      {
        MutexLock lock(&s.mu);
        while (s.head.next != &s.head) {
          Entry* e = s.head.next;
          Detach(s, e, cause, /*erase_from_map=*/true);
          e->removed_next = removed;
          removed = e;
        }
      }
      UnrefChain(removed);
    }
  }

  // Evicts unpinned entries, oldest first, shard by shard from `start`,
  // until `bytes` were freed; returns the bytes freed.
  size_t Evict(size_t bytes, size_t start) {
    size_t freed = 0;
    for (size_t k = 0; k < kShards && freed < bytes; ++k) {
      Shard& s = shards_[(start + k) % kShards];
      Entry* removed = nullptr;
      {
        MutexLock lock(&s.mu);
        for (Entry* e = s.head.prev; e != &s.head && freed < bytes;) {
          Entry* older = e->prev;
          // refs == 1: only the cache holds it. Pins are taken only under
          // this lock, so it cannot become pinned meanwhile.
          if (e->refs.load(std::memory_order_acquire) == 1) {
            freed += e->segment.capacity();
            Detach(s, e, RemovalCause::kSize, /*erase_from_map=*/true);
            e->removed_next = removed;
            removed = e;
          }
          e = older;
        }
      }
      UnrefChain(removed);
    }
    return freed;
  }

  const std::string name_;
  SegmentAllocator* const allocator_;
  const size_t capacity_;
  std::array<Shard, kShards> shards_;
  std::atomic<size_t> usage_{0};
  std::shared_ptr<CacheCounters> counters_ = std::make_shared<CacheCounters>();
};

// Caches `segment` under `key` (see SegmentCache::Insert) and returns it
// pinned. Insert throws std::bad_alloc when its bookkeeping cannot be
// allocated (leaving the cache unchanged and the segment returned); no
// exception leaves the engine, so it becomes ResourceExhausted here.
template <typename Key, typename Hash>
Result<PinnedView> CacheAndPin(SegmentCache<Key, Hash>& cache, const Key& key, Segment segment,
                               size_t size, size_t offset = 0, uint32_t tag = 0) {
  try {
    return cache.Insert(key, std::move(segment), size, offset, tag).ToView();
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory caching a page");
  }
}

// A 128-bit key (content hashes of chunks).
struct Key128 {
  uint64_t hi = 0, lo = 0;
  bool operator==(const Key128&) const = default;
};
struct Key128Hash {
  size_t operator()(const Key128& k) const { return static_cast<size_t>(k.lo ^ (k.hi * 0x9E3779B97F4A7C15ull)); }
};

}  // namespace revfs

#endif  // REVFS_MEMORY_SEGMENT_CACHE_H_
