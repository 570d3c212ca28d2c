#include "content/chunker.h"

#include <array>
#include <bit>

namespace revfs {
namespace {

// The gear table: 256 pseudo-random 64-bit values, fixed forever (changing
// it changes every cut point and so defeats dedup against older revisions).
constexpr std::array<uint64_t, 256> MakeGear() {
  std::array<uint64_t, 256> gear{};
  uint64_t x = 0x7265766673636463ull;  // "revfscdc"
  for (auto& g : gear) {
    // splitmix64
    x += 0x9E3779B97F4A7C15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    g = z ^ (z >> 31);
  }
  return gear;
}
constexpr std::array<uint64_t, 256> kGear = MakeGear();

// A mask of `bits` one-bits in the high end of the word, where the gear hash
// holds the most history.
constexpr uint64_t HighMask(int bits) {
  return bits <= 0 ? 0 : (~uint64_t{0}) << (64 - bits);
}

}  // namespace

Status ChunkerParams::Validate() const {
  if (min_size < 64 || !std::has_single_bit(avg_size) || min_size >= avg_size ||
      avg_size >= max_size) {
    return Status::InvalidArgument(
        "chunk sizes: need 64 <= min < avg < max with avg a power of two");
  }
  return Status::OK();
}

Chunker::Chunker(const ChunkerParams& params) : params_(params) {
  const int bits = std::countr_zero(params.avg_size);
  // Normalized chunking (level 2): two bits harder before the average size,
  // two bits easier after it, which narrows the size distribution.
  mask_small_ = HighMask(bits + 2);
  mask_large_ = HighMask(bits - 2);
}

size_t Chunker::FindCut(const uint8_t* data, size_t n) const {
  if (n <= params_.min_size) return n;
  const size_t end = n < params_.max_size ? n : params_.max_size;
  const size_t normal = end < params_.avg_size ? end : params_.avg_size;
  uint64_t hash = 0;
  size_t i = params_.min_size;
  for (; i < normal; ++i) {
    hash = (hash << 1) + kGear[data[i]];
    if ((hash & mask_small_) == 0) return i + 1;
  }
  for (; i < end; ++i) {
    hash = (hash << 1) + kGear[data[i]];
    if ((hash & mask_large_) == 0) return i + 1;
  }
  return end;
}

}  // namespace revfs
