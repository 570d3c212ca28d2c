// Revisions: the revision root page and the revisions index.
//
// A revision root (a page of kind kRevisionRoot) holds the revision's number,
// commit time, message, the root of its record trie and named counters (pages
// and bytes written, files, ...). The revisions index (STORE/revisions) holds
// one fixed-size, checksummed entry per revision, entry N at N * kEntrySize,
// so revision N opens in O(1) and "newest revision at or before time T" is a
// binary search over non-decreasing times.
#ifndef REVFS_STORE_REVISION_H_
#define REVFS_STORE_REVISION_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "store/page.h"
#include "revfs/result.h"

namespace revfs {

struct RevisionRoot {
  uint64_t number = 0;
  int64_t time_ns = 0;
  std::string message;
  PageRef tree_root;  // of the record trie; null for an empty trie
  uint32_t tree_height = 0;  // levels of indirect pages above the leaves
  std::vector<std::pair<std::string, uint64_t>> counters;

  // Returns the named counter, or 0 when absent.
  uint64_t Counter(std::string_view name) const;
};

std::string EncodeRevisionRoot(const RevisionRoot& root);
Result<RevisionRoot> DecodeRevisionRoot(std::string_view payload);

struct RevisionEntry {
  uint64_t number = 0;
  int64_t time_ns = 0;
  PageRef root;
};

inline constexpr size_t kRevisionEntrySize = 48;
std::string EncodeRevisionEntry(const RevisionEntry& e);
// `bytes` must be kRevisionEntrySize long; Corruption if its checksum fails.
Result<RevisionEntry> DecodeRevisionEntry(std::string_view bytes);

}  // namespace revfs

#endif  // REVFS_STORE_REVISION_H_
