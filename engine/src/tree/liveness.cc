// ComputeLiveness (revfs/retention.h): every page a set of kept revisions
// reaches — the walk prune keeps pages by.
//
// Per kept revision: its root page, then its record trie top down. An
// indirect page or leaf reference met before (by address; a leaf reference by
// its newest fragment, which is written together with the whole chain) is
// the same subtree and is skipped. A new leaf marks its whole chain and
// scans its combined records: inode records name chunk pages (inline chunk
// lists, of content or of an extended-attribute blob) and chunk-list sorted
// maps, walked block by block (a block id names
// the same bytes in every revision, so each block is entered once); a delta
// chunk's page names its base, marked transitively. Chunk index records
// (kinds 3, 4) are hints, not references: they keep nothing alive.
#include <algorithm>
#include <unordered_map>

#include "content/compression.h"
#include "records/indirect_page.h"
#include "records/page_loader.h"
#include "records/record_page.h"
#include "revfs/database.h"
#include "revfs/inode.h"
#include "revfs/json.h"
#include "revfs/retention.h"
#include "store/page_log.h"
#include "store/store_files.h"
#include "tree/sorted_map.h"

namespace revfs {
namespace {

// Every page (and chunk-list map block) the walk reaches is a node, with
// the kept revision that reached it first. With sharing tracked, every time
// a node is reached, by whom is an edge: a node reached by a second kept
// revision is shared, and so is everything below it (the walk does not
// descend into what it met before, so that is propagated over the edges
// once the walk is done). A page no other kept revision reaches is that
// revision's alone.
class LivenessWalk {
 public:
  LivenessWalk(Database& db, bool track_sharing) : db_(db), track_(track_sharing) {}

  Status Revision(uint64_t number) {
    rev_ = number;
    REVFS_ASSIGN_OR_RETURN(RevisionEntry entry, db_.store().GetRevision(number));
    bool fresh = false;
    const uint32_t root_node = Reach(entry.root, kNoNode, &fresh);
    if (fresh) Count(out_.revision_roots, out_.revision_root_bytes, entry.root);
    REVFS_ASSIGN_OR_RETURN(RevisionRoot root, db_.store().ReadRevisionRoot(number));
    if (root.trie_root.IsNull()) return Status::OK();
    if (root.trie_height < 1 || root.trie_height > kMaxTrieHeight) {
      return Status::Corruption("revision " + std::to_string(number) +
                                ": record trie has an impossible height");
    }
    const uint32_t trie = Reach(root.trie_root, root_node, &fresh);
    if (!fresh) return Status::OK();  // the whole trie is shared
    Count(out_.indirect_pages, out_.indirect_bytes, root.trie_root);
    REVFS_ASSIGN_OR_RETURN(trx_, db_.BeginRead(number));
    Status s = TriePage(root.trie_root, 0, trie);
    if (!s.ok()) return s.WithContext("revision " + std::to_string(number));
    return Status::OK();
  }

  // Whether the walk stopped short: more nodes or edges than 32-bit ids.
  Status Check() const {
    return full_ ? Status::NotSupported("more than 2^32 pages and references to walk")
                 : Status::OK();
  }

  // Store bookkeeping (the retention page): live, but no revision's.
  void MarkBookkeeping(const PageRef& ref) {
    rev_ = kNoRevision;
    bool fresh = false;
    Reach(ref, kNoNode, &fresh);
  }

  Liveness Finish() {
    out_.pages.reserve(live_.size());
    for (const auto& [offset, node] : live_) out_.pages.push_back({offset, nodes_[node].size});
    std::sort(out_.pages.begin(), out_.pages.end(),
              [](const LivePage& a, const LivePage& b) { return a.offset < b.offset; });
    for (const LivePage& p : out_.pages) out_.live_bytes += p.size;
    return std::move(out_);
  }

