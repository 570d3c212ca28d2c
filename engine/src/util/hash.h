// Hash128: XXH3-128 content identities (chunks, sorted-map blocks, files and
// directories). Fast, not collision-proof: wherever equal hashes would make
// revfs reuse stored bytes, the bytes are compared too.
#ifndef REVFS_UTIL_HASH_H_
#define REVFS_UTIL_HASH_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "util/coding.h"

namespace revfs {

struct Hash128 {
  uint64_t hi = 0, lo = 0;
  bool operator==(const Hash128&) const = default;
  bool IsZero() const { return hi == 0 && lo == 0; }
  std::string ToHex() const;
};

Hash128 HashBytes(std::string_view bytes);

// Accumulates a hash over several pieces.
class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void Update(std::string_view bytes);
  void UpdateU64(uint64_t v);
  void Update(const Hash128& h);
  Hash128 Digest() const;

 private:
  void* state_;  // XXH3_state_t
};

inline constexpr size_t kHash128Size = 16;
inline void PutHash(std::string* dst, const Hash128& h) {
  PutFixed64(dst, h.hi);
  PutFixed64(dst, h.lo);
}
inline Hash128 GetHash(Decoder* in) {
  Hash128 h;
  h.hi = in->U64();
  h.lo = in->U64();
  return h;
}

}  // namespace revfs

#endif  // REVFS_UTIL_HASH_H_
