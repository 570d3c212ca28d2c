// SortedMap: a persistent sorted map (byte-string keys and values) stored as
// records, used for directory entries and for the chunk lists of big files.
//
// A map is made of blocks, each a record under `key_base | block id`, in
// levels: level-0 blocks hold the entries, a block above lists the blocks
// below it. Block boundaries are content defined (a hash of each entry's
// key decides where a block ends, like a Merkle search tree), so inserting
// or removing one entry changes only the block it lands in and the path
// above it: every other block has the same bytes, hence the same SHA-256,
// and keeps its record across revisions (a block is reused on an equal
// digest alone, no byte comparison). Entries of upper levels carry their
// child block's digest, so the root digest identifies the whole map (the
// Merkle identity of a directory).
//
// Lookups, floor searches and seeks cost one record load per level:
// O(log n).
//
// Block: level u8 | count u16 | entries
//   level 0:  key length u16 | key | value length u16 | value
//   level >0: key length u16 | first key below | child id u64 | child hash |
//             entries below u64
//
// Thread safety: a writer belongs to its WriteTrx's thread; readers are
// functions over a ReadTrx.
#ifndef REVFS_TREE_SORTED_MAP_H_
#define REVFS_TREE_SORTED_MAP_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "revfs/database.h"
#include "revfs/inode.h"
#include "util/hash.h"

namespace revfs {

inline constexpr size_t kMaxMapKey = 1024;
inline constexpr size_t kMaxMapValue = 1024;

// MapRoot (a map's root block, level, Merkle hash and entry count) is
// defined in revfs/inode.h: inodes hold one.
inline constexpr size_t kEncodedMapRootSize = 8 + 1 + kDigestSize + 8;
void EncodeMapRoot(std::string* dst, const MapRoot& root);
MapRoot DecodeMapRoot(Decoder* in);

// Builds the new version of a map from all its entries in ascending key
// order, reusing the blocks of `old` whose bytes did not change and deleting
// those no longer used.
class SortedMapWriter {
 public:
  // `next_id` hands out fresh block ids (never reused).
  SortedMapWriter(WriteTrx* trx, uint64_t key_base, std::function<uint64_t()> next_id,
                   const MapRoot& old);

  // Adds an entry; keys must be strictly ascending.
  Status Add(std::string_view key, std::string_view value);
  // Writes what changed and returns the new root.
  Result<MapRoot> Finish();

  uint64_t blocks_written() const { return written_; }
  uint64_t blocks_reused() const { return reused_; }

 private:
  struct Level {
    std::string buf;
    uint16_t count = 0;
    std::string first_key;
    uint64_t entries = 0;
    uint64_t emitted = 0;
  };
  struct Known {
    Digest256 hash;
    uint64_t id;
    uint8_t level;
  };

  Status LoadOld();
  Status AddToLevel(size_t level, std::string_view key, std::string_view payload,
                    uint64_t entries);
  Status EmitBlock(size_t level);

  WriteTrx* const trx_;
  const uint64_t key_base_;
  std::function<uint64_t()> next_id_;
  const MapRoot old_;
  bool loaded_ = false;
  // The old blocks by LookupKey of their SHA-256: candidates, of which one
  // is reused only when its whole digest and level are equal.
  std::unordered_multimap<uint64_t, Known> known_;
  std::unordered_set<uint64_t> old_ids_, kept_ids_;
  std::vector<Level> levels_;
  std::string last_key_;
  bool any_ = false;
  bool finishing_top_ = false;
  std::optional<MapRoot> root_;  // set when the top block is emitted
  uint64_t written_ = 0, reused_ = 0;
};

// Returns the value under `key`.
Result<std::optional<std::string>> MapGet(ReadTrx& trx, uint64_t key_base,
                                          const MapRoot& root, std::string_view key);
// Returns the entry with the greatest key <= `key`.
Result<std::optional<std::pair<std::string, std::string>>> MapFloor(
    ReadTrx& trx, uint64_t key_base, const MapRoot& root, std::string_view key);
// Calls fn(key, value) for every entry with key >= `from`, ascending, until
// it returns false. The views are valid during the call only.
Status MapScan(ReadTrx& trx, uint64_t key_base, const MapRoot& root, std::string_view from,
               const std::function<bool(std::string_view, std::string_view)>& fn);
// Calls fn(id) for every block id of the map (verification, deletion).
Status MapBlocks(ReadTrx& trx, uint64_t key_base, const MapRoot& root,
                 const std::function<void(uint64_t id)>& fn);
// Walks the map top down, entering a block only when `enter(id, parent)`
// returns true (a block id names the same bytes in every revision, so a
// walker over many revisions enters each once; `parent` is the id of the
// block naming it, kNoParentBlock for the root), and calls fn(key, value)
// for the entries of a level-0 block right after entering it (liveness).
inline constexpr uint64_t kNoParentBlock = ~uint64_t{0};
Status MapWalk(ReadTrx& trx, uint64_t key_base, const MapRoot& root,
               const std::function<bool(uint64_t id, uint64_t parent)>& enter,
               const std::function<void(std::string_view, std::string_view)>& fn);

}  // namespace revfs

#endif  // REVFS_TREE_SORTED_MAP_H_