  // With sharing tracked: spreads "shared" down the edges, then sums the
  // bytes of the pages each revision alone reaches, the shared ones and the
  // bookkeeping (together, the live bytes).
  void SumSpace(SpaceReport* space) {
    std::vector<uint32_t> first(nodes_.size() + 1, 0);  // children by parent (CSR)
    for (const auto& [parent, child] : edges_) ++first[parent + 1];
    for (size_t i = 1; i < first.size(); ++i) first[i] += first[i - 1];
    std::vector<uint32_t> children(edges_.size());
    std::vector<uint32_t> fill(first.begin(), first.end() - 1);
    for (const auto& [parent, child] : edges_) children[fill[parent]++] = child;
    edges_.clear();
    edges_.shrink_to_fit();
    std::vector<uint32_t> queue;
    for (uint32_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].shared) queue.push_back(i);
    }
    while (!queue.empty()) {
      const uint32_t n = queue.back();
      queue.pop_back();
      for (uint32_t c = first[n]; c < first[n + 1]; ++c) {
        Node& child = nodes_[children[c]];
        if (!child.shared) {
          child.shared = true;
          queue.push_back(children[c]);
        }
      }
    }
    std::unordered_map<uint64_t, uint64_t> alone;
    for (const Node& n : nodes_) {
      if (n.first == kNoRevision) {
        space->bookkeeping_bytes += n.size;
      } else if (n.shared) {
        space->shared_bytes += n.size;
      } else {
        alone[n.first] += n.size;
        space->alone_bytes += n.size;
      }
    }
    for (RevisionSpace& r : space->revisions) r.alone_bytes = alone[r.revision];
    space->live_bytes = space->alone_bytes + space->shared_bytes + space->bookkeeping_bytes;
  }

 private:
  static constexpr uint32_t kNoNode = ~uint32_t{0};
  static constexpr uint64_t kNoRevision = ~uint64_t{0};

  struct Node {
    uint64_t first;  // the revision that reached it first
    uint32_t size;   // 0 for a leaf reference or map block (no bytes of its own)
    bool shared;     // a second revision reaches it (or, after SumSpace, something above it)
  };

  static void Count(uint64_t& pages, uint64_t& bytes, const PageRef& ref) {
    ++pages;
    bytes += ref.size;
  }

  // Reaches `ref` from node `parent`: adds it to the live set if new
  // (*fresh), notes who reached it; returns its node (kNoNode for null).
  uint32_t Reach(const PageRef& ref, uint32_t parent, bool* fresh) {
    *fresh = false;
    if (ref.IsNull() || Full()) return kNoNode;
    auto [it, added] = live_.try_emplace(ref.offset, static_cast<uint32_t>(nodes_.size()));
    if (added) nodes_.push_back({rev_, ref.size, false});
    *fresh = added;
    return Reached(it->second, parent);
  }

  // Reaches the node `key` names in `index` (a leaf reference or a map
  // block: nodes of no bytes of their own) from node `parent`; sets *fresh
  // if it is new.
  uint32_t ReachNamed(std::unordered_map<uint64_t, uint32_t>& index, uint64_t key,
                      uint32_t parent, bool* fresh) {
    *fresh = false;
    if (Full()) return kNoNode;
    auto [it, added] = index.try_emplace(key, static_cast<uint32_t>(nodes_.size()));
    if (added) nodes_.push_back({rev_, 0, false});
    *fresh = added;
    return Reached(it->second, parent);
  }

  // Node ids are 32-bit: a walk that would need more stops (Check reports
  // it) instead of wrapping.
  bool Full() {
    if (nodes_.size() + 1 < kNoNode && edges_.size() + 1 < kNoNode) return false;
    full_ = true;
    return true;
  }

  uint32_t Reached(uint32_t node, uint32_t parent) {
    if (!track_) return node;
    if (nodes_[node].first != rev_) nodes_[node].shared = true;
    if (parent != kNoNode) edges_.emplace_back(parent, node);
    return node;
  }

  // Walks indirect page `ref` (already marked, node `node`), whose first
  // leaf is `first_leaf`.
  Status TriePage(const PageRef& ref, uint64_t first_leaf, uint32_t node) {
    REVFS_ASSIGN_OR_RETURN(PinnedView pinned, db_.page_loader().Indirect(ref));
    REVFS_ASSIGN_OR_RETURN(IndirectPage page, IndirectPage::Parse(pinned.bytes()));
    const int level = page.level();
    if (level < 1) return Status::Corruption("indirect page with level 0");
    const uint64_t span = LeavesCovered(level - 1);
    for (size_t i = 0; i < page.size(); ++i) {
      const uint64_t child_first = first_leaf + page.slot_at(i) * span;
      REVFS_ASSIGN_OR_RETURN(IndirectChild child, page.child_at(i));
      if (const PageRef* p = std::get_if<PageRef>(&child)) {
        if (level < 2) return Status::Corruption("level-1 page names an indirect page");
        bool fresh = false;
        const uint32_t below = Reach(*p, node, &fresh);
        if (!fresh) {
          ++out_.shared_indirect_skipped;
          continue;
        }
        Count(out_.indirect_pages, out_.indirect_bytes, *p);
        REVFS_RETURN_IF_ERROR(TriePage(*p, child_first, below));
        continue;
      }
      if (level != 1) return Status::Corruption("indirect page above level 1 names a leaf");
      REVFS_RETURN_IF_ERROR(Leaf(std::get<LeafRef>(child), child_first, node));
    }
    return Status::OK();
  }

