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

inline constexpr size_t kDigestSize = 32;
inline void PutHash(std::string* dst, const Digest256& h) {
  dst->append(reinterpret_cast<const char*>(h.bytes.data()), h.bytes.size());
}
inline Digest256 GetHash(Decoder* in) {
  Digest256 h;
  std::string_view b = in->Fixed(kDigestSize);
  if (b.size() == kDigestSize) std::memcpy(h.bytes.data(), b.data(), kDigestSize);
  return h;
}

}  // namespace revfs

#endif  // REVFS_UTIL_HASH_H_
