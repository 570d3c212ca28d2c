// Retention pages (kind 6): what a store has let go of and what it protects.
//
// The retention page in force is named by the superblock (Superblock::
// retention); each forget, hold or release appends a new one and switches
// the superblock to it (store/store_retention.cc). RetentionState is
// defined in revfs/store.h.
//
// Payload (engine/FORMAT.md, format 3, "Retention state"):
//   range count varint | count x { first varint | count varint }
//   hold count varint  | count x { revision varint | tag length u8 | tag }
//   segment count varint | count x { segment varint | live bytes varint }
// Ranges are sorted, disjoint and never adjacent (adjacent ones are merged),
// holds and segments sorted and unique; a payload breaking that is
// Corruption, never read as another state.
//
// Thread safety: pure functions and value types.
#ifndef REVFS_STORE_RETENTION_H_
#define REVFS_STORE_RETENTION_H_

#include <string>
#include <string_view>

#include "revfs/result.h"
#include "revfs/store.h"

namespace revfs {

std::string EncodeRetention(const RetentionState& state);
Result<RetentionState> DecodeRetention(std::string_view payload);

}  // namespace revfs

#endif  // REVFS_STORE_RETENTION_H_
