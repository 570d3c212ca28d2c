// StoreConfig: the choices made once at `revfs init` and kept in the store
// (in its superblock): the versioning approach and its window, and how
// content is compressed; with their names as the command line spells them.
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
  uint32_t window = 4;            // sliding snapshot: fragments per read
  uint32_t full_dump_every = 16;  // incremental/differential
  Compression compression = Compression::kZstd;
  int32_t compression_level = 3;

  // Returns InvalidArgument naming the field that is out of range.
  Status Validate() const;
};

const char* VersioningName(Versioning v);
Result<Versioning> ParseVersioning(std::string_view name);
// Returns "none" or "zstd:LEVEL".
std::string CompressionName(Compression c, int level);
// Parses "none", "zstd" or "zstd:LEVEL" into `config`.
Status ParseCompression(std::string_view text, StoreConfig* config);

}  // namespace revfs

#endif  // REVFS_STORE_CONFIG_H_
