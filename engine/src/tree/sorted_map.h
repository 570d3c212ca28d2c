// SortedMap: a persistent sorted map (byte-string keys and values) stored as
// records, used for directory entries and for the chunk lists of big files.
//
// Nodes are records under `key_base | node id`. Node boundaries are content
// defined (a hash of each entry's key decides where a node ends, like a
// Merkle search tree), so inserting or removing one entry changes only the
// node it lands in and the path above it: every other node has the same
// bytes, hence the same XXH3-128 hash, and keeps its record across revisions.
// Internal entries carry their child's hash, so the root hash identifies the
// whole map (the Merkle identity of a directory).
//
// Lookups, floor searches and seeks cost one record load per level:
// O(log n).
//
// Node: level u8 | count u16 | entries
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

inline constexpr size_t kMaxTreeKey = 1024;
inline constexpr size_t kMaxTreeValue = 1024;

// TreeRoot (a map's root block, level, Merkle hash and entry count) is
// defined in revfs/inode.h: inodes hold one.
inline constexpr size_t kEncodedTreeRootSize = 8 + 1 + kHash128Size + 8;
void EncodeTreeRoot(std::string* dst, const TreeRoot& root);
TreeRoot DecodeTreeRoot(Decoder* in);

// Builds the new version of a map from all its entries in ascending key
// order, reusing the nodes of `old` whose bytes did not change and deleting
// those no longer used.
class SortedMapWriter {
 public:
  // `next_id` hands out fresh node ids (never reused).
  SortedMapWriter(WriteTrx* trx, uint64_t key_base, std::function<uint64_t()> next_id,
                   const TreeRoot& old);

  // Adds an entry; keys must be strictly ascending.
  Status Add(std::string_view key, std::string_view value);
  // Writes what changed and returns the new root.
  Result<TreeRoot> Finish();

  uint64_t nodes_written() const { return written_; }
  uint64_t nodes_reused() const { return reused_; }

 private:
  struct Level {
    std::string buf;
    uint16_t count = 0;
    std::string first_key;
    uint64_t entries = 0;
    uint64_t emitted = 0;
  };
  struct Known {
    uint64_t id;
    uint8_t level;
  };
  struct HashKey {
    size_t operator()(const Hash128& h) const { return static_cast<size_t>(h.lo ^ h.hi); }
  };

  Status LoadOld();
  Status AddToLevel(size_t level, std::string_view key, std::string_view payload,
                    uint64_t entries);
  Status EmitNode(size_t level);

  WriteTrx* const trx_;
  const uint64_t key_base_;
  std::function<uint64_t()> next_id_;
  const TreeRoot old_;
  bool loaded_ = false;
  std::unordered_map<Hash128, Known, HashKey> known_;  // old nodes by hash
  std::unordered_set<uint64_t> old_ids_, kept_ids_;
  std::vector<Level> levels_;
  std::string last_key_;
  bool any_ = false;
  bool finishing_top_ = false;
  std::optional<TreeRoot> root_;  // set when the top node is emitted
  uint64_t written_ = 0, reused_ = 0;
};

// Returns the value under `key`.
Result<std::optional<std::string>> TreeGet(ReadTrx& trx, uint64_t key_base,
                                           const TreeRoot& root, std::string_view key);
// Returns the entry with the greatest key <= `key`.
Result<std::optional<std::pair<std::string, std::string>>> TreeFloor(
    ReadTrx& trx, uint64_t key_base, const TreeRoot& root, std::string_view key);
// Calls fn(key, value) for every entry with key >= `from`, ascending, until
// it returns false. The views are valid during the call only.
Status TreeScan(ReadTrx& trx, uint64_t key_base, const TreeRoot& root, std::string_view from,
                const std::function<bool(std::string_view, std::string_view)>& fn);
// Calls fn(id) for every node id of the tree (verification, deletion).
Status TreeNodes(ReadTrx& trx, uint64_t key_base, const TreeRoot& root,
                 const std::function<void(uint64_t id)>& fn);

}  // namespace revfs

#endif  // REVFS_TREE_SORTED_MAP_H_
