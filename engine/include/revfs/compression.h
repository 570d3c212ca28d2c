// Chunk compression: zstd at a configured level, or none. A chunk that does
// not shrink (random or already compressed data) is stored raw, so reading it
// back costs a copy, not a decompression.
//
// Thread safety: free functions; each call uses its own zstd context.
#ifndef REVFS_COMPRESSION_H_
#define REVFS_COMPRESSION_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "revfs/result.h"
#include "revfs/store_config.h"

namespace revfs {

// How a chunk's bytes are stored (the first byte of a chunk page payload).
enum class ChunkEncoding : uint8_t { kRaw = 0, kZstd = 1 };

// Returns the stored form of `raw`: zstd-compressed when the store compresses
// and that saves space, raw otherwise; `*encoding` says which.
std::string CompressChunk(const StoreConfig& config, std::string_view raw,
                          ChunkEncoding* encoding);

// Decompresses `stored` into `dst`, which has room for exactly `raw_size`
// bytes. Corruption if the data does not decode to exactly `raw_size` bytes.
Status DecompressChunk(ChunkEncoding encoding, std::string_view stored, char* dst,
                       size_t raw_size);

}  // namespace revfs

#endif  // REVFS_COMPRESSION_H_