  // A leaf reference (named by its newest fragment) is a node of its own:
  // its fragments and everything its combined records name hang below it.
  // (A fragment is also in later chains, whose records may no longer name
  // what this one's do.)
  Status Leaf(const LeafRef& ref, uint64_t number, uint32_t parent) {
    if (ref.chain.empty()) return Status::Corruption("leaf reference without fragments");
    bool fresh = false;
    const uint32_t node = ReachNamed(leaves_, ref.chain.front().page.offset, parent, &fresh);
    if (!fresh) {
      ++out_.shared_leaves_skipped;
      return Status::OK();
    }
    LeafRef leaf = ref;  // the older fragments from the newest one's tail
    REVFS_RETURN_IF_ERROR(db_.page_loader().ResolveChain(&leaf));
    const uint64_t kind = (number << kLeafBits) >> 60;
    for (const FragmentRef& f : leaf.chain) {
      Reach(f.page, node, &fresh);
      // A fragment a forgotten revision wrote: waste the rewrite of the
      // kept revisions from this one on would give back.
      const bool stale = f.revision != rev_ && db_.store().IsForgotten(f.revision);
      if (stale && !out_.first_stale) out_.first_stale = rev_;
      if (!fresh) continue;
      if (stale) out_.stale_fragment_bytes += f.page.size;
      Count(out_.fragments, out_.fragment_bytes, f.page);
      out_.fragment_bytes_by_record_kind[kind] += f.page.size;
    }
    if (kind != (kInodeBase >> 60)) return Status::OK();  // only inodes name pages
    size_t combined = 0;
    REVFS_ASSIGN_OR_RETURN(PinnedView pinned, db_.page_loader().Leaf(leaf, &combined));
    CombinedPage records(pinned.bytes());
    for (size_t r = 0; r < records.size(); ++r) {
      const uint64_t key = (number << kLeafBits) | records.at(r).slot;
      auto inode = DecodeInode(records.at(r).value);
      if (!inode.ok()) {
        return inode.status().WithContext("inode record " + std::to_string(key & ~kInodeBase));
      }
      if (const auto& blob = inode->xattr_blob) {  // any type may have one
        for (const ChunkRef& c : blob->chunks) REVFS_RETURN_IF_ERROR(Chunk(c, node));
        REVFS_RETURN_IF_ERROR(ChunkList(blob->map, node));
      }
      if (inode->type != FileType::kRegular) continue;
      for (const ChunkRef& c : inode->chunks) REVFS_RETURN_IF_ERROR(Chunk(c, node));
      REVFS_RETURN_IF_ERROR(ChunkList(inode->map, node));
    }
    return Status::OK();
  }

  // A block's node hangs below the block naming it (the root block below
  // `parent`); the chunks of a level-0 block below that block.
  Status ChunkList(const MapRoot& map, uint32_t parent) {
    Status decode_error;
    REVFS_RETURN_IF_ERROR(MapWalk(
        *trx_, kMapBlockBase, map, [&](uint64_t id, uint64_t parent_block) {
          const uint32_t above =
              parent_block == kNoParentBlock ? parent : blocks_.at(parent_block);
          bool fresh = false;
          block_ = ReachNamed(blocks_, id, above, &fresh);
          if (!fresh) ++out_.shared_blocks_skipped;
          return fresh && decode_error.ok();
        },
        [&](std::string_view key, std::string_view value) {
          Decoder in(value);
          ChunkRef c = DecodeChunkRef(&in, OffsetFromKey(key));
          if (!in.ok()) {
            decode_error = Status::Corruption("chunk list: malformed entry");
          } else if (decode_error.ok()) {
            decode_error = Chunk(c, block_);
          }
        }));
    return decode_error;
  }

