// Chunk compression: zstd at a configured level, or none. A chunk that does
// not shrink (random or already compressed data) is stored raw, so reading it
// back costs a copy, not a decompression. A chunk of an edited file may be
// compressed against the chunk it replaces (zstd with that chunk as a
// reference prefix): the stored bytes are then little more than the edit.
//
// Thread safety: free functions; each call uses its own zstd context.
#ifndef REVFS_CONTENT_COMPRESSION_H_
#define REVFS_CONTENT_COMPRESSION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/hash.h"
#include "store/page.h"
#include "revfs/result.h"
#include "revfs/store_config.h"

namespace revfs {

class PageLog;

// How a chunk's bytes are stored (the first byte of a chunk page payload).
enum class ChunkEncoding : uint8_t { kRaw = 0, kZstd = 1, kZstdDelta = 2 };

// Delta chains are bounded: a chunk whose base is this deep is stored whole.
inline constexpr uint8_t kMaxDeltaDepth = 8;

// Returns the stored form of `raw`: zstd-compressed when the store compresses
// and that saves space, raw otherwise; `*encoding` says which. With a
// non-empty `base`, compresses against it (kZstdDelta) when that saves space.
std::string CompressChunk(const StoreConfig& config, std::string_view raw,
                          ChunkEncoding* encoding, std::string_view base = {});

// Decompresses `stored` into `dst`, which has room for exactly `raw_size`
// bytes; a kZstdDelta chunk needs the bytes of its `base`. Corruption if the
// data does not decode to exactly `raw_size` bytes.
Status DecompressChunk(ChunkEncoding encoding, std::string_view stored, char* dst,
                       size_t raw_size, std::string_view base = {});

// A chunk page's payload: encoding u8 | raw size u32 | SHA-256 of the raw
// bytes (32) | for kZstdDelta: the base chunk's SHA-256, page and size | the
// stored bytes. Format 2's page (named by a short digest) has 16-byte
// XXH3-128 digests in both places; a format-3 delta's base digest may be
// short (a format-2 base).
struct ChunkPageHeader {
  ChunkEncoding encoding = ChunkEncoding::kRaw;
  uint32_t raw_size = 0;
  Digest256 hash;
  Digest256 base_hash;
  PageRef base_page;
  uint32_t base_size = 0;
};
std::string EncodeChunkPage(const ChunkPageHeader& header, std::string_view stored);
// Splits a chunk page payload whose digests are `digest_size` bytes
// (DigestSizeOf the digest naming it); `body` points into `payload`.
Status DecodeChunkPage(std::string_view payload, size_t digest_size, ChunkPageHeader* header,
                       std::string_view* body);

// The base a delta's page names: its page and the size of the digest
// naming it (DigestSizeOf), read from the header of the chunk page at
// `page`, itself named by a digest of `digest_size` bytes; nullopt when
// that page is stored whole. One step of a walk down a delta chain.
struct ChunkBase {
  PageRef page;
  size_t digest_size = 0;
};
Result<std::optional<ChunkBase>> ChunkBaseOf(const PageLog& pages, const PageRef& page,
                                             size_t digest_size);

}  // namespace revfs

#endif  // REVFS_CONTENT_COMPRESSION_H_
