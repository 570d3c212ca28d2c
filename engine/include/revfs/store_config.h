// StoreConfig: the choices made once at `revfs init` and kept in the store
// (in its superblock): the versioning approach and its window, how content
// is compressed and how big a segment of the page log grows; with their
// names as the command line spells them.
//
// Thread safety: value types and free functions.
#ifndef REVFS_STORE_CONFIG_H_
#define REVFS_STORE_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "revfs/result.h"

namespace revfs {

// How a changed record page is written (see DESIGN.md, "Record pages and
// fragments").
enum class Versioning : uint8_t {
  kFull = 0,
  kIncremental = 1,
  kDifferential = 2,
  kSliding = 3,
};

enum class Compression : uint8_t {
  kNone = 0,
  kZstd = 1,
};

struct StoreConfig {
  Versioning versioning = Versioning::kSliding;
  // Sliding snapshot: fragments per read. 8, not 4: a touched leaf carries
  // 1/W of its live records, and since a level-1 page names a leaf by its
  // newest fragment alone a longer chain costs its siblings nothing
  // (tests/bench/results/small_commits.md).
  uint32_t window = 8;
  uint32_t full_dump_every = 16;  // incremental/differential
  Compression compression = Compression::kZstd;
  int32_t compression_level = 3;
  // The page log rolls to a new segment file when the next page would take
  // the current one past this (engine/FORMAT.md, "Segments").
  uint64_t segment_size = kDefaultSegmentSize;

  static constexpr uint64_t kDefaultSegmentSize = 128ull << 20;
  static constexpr uint64_t kMinSegmentSize = 64ull << 10;
  static constexpr uint64_t kMaxSegmentSize = 1ull << 40;

  // Returns InvalidArgument naming the field that is out of range.
  Status Validate() const;
};

const char* VersioningName(Versioning v);
Result<Versioning> ParseVersioning(std::string_view name);
// Returns "none" or "zstd:LEVEL".
std::string CompressionName(Compression c, int level);
// Parses "none", "zstd" or "zstd:LEVEL" into `config`.
Status ParseCompression(std::string_view text, StoreConfig* config);
// Parses a segment size: bytes, or a number with a suffix K, M, G or T
// (powers of 1024, an optional "iB"), into `config->segment_size`, and
// checks its range.
Status ParseSegmentSize(std::string_view text, StoreConfig* config);
// Returns a size the way ParseSegmentSize reads it ("128MiB", "65536").
std::string SegmentSizeName(uint64_t bytes);

}  // namespace revfs

#endif  // REVFS_STORE_CONFIG_H_
