// XattrCache: the extended-attribute lists last read from blobs (attributes
// too large for their inode record, engine/FORMAT.md), so that getfattr -d
// of a file with many attributes — a listxattr and two getxattr per name —
// reads and decodes its blob once, not once per request. A blob is named by
// its size and SHA-256, which never name other bytes in one store, so an entry
// never goes stale. Bounded by kMaxEntries lists and kMaxBytes of
// attribute bytes, oldest dropped first; a list larger than kMaxBytes is
// not kept. The lists are plain heap memory derived from chunks (which the
// chunk cache holds in segments), handed out as shared pointers: a reader
// keeps its list while the cache drops it.
//
// Thread safety: Get and Put may be called from any thread.
#ifndef REVFS_FUSEFS_XATTR_CACHE_H_
#define REVFS_FUSEFS_XATTR_CACHE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <utility>

#include "revfs/inode.h"
#include "revfs/mutex.h"
#include "revfs/thread_annotations.h"

namespace revfs::fusefs {

class XattrCache {
 public:
  static constexpr size_t kMaxEntries = 16;
  static constexpr uint64_t kMaxBytes = 64u << 20;

  // The list of the blob (`size`, `hash`), or null.
  std::shared_ptr<const XattrList> Get(uint64_t size, const Digest256& hash) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    for (const Entry& e : entries_) {
      if (e.size == size && e.hash == hash) return e.list;
    }
    return nullptr;
  }

  void Put(uint64_t size, const Digest256& hash, std::shared_ptr<const XattrList> list)
      EXCLUDES(mu_) {
    if (size > kMaxBytes) return;
    MutexLock lock(&mu_);
    for (const Entry& e : entries_) {
      if (e.size == size && e.hash == hash) return;  // another reader was first
    }
    entries_.push_back({size, hash, std::move(list)});
    bytes_ += size;
    while (entries_.size() > kMaxEntries || bytes_ > kMaxBytes) {
      bytes_ -= entries_.front().size;
      entries_.pop_front();
    }
  }

 private:
  struct Entry {
    uint64_t size;
    Digest256 hash;
    std::shared_ptr<const XattrList> list;
  };
  Mutex mu_;
  std::deque<Entry> entries_ GUARDED_BY(mu_);  // oldest first
  uint64_t bytes_ GUARDED_BY(mu_) = 0;
};

}  // namespace revfs::fusefs

#endif  // REVFS_FUSEFS_XATTR_CACHE_H_
