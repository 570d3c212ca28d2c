// Hashing: SHA-256 of bytes (HashBytes, Hasher; OpenSSL libcrypto, with the
// CPU's SHA extensions where it has them) into the identities Digest256
// (revfs/hash.h), their 32-byte encoding, and the 64-bit key identities are
// looked up by.
//
// Thread safety: free functions; a Hasher belongs to one thread.
// SetLookupKeyBitsForTest is for tests that run no concurrent writer.
#ifndef REVFS_UTIL_HASH_H_
#define REVFS_UTIL_HASH_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "revfs/hash.h"
#include "util/coding.h"

namespace revfs {

// Returns the SHA-256 of `bytes`.
Digest256 HashBytes(std::string_view bytes);

// Accumulates a SHA-256 over several pieces.
class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void Update(std::string_view bytes);
  void UpdateU64(uint64_t v);
  void Update(const Digest256& h);
  // Returns the digest of what was added; the Hasher is spent after it.
  Digest256 Digest();

 private:
  void* ctx_;  // EVP_MD_CTX
};

// Returns the key a digest is looked up by: its first word. A lookup only
// finds candidates; what decides reuse is the whole digest being equal.
uint64_t LookupKey(const Digest256& d);

// Test seam: keeps only the top `bits` (0..64; 64, the default, keeps all)
// of every LookupKey, so that a test finds distinct contents sharing a key
// by brute force and shows that nothing is reused on a shared key alone.
void SetLookupKeyBitsForTest(int bits);

// Returns the short digest (Digest256::IsShort) format 2 gave `bytes`: its
// XXH3-128, high then low word, little endian.
Digest256 ShortHashBytes(std::string_view bytes);
// Returns the digest of `bytes` in the kind `like` is: ShortHashBytes for a
// short digest, else HashBytes (checking what a digest names).
inline Digest256 HashBytesLike(const Digest256& like, std::string_view bytes) {
  return like.IsShort() ? ShortHashBytes(bytes) : HashBytes(bytes);
}

inline constexpr size_t kDigestSize = 32;
inline constexpr size_t kShortDigestSize = 16;  // format 2's identities
inline size_t DigestSizeOf(const Digest256& d) {
  return d.IsShort() ? kShortDigestSize : kDigestSize;
}
inline void PutHash(std::string* dst, const Digest256& h) {
  dst->append(reinterpret_cast<const char*>(h.bytes.data()), h.bytes.size());
}
// Reads a digest of `size` bytes: kDigestSize, or kShortDigestSize (format
// 2's, held as a short digest).
inline Digest256 GetHash(Decoder* in, size_t size = kDigestSize) {
  Digest256 h;
  std::string_view b = in->Fixed(size);
  if (b.size() == size) std::memcpy(h.bytes.data(), b.data(), size);
  return h;
}

}  // namespace revfs

#endif  // REVFS_UTIL_HASH_H_
