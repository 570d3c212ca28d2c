// Identity hashes compared, one thread (GB/s per core), on 1 MiB and 4 KiB
// buffers: SHA-256 through OpenSSL's EVP (SHA extensions when the CPU has
// them), BLAKE2b-256 (libb2; measured only, no runtime dependency), and
// XXH3-128 plus the read-back that its hits needed: the stored copy hashed
// again (the chunk loader's check of a decoded chunk) and compared byte for
// byte. The read-back here is from memory: a lower bound that leaves out
// the page read and the decompression a real hit paid. Run by
// tests/bench/identity_bench.sh; figures in engine/FORMAT.md.
#include <openssl/evp.h>
#ifdef REVFS_HAVE_B2
#include <blake2.h>
#endif
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

volatile uint64_t sink;

// Runs `fn` over `buf` for at least `seconds`; returns GB/s (10^9 bytes).
double Rate(const std::string& buf, const std::function<void()>& fn, double seconds) {
  using Clock = std::chrono::steady_clock;
  uint64_t rounds = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  do {
    for (int i = 0; i < 16; ++i) fn();
    rounds += 16;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  return static_cast<double>(rounds) * static_cast<double>(buf.size()) / elapsed / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  std::mt19937_64 rng(42);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::printf("%-28s %10s %10s\n", "identity", "1 MiB", "4 KiB");
  struct Row {
    const char* name;
    std::function<void(const std::string&, const std::string&)> fn;
  };
  std::vector<Row> rows = {
      {"SHA-256 (OpenSSL EVP)",
       [&](const std::string& b, const std::string&) {
         unsigned char out[32];
         unsigned int n = 0;
         EVP_DigestInit_ex(ctx, sha256, nullptr);
         EVP_DigestUpdate(ctx, b.data(), b.size());
         EVP_DigestFinal_ex(ctx, out, &n);
         sink = sink + out[0];
       }},
#ifdef REVFS_HAVE_B2
      {"BLAKE2b-256 (libb2)",
       [&](const std::string& b, const std::string&) {
         unsigned char out[32];
         blake2b(out, b.data(), nullptr, 32, b.size(), 0);
         sink = sink + out[0];
       }},
#endif
      {"XXH3-128 (hash only)",
       [&](const std::string& b, const std::string&) {
         sink = sink + XXH3_128bits(b.data(), b.size()).low64;
       }},
      {"XXH3-128 + read-back",
       [&](const std::string& b, const std::string& stored) {
         XXH128_hash_t h = XXH3_128bits(b.data(), b.size());
         XXH128_hash_t s = XXH3_128bits(stored.data(), stored.size());
         sink = sink + (XXH128_isEqual(h, s) && std::memcmp(b.data(), stored.data(), b.size()) == 0);
       }},
  };
  for (const Row& row : rows) {
    double rates[2];
    const size_t sizes[2] = {1u << 20, 4096};
    for (int i = 0; i < 2; ++i) {
      std::string buf(sizes[i], '\0');
      for (char& c : buf) c = static_cast<char>(rng());
      const std::string stored = buf;  // the copy a hit reads back
      rates[i] = Rate(buf, [&] { row.fn(buf, stored); }, seconds);
    }
    std::printf("%-28s %7.2f GB/s %7.2f GB/s\n", row.name, rates[0], rates[1]);
  }
  EVP_MD_free(sha256);
  EVP_MD_CTX_free(ctx);
  return 0;
}
