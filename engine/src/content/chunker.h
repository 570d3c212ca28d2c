// Content-defined chunking (FastCDC, gear rolling hash with normalized
// chunking): cut points depend on the bytes around them, not on offsets, so
// inserting a byte into a file changes only the chunk(s) around the insert
// and every other chunk is found again — and stored once — by its hash.
//
// Thread safety: a Chunker is immutable after construction; FindCut may be
// called from any number of threads.
#ifndef REVFS_CONTENT_CHUNKER_H_
#define REVFS_CONTENT_CHUNKER_H_

#include <cstddef>
#include <cstdint>

#include "revfs/result.h"

namespace revfs {

struct ChunkerParams {
  size_t min_size = 256 * 1024;
  size_t avg_size = 1024 * 1024;  // a power of two
  size_t max_size = 4 * 1024 * 1024;
  Status Validate() const;
};

class Chunker {
 public:
  explicit Chunker(const ChunkerParams& params);

  const ChunkerParams& params() const { return params_; }
  // Returns the length of the chunk that starts at `data[0]`, given the next
  // `n` bytes. If `n` < max_size and more input follows, the caller must
  // supply at least max_size bytes (or all that remain) for a stable cut; a
  // return of `n` then means "no cut before the end of what was given".
  size_t FindCut(const uint8_t* data, size_t n) const;

 private:
  ChunkerParams params_;
  uint64_t mask_small_;  // harder to match: used before avg_size
  uint64_t mask_large_;  // easier to match: used after avg_size
};

}  // namespace revfs

#endif  // REVFS_CONTENT_CHUNKER_H_
