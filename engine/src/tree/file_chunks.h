// File content: chunks stored once per store (the writer's side, declared
// here), and reading byte ranges (ForEachChunk, ReadFile, ReadFilePinned:
// declared in revfs/tree.h); both in file_chunks.cc.
//
// A chunk is identified by the SHA-256 of its bytes. The chunk index
// (tree/chunk_index.h: the recent-chunk log and runs merged in tiers)
// lists the chunks stored; an entry with the same whole digest is reused
// without reading its bytes back, once its page (and a delta's bases) are
// still stored. A file's chunk list is found by binary search (inline list or the
// sorted map keyed by offset), so reading any byte range costs O(log n)
// record loads plus the chunks it touches. Chunk bytes come from the
// Database's ChunkLoader (content/chunk_loader.h).
//
// Thread safety: PrepareChunk may run on any thread; StorePrepared and
// StoreChunk belong to the writer thread.
#ifndef REVFS_TREE_FILE_CHUNKS_H_
#define REVFS_TREE_FILE_CHUNKS_H_

#include <functional>
#include <optional>
#include <string_view>

#include "content/compression.h"
#include "revfs/database.h"
#include "revfs/inode.h"
#include "revfs/tree.h"

namespace revfs {

// A chunk hashed and compressed, ready to store. Preparing is the CPU-heavy
// half of storing and may run on any thread.
struct PreparedChunk {
  std::string raw;
  Digest256 hash;
  ChunkEncoding encoding = ChunkEncoding::kRaw;
  std::string stored;
  std::optional<ChunkRef> base;  // for kZstdDelta: the chunk compressed against
};
// Hashes and compresses `raw`; against `base` (the chunk it replaces in the
// file's previous version) when that is shallow enough and saves space.
PreparedChunk PrepareChunk(Database& rs, std::string raw,
                           const std::optional<ChunkRef>& base = std::nullopt);

// Returns whether the chunk page `page` is still stored and, for a delta
// (`depth` > 0), each base below it: prune may have removed any of them
// (its chunk index entries are hints). Reads the header of each delta page;
// a page that cannot be read counts as missing.
bool ChunkPresent(Database& rs, const Digest256& hash, const PageRef& page, uint8_t depth);

// Stores a prepared chunk (at `offset` in its file) unless an identical chunk
// is stored; returns its reference. Writer thread only.
Result<ChunkRef> StorePrepared(WriteTrx& trx, Database& rs, PreparedChunk& chunk,
                               uint64_t offset, ContentStats* stats);

// PrepareChunk and StorePrepared in one step.
Result<ChunkRef> StoreChunk(WriteTrx& trx, Database& rs, std::string_view raw,
                            uint64_t offset, ContentStats* stats);

}  // namespace revfs

#endif  // REVFS_TREE_FILE_CHUNKS_H_
