// ListingCursors: where listings of a revision's directories resume.
//
// Nothing of a listing is held between readdir requests: a request from
// position P resumes after the name of the entry before P, remembered here
// as (directory node, P) -> name by the request that ended at P. At most
// kCursorsMax positions are remembered, the oldest pushed out first; a
// position no longer remembered is found by counting from the start. Node
// ids are never reused, so a cursor of a forgotten node is never wrong,
// only unused until pushed out.
//
// Thread safety: every method may be called from any thread (one mutex).
#ifndef REVFS_FUSEFS_LISTING_CURSORS_H_
#define REVFS_FUSEFS_LISTING_CURSORS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

#include "revfs/mutex.h"
#include "revfs/thread_annotations.h"

namespace revfs::fusefs {

// Listing positions: "." is 0, ".." 1, and the entries follow from here on.
inline constexpr uint64_t kFirstEntryPosition = 2;

class ListingCursors {
 public:
  // Positions remembered at most: one name each, so memory stays bounded
  // however many passes run or stop early; a pass whose position was pushed
  // out only costs a count from the start.
  static constexpr size_t kCursorsMax = 4096;

  // Returns the name before position `offset` of directory node `node`, if
  // remembered.
  std::optional<std::string> Find(uint64_t node, uint64_t offset) EXCLUDES(mu_);
  // Remembers that position `offset` of directory node `node` follows
  // `name`.
  void Remember(uint64_t node, uint64_t offset, const std::string& name) EXCLUDES(mu_);

 private:
  struct Key {
    uint64_t node, offset;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };

  Mutex mu_;
  std::unordered_map<Key, std::string, KeyHash> names_ GUARDED_BY(mu_);
  std::deque<Key> order_ GUARDED_BY(mu_);  // oldest first
};

}  // namespace revfs::fusefs

#endif  // REVFS_FUSEFS_LISTING_CURSORS_H_
