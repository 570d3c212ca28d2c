// Hash128: an XXH3-128 content identity (of a chunk, a sorted-map block, a
// file or a directory). Fast, not collision-proof: wherever equal hashes
// would make revfs reuse stored bytes, the bytes are compared too.
//
// Thread safety: a value type.
#ifndef REVFS_HASH_H_
#define REVFS_HASH_H_

#include <cstdint>
#include <string>

namespace revfs {

struct Hash128 {
  uint64_t hi = 0, lo = 0;
  bool operator==(const Hash128&) const = default;
  bool IsZero() const { return hi == 0 && lo == 0; }
  // Returns 32 lowercase hex digits, hi first.
  std::string ToHex() const;
};

}  // namespace revfs

#endif  // REVFS_HASH_H_
