// Digest256: the SHA-256 identity of a chunk's bytes, a sorted-map block, a
// file's or a directory's version (engine/FORMAT.md, "Identity no input can
// fool"). Every reuse decision compares whole digests: equal digests are
// taken as equal bytes, without reading anything back. Lookups (chunk index
// runs, the recent-chunk log, a map writer's table of old blocks) go by a
// 64-bit key of the digest and only find candidates; cache keys and st_ino
// take words of it. XXH3 stays for page checksums.
//
// Thread safety: a value type.
#ifndef REVFS_HASH_H_
#define REVFS_HASH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace revfs {

struct Digest256 {
  std::array<uint8_t, 32> bytes{};
  bool operator==(const Digest256&) const = default;
  bool IsZero() const { return *this == Digest256{}; }
  // A format-2 identity (engine/FORMAT.md, "Format-2 content in a format-3
  // store"): its 16 bytes, then 16 zero bytes, which no SHA-256 has (but
  // with chance 2^-128). What a short digest names is format 2's encoding.
  bool IsShort() const { return Word(2) == 0 && Word(3) == 0 && !IsZero(); }
  // Returns bytes [8 i, 8 i + 8) as a big-endian number (i < 4).
  uint64_t Word(size_t i) const {
    uint64_t v = 0;
    for (size_t k = 0; k < 8; ++k) v = (v << 8) | bytes[8 * i + k];
    return v;
  }
  // Returns the digest whose words are w0..w3 (tests, fixed values).
  static Digest256 FromWords(uint64_t w0, uint64_t w1, uint64_t w2 = 0, uint64_t w3 = 0) {
    Digest256 d;
    const uint64_t w[4] = {w0, w1, w2, w3};
    for (size_t i = 0; i < 4; ++i) {
      for (size_t k = 0; k < 8; ++k) d.bytes[8 * i + k] = static_cast<uint8_t>(w[i] >> (56 - 8 * k));
    }
    return d;
  }
  // Returns 64 lowercase hex digits.
  std::string ToHex() const;
};

}  // namespace revfs

#endif  // REVFS_HASH_H_
