// Revisions: the revision root page and the revisions index.
//
// A revision root (a page of kind kRevisionRoot) holds the revision's number,
// commit time, message, the root of its record trie and named counters (pages
// and bytes written, files, ...). Payload (format 2): number u64 | time u64 |
// message (u32 length) | trie root PageRef | trie height u32 | counter count
// u32 | count x { name length u8 | name | value varint }.
//
// The revisions index (STORE/revisions) holds one fixed-size, checksummed entry per revision, entry N at N * kEntrySize,
// so revision N opens in O(1) and "newest revision at or before time T" is a
// binary search over non-decreasing times.
#ifndef REVFS_STORE_REVISION_H_
#define REVFS_STORE_REVISION_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "revfs/result.h"
#include "revfs/store.h"
#include "store/page.h"

namespace revfs {

// RevisionRoot and RevisionEntry are defined in revfs/store.h.

std::string EncodeRevisionRoot(const RevisionRoot& root);
Result<RevisionRoot> DecodeRevisionRoot(std::string_view payload);

inline constexpr size_t kRevisionEntrySize = 48;
std::string EncodeRevisionEntry(const RevisionEntry& e);
// `bytes` must be kRevisionEntrySize long; Corruption if its checksum fails.
Result<RevisionEntry> DecodeRevisionEntry(std::string_view bytes);

}  // namespace revfs

#endif  // REVFS_STORE_REVISION_H_
