// File content: chunks stored once per store, and reading byte ranges.
//
// A chunk is identified by the XXH3-128 of its bytes. The chunk index (record
// 3 << 60 | top 16 bits of the hash) lists the chunks stored under that
// prefix; a hash hit is reused only after its stored bytes compared equal
// (XXH3 is fast, not collision-proof). A file's chunk list is found by binary
// search (inline list or the sorted map keyed by offset), so reading any
// byte range costs O(log n) record loads plus the chunks it touches.
#ifndef REVFS_TREE_FILE_CHUNKS_H_
#define REVFS_TREE_FILE_CHUNKS_H_

#include <functional>
#include <optional>
#include <string_view>

#include "content/compression.h"
#include "revfs/database.h"
#include "revfs/inode.h"

namespace revfs {

struct ContentStats {
  uint64_t chunks_new = 0;
  uint64_t chunks_reused = 0;
  uint64_t bytes_new = 0;     // raw bytes of new chunks
  uint64_t bytes_stored = 0;  // their stored (compressed) size
};

// A chunk hashed and compressed, ready to store. Preparing is the CPU-heavy
// half of storing and may run on any thread.
struct PreparedChunk {
  std::string raw;
  Hash128 hash;
  ChunkEncoding encoding = ChunkEncoding::kRaw;
  std::string stored;
  std::optional<ChunkRef> base;  // for kZstdDelta: the chunk compressed against
};
// Hashes and compresses `raw`; against `base` (the chunk it replaces in the
// file's previous version) when that is shallow enough and saves space.
PreparedChunk PrepareChunk(Database& rs, std::string raw,
                           const std::optional<ChunkRef>& base = std::nullopt);

// Stores a prepared chunk (at `offset` in its file) unless an identical chunk
// is stored; returns its reference. Writer thread only.
Result<ChunkRef> StorePrepared(WriteTrx& trx, Database& rs, PreparedChunk& chunk,
                               uint64_t offset, ContentStats* stats);

// PrepareChunk and StorePrepared in one step.
Result<ChunkRef> StoreChunk(WriteTrx& trx, Database& rs, std::string_view raw,
                            uint64_t offset, ContentStats* stats);

// Calls fn for each chunk (or hole) of `file` that ends after `from`, in
// offset order, until it returns false.
Status ForEachChunk(ReadTrx& trx, const Inode& file, uint64_t from,
                    const std::function<bool(const ChunkRef&)>& fn);

// Reads up to `length` bytes at `offset` of `file`, passing the bytes to
// `sink` in order, in pieces (zeros for holes). Pieces point into pinned
// chunks and are valid during the call only.
Status ReadFile(Database& rs, ReadTrx& trx, const Inode& file, uint64_t offset,
                uint64_t length, const std::function<Status(std::string_view)>& sink);

// Like ReadFile, but hands the bytes over without copying: `pieces` point
// into the chunks pinned by `pins` (and into static zeros for holes), valid
// until `pins` is destroyed.
Status ReadFilePinned(Database& rs, ReadTrx& trx, const Inode& file, uint64_t offset,
                      uint64_t length, std::vector<PinnedView>* pins,
                      std::vector<std::string_view>* pieces);

}  // namespace revfs

#endif  // REVFS_TREE_FILE_CHUNKS_H_
