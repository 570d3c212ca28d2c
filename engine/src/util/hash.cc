#include "util/hash.h"

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <cstdio>

namespace revfs {

Hash128 HashBytes(std::string_view bytes) {
  XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  return Hash128{h.high64, h.low64};
}

std::string Hash128::ToHex() const {
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(hi),
                static_cast<unsigned long long>(lo));
  return buf;
}

Hasher::Hasher() : state_(XXH3_createState()) {
  XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_));
}
Hasher::~Hasher() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

void Hasher::Update(std::string_view bytes) {
  XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), bytes.data(), bytes.size());
}
void Hasher::UpdateU64(uint64_t v) {
  char buf[8];
  EncodeFixed64(buf, v);
  Update(std::string_view(buf, 8));
}
void Hasher::Update(const Hash128& h) {
  UpdateU64(h.hi);
  UpdateU64(h.lo);
}
Hash128 Hasher::Digest() const {
  XXH128_hash_t h = XXH3_128bits_digest(static_cast<XXH3_state_t*>(state_));
  return Hash128{h.high64, h.low64};
}

}  // namespace revfs
