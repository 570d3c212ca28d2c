#include "util/hash.h"

#include <openssl/evp.h>
#include <xxhash.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <new>

namespace revfs {
namespace {

// SHA-256 fetched once: EVP_sha256() would look the implementation up again
// on every digest, which costs as much as hashing a small chunk.
const EVP_MD* Sha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) throw std::bad_alloc();
  return md;
}

EVP_MD_CTX* NewContext() {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, Sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    throw std::bad_alloc();
  }
  return ctx;
}

Digest256 Final(EVP_MD_CTX* ctx) {
  Digest256 d;
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx, d.bytes.data(), &n) != 1 || n != kDigestSize) {
    throw std::bad_alloc();
  }
  return d;
}

std::atomic<int> lookup_key_bits{64};

}  // namespace

Digest256 ShortHashBytes(std::string_view bytes) {
  const XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  Digest256 d;
  EncodeFixed64(reinterpret_cast<char*>(d.bytes.data()), h.high64);
  EncodeFixed64(reinterpret_cast<char*>(d.bytes.data()) + 8, h.low64);
  return d;
}

Digest256 HashBytes(std::string_view bytes) {
  struct Free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  // One context per thread, reset for every digest.
  thread_local std::unique_ptr<EVP_MD_CTX, Free> ctx(NewContext());
  if (EVP_DigestInit_ex(ctx.get(), Sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1) {
    throw std::bad_alloc();
  }
  return Final(ctx.get());
}

std::string Digest256::ToHex() const {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(64);
  for (uint8_t b : bytes) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

Hasher::Hasher() : ctx_(NewContext()) {}
Hasher::~Hasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Hasher::Update(std::string_view bytes) {
  if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size()) != 1) {
    throw std::bad_alloc();
  }
}
void Hasher::UpdateU64(uint64_t v) {
  char buf[8];
  EncodeFixed64(buf, v);
  Update(std::string_view(buf, 8));
}
void Hasher::Update(const Digest256& h) {
  Update(std::string_view(reinterpret_cast<const char*>(h.bytes.data()), h.bytes.size()));
}
Digest256 Hasher::Digest() { return Final(static_cast<EVP_MD_CTX*>(ctx_)); }

uint64_t LookupKey(const Digest256& d) {
  const int bits = lookup_key_bits.load(std::memory_order_relaxed);
  if (bits >= 64) return d.Word(0);
  if (bits <= 0) return 0;
  return d.Word(0) & ~(~uint64_t{0} >> bits);
}

void SetLookupKeyBitsForTest(int bits) { lookup_key_bits.store(bits, std::memory_order_relaxed); }

}  // namespace revfs