  // A delta's base hangs below the delta.
  Status Chunk(const ChunkRef& c, uint32_t parent) {
    if (c.hole || c.page.IsNull()) return Status::OK();
    PageRef ref = c.page;
    size_t digest_size = DigestSizeOf(c.hash);
    bool delta = c.depth > 0;
    bool base = false;
    bool fresh = false;
    while ((parent = Reach(ref, parent, &fresh)), fresh) {
      if (base) {
        Count(out_.delta_bases, out_.delta_base_bytes, ref);
      } else {
        Count(out_.chunks, out_.chunk_bytes, ref);
      }
      if (!delta) break;
      // A delta names its base in its header: read it to keep the base.
      REVFS_ASSIGN_OR_RETURN(auto next, ChunkBaseOf(db_.store().pages(), ref, digest_size));
      if (!next) break;
      ref = next->page;
      digest_size = next->digest_size;
      base = true;
      // The base may itself be a delta: its header says so once read.
      delta = true;
    }
    return Status::OK();
  }

  Database& db_;
  std::unique_ptr<ReadTrx> trx_;
  const bool track_;
  uint64_t rev_ = kNoRevision;  // the revision being walked
  std::vector<Node> nodes_;
  std::vector<std::pair<uint32_t, uint32_t>> edges_;  // (parent, child), tracked only
  std::unordered_map<uint64_t, uint32_t> live_;    // page offset -> node
  std::unordered_map<uint64_t, uint32_t> leaves_;  // newest fragment offset -> node
  std::unordered_map<uint64_t, uint32_t> blocks_;  // chunk-list map block id -> node
  uint32_t block_ = kNoNode;                       // the block entered last
  bool full_ = false;                              // Full() said so once
  Liveness out_;
};

}  // namespace

bool Liveness::Contains(uint64_t offset) const {
  auto it = std::lower_bound(pages.begin(), pages.end(), offset,
                             [](const LivePage& p, uint64_t o) { return p.offset < o; });
  return it != pages.end() && it->offset == offset;
}

LiveSet Liveness::BySegment() const {
  LiveSet set;
  for (const LivePage& p : pages) set.Add(PageRef{p.offset, p.size, 0});
  return set;
}

Result<Liveness> ComputeLiveness(Database& db, const std::vector<uint64_t>& kept) {
  LivenessWalk walk(db, /*track_sharing=*/false);
  for (uint64_t n : kept) REVFS_RETURN_IF_ERROR(walk.Revision(n));
  walk.MarkBookkeeping(db.store().superblock().retention);
  REVFS_RETURN_IF_ERROR(walk.Check());
  return walk.Finish();
}

Result<SpaceReport> ComputeSpace(Database& db) {
  const std::vector<uint64_t> kept = db.store().KeptRevisions();
  LivenessWalk walk(db, /*track_sharing=*/true);
  for (uint64_t n : kept) REVFS_RETURN_IF_ERROR(walk.Revision(n));
  walk.MarkBookkeeping(db.store().superblock().retention);
  REVFS_RETURN_IF_ERROR(walk.Check());
  SpaceReport space;
  for (uint64_t n : kept) space.revisions.push_back({n, 0});
  walk.SumSpace(&space);
  REVFS_RETURN_IF_ERROR(MeasureStoreBytes(db, &space));
  return space;
}

Status MeasureStoreBytes(Database& db, SpaceReport* space) {
  REVFS_ASSIGN_OR_RETURN(space->store_bytes,
                         SegmentFilesBytes(db.store().env(), db.store().path()));
  space->dead_bytes =
      space->store_bytes > space->live_bytes ? space->store_bytes - space->live_bytes : 0;
  return Status::OK();
}

void WriteSpaceTotals(JsonWriter& w, const SpaceReport& space) {
  w.Key("store_bytes").Uint(space.store_bytes);
  w.Key("live_bytes").Uint(space.live_bytes);
  w.Key("shared_bytes").Uint(space.shared_bytes);
  w.Key("alone_bytes").Uint(space.alone_bytes);
  w.Key("bookkeeping_bytes").Uint(space.bookkeeping_bytes);
  w.Key("dead_bytes").Uint(space.dead_bytes);
}

}  // namespace revfs
