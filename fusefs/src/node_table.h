// NodeTable: the FUSE nodes the kernel knows, by node id (the kernel's inode
// number for fusefs), with their lookup counts.
//
// A node names one thing of the mount: a fixed name (the root, latest,
// revisions/, at/, .revfs/, .revfs/stats, history/), a revision's root, an
// at/ link, an entry (inode) of one revision, a stats copy (the stats file's
// content taken at one lookup, no_open mode), or a path of history/ and its
// current link as the history index of one revision has them. Ids 1..7 are
// the fixed nodes, made with the table and never forgotten; the others are
// made by a lookup (Intern) from id kFirstDynamicNode on and dropped when
// the kernel forgets every lookup of them. Ids are never reused, so an id
// the kernel no longer knows is never taken for another node.
//
// Thread safety: every method may be called from any thread; one
// SharedMutex guards the table. Get returns a copy: the node may be
// forgotten meanwhile, and what it points to (a file's inode, a stats copy)
// stays alive through the copy's shared_ptrs.
#ifndef REVFS_FUSEFS_NODE_TABLE_H_
#define REVFS_FUSEFS_NODE_TABLE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "revfs/fusefs/fusefs.h"
#include "revfs/inode.h"
#include "revfs/mutex.h"
#include "revfs/result.h"
#include "revfs/thread_annotations.h"
#include "revfs/tree.h"

namespace revfs::fusefs {

struct ReadAhead;  // prefetcher.h: a sequential reader's progress

// The fixed nodes. RevFs names those its callers need.
inline constexpr uint64_t kRootNode = RevFs::kRootNode;
inline constexpr uint64_t kRevisionsNode = RevFs::kRevisionsNode;
inline constexpr uint64_t kAtNode = RevFs::kAtNode;
inline constexpr uint64_t kMetaNode = 4;  // .revfs/
inline constexpr uint64_t kStatsNode = RevFs::kStatsNode;
inline constexpr uint64_t kLatestNode = 6;
inline constexpr uint64_t kHistoryNode = RevFs::kHistoryNode;
// The first id a lookup makes; those below are the fixed nodes' (room is
// left for more fixed names).
inline constexpr uint64_t kFirstDynamicNode = 16;

struct Node {
  enum class Kind : uint8_t {
    kRoot, kRevisions, kAt, kMeta, kStats, kLatest, kRevRoot, kAtLink, kEntry, kStatsCopy,
    kHistory, kHistoryDir, kHistoryLink
  };
  Kind kind = Kind::kRoot;
  // The revision: of an entry; of the history index a history path is read
  // from (its listing never changes: a later revision's is another node).
  uint64_t rev = 0;
  // The stored inode number (kEntry); a stats copy's own id; a history
  // path's id (kHistoryDir, kHistoryLink: the path whose current version
  // it links to).
  uint64_t ino = 0;
  uint64_t lookups = 0;
  uint64_t parent = 0;          // the directory it was first looked up in
  bool cached = false;          // a file the kernel has read or was given
  bool dir_read_ahead = false;  // a directory whose files were read ahead
  // An entry whose inode has no extended attributes: listxattr and getxattr
  // (two per file for ls -l) answer without reading the store.
  bool no_xattrs = false;
  std::shared_ptr<const Inode> file;         // a regular file's inode, once read
  std::shared_ptr<ReadAhead> ahead;          // with `file`
  std::shared_ptr<const std::string> stats;  // a stats copy's content
};

// Reads the stored inode of a revision's root or entry node.
Result<Inode> InodeOf(const Node& node, ReadTrx& trx);

// 2^64 / golden ratio: multiplying by it spreads small consecutive numbers
// (revisions, node ids) over the whole word before they are combined in a
// hash (Fibonacci hashing).
inline constexpr uint64_t kGoldenRatio64 = 0x9E3779B97F4A7C15ull;

class NodeTable {
 public:
  using Kind = Node::Kind;

  NodeTable();  // makes the fixed nodes
  NodeTable(const NodeTable&) = delete;
  NodeTable& operator=(const NodeTable&) = delete;

  // Returns a copy of node `id`; NotFound once it is forgotten.
  Result<Node> Get(uint64_t id) const;
  // Returns the node id for (kind, rev, ino), making the node if needed, and
  // counts a lookup. A new node remembers `parent` and `no_xattrs`.
  uint64_t Intern(Kind kind, uint64_t rev, uint64_t ino, uint64_t parent = 0,
                  bool no_xattrs = false);
  // Makes a node holding `content`, a copy of the stats file, with one lookup.
  uint64_t AddStatsCopy(std::shared_ptr<const std::string> content);
  // Takes back `count` lookups of node `id`; the node goes with the last.
  // The fixed nodes stay.
  void Forget(uint64_t id, uint64_t count);
  // The number of nodes (fixed ones included).
  size_t size() const;

  // Shares the state of the readers of file node `id`: if no reader was
  // first, records *inode and *ahead in the node and returns true;
  // otherwise replaces them with the first reader's and returns false (also
  // when the node is gone: the caller then reads with its own).
  bool ShareFileState(uint64_t id, std::shared_ptr<const Inode>* inode,
                      std::shared_ptr<ReadAhead>* ahead);
  // The first read of file node `id`: marks it cached, and returns its
  // parent directory if that was not yet read ahead (marking it so, so each
  // directory node is returned once).
  std::optional<uint64_t> MarkFirstRead(uint64_t id);
  // Of the entries `inos` of revision `rev`, those the kernel knows (looked
  // up, not forgotten) and has not read or been given: marks them cached
  // and returns them as (node id, ino), in the order of `inos`. Those the
  // kernel does not know go to *unknown, if given.
  std::vector<std::pair<uint64_t, uint64_t>> ClaimUncached(uint64_t rev,
                                                           const std::vector<uint64_t>& inos,
                                                           std::vector<uint64_t>* unknown = nullptr);

 private:
  struct Key {
    Kind kind;
    uint64_t rev, ino;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };

  mutable SharedMutex mu_;
  std::unordered_map<uint64_t, Node> nodes_ GUARDED_BY(mu_);
  std::unordered_map<Key, uint64_t, KeyHash> ids_ GUARDED_BY(mu_);
  uint64_t next_id_ GUARDED_BY(mu_) = kFirstDynamicNode;
};

}  // namespace revfs::fusefs

#endif  // REVFS_FUSEFS_NODE_TABLE_H_
