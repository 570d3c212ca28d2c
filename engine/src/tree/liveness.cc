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
#include <unordered_set>

#include "content/compression.h"
#include "records/indirect_page.h"
#include "records/page_loader.h"
#include "records/record_page.h"
#include "revfs/database.h"
#include "revfs/inode.h"
#include "revfs/retention.h"
#include "store/page_log.h"
#include "tree/sorted_map.h"

namespace revfs {
namespace {

class LivenessWalk {
 public:
  explicit LivenessWalk(Database& db) : db_(db) {}

  Status Revision(uint64_t number) {
    REVFS_ASSIGN_OR_RETURN(RevisionEntry entry, db_.store().GetRevision(number));
    if (Mark(entry.root)) ++out_.revision_roots;
    REVFS_ASSIGN_OR_RETURN(RevisionRoot root, db_.store().ReadRevisionRoot(number));
    if (root.trie_root.IsNull()) return Status::OK();
    if (root.trie_height < 1 || root.trie_height > kMaxTrieHeight) {
      return Status::Corruption("revision " + std::to_string(number) +
                                ": record trie has an impossible height");
    }
    if (!Mark(root.trie_root)) return Status::OK();  // the whole trie is shared
    ++out_.indirect_pages;
    REVFS_ASSIGN_OR_RETURN(trx_, db_.BeginRead(number));
    Status s = TriePage(root.trie_root, 0);
    if (!s.ok()) return s.WithContext("revision " + std::to_string(number));
    return Status::OK();
  }

  void MarkRef(const PageRef& ref) { Mark(ref); }

  Liveness Finish() {
    out_.pages.reserve(live_.size());
    for (const auto& [offset, size] : live_) out_.pages.push_back({offset, size});
    std::sort(out_.pages.begin(), out_.pages.end(),
              [](const LivePage& a, const LivePage& b) { return a.offset < b.offset; });
    for (const LivePage& p : out_.pages) out_.live_bytes += p.size;
    return std::move(out_);
  }

 private:
  // Adds `ref` to the live set; returns whether it was new.
  bool Mark(const PageRef& ref) {
    if (ref.IsNull()) return false;
    return live_.emplace(ref.offset, ref.size).second;
  }

  // Walks indirect page `ref` (already marked), whose first leaf is
  // `first_leaf`.
  Status TriePage(const PageRef& ref, uint64_t first_leaf) {
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
        if (!Mark(*p)) {
          ++out_.shared_indirect_skipped;
          continue;
        }
        ++out_.indirect_pages;
        REVFS_RETURN_IF_ERROR(TriePage(*p, child_first));
        continue;
      }
      if (level != 1) return Status::Corruption("indirect page above level 1 names a leaf");
      REVFS_RETURN_IF_ERROR(Leaf(std::get<LeafRef>(child), child_first));
    }
    return Status::OK();
  }

  Status Leaf(const LeafRef& leaf, uint64_t number) {
    if (leaf.chain.empty()) return Status::Corruption("leaf reference without fragments");
    if (!leaves_.insert(leaf.chain.front().page.offset).second) {
      ++out_.shared_leaves_skipped;
      return Status::OK();
    }
    for (const FragmentRef& f : leaf.chain) {
      if (Mark(f.page)) ++out_.fragments;
    }
    const uint64_t kind = (number << kLeafBits) >> 60;
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
        for (const ChunkRef& c : blob->chunks) REVFS_RETURN_IF_ERROR(Chunk(c));
        REVFS_RETURN_IF_ERROR(ChunkList(blob->map));
      }
      if (inode->type != FileType::kRegular) continue;
      for (const ChunkRef& c : inode->chunks) REVFS_RETURN_IF_ERROR(Chunk(c));
      REVFS_RETURN_IF_ERROR(ChunkList(inode->map));
    }
    return Status::OK();
  }

  Status ChunkList(const MapRoot& map) {
    Status decode_error;
    REVFS_RETURN_IF_ERROR(MapWalk(
        *trx_, kMapBlockBase, map, [&](uint64_t id) {
          const bool fresh = blocks_.insert(id).second;
          if (!fresh) ++out_.shared_blocks_skipped;
          return fresh && decode_error.ok();
        },
        [&](std::string_view key, std::string_view value) {
          Decoder in(value);
          ChunkRef c = DecodeChunkRef(&in, OffsetFromKey(key));
          if (!in.ok()) {
            decode_error = Status::Corruption("chunk list: malformed entry");
          } else if (decode_error.ok()) {
            decode_error = Chunk(c);
          }
        }));
    return decode_error;
  }

  Status Chunk(const ChunkRef& c) {
    if (c.hole || c.page.IsNull()) return Status::OK();
    PageRef ref = c.page;
    bool delta = c.depth > 0;
    bool base = false;
    while (Mark(ref)) {
      ++(base ? out_.delta_bases : out_.chunks);
      if (!delta) break;
      // A delta names its base in its header: read it to keep the base.
      std::string buf;
      PageView view;
      REVFS_RETURN_IF_ERROR(db_.store().pages().Read(ref, PageKind::kChunk, &buf, &view));
      ChunkPageHeader header;
      std::string_view body;
      REVFS_RETURN_IF_ERROR(DecodeChunkPage(view.payload, &header, &body));
      if (header.encoding != ChunkEncoding::kZstdDelta) break;
      ref = header.base_page;
      base = true;
      // The base may itself be a delta: its header says so once read.
      delta = true;
    }
    return Status::OK();
  }

  Database& db_;
  std::unique_ptr<ReadTrx> trx_;
  std::unordered_map<uint64_t, uint32_t> live_;  // offset -> size
  std::unordered_set<uint64_t> leaves_;  // newest fragment offsets
  std::unordered_set<uint64_t> blocks_;  // chunk-list map block ids
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
  LivenessWalk walk(db);
  for (uint64_t n : kept) REVFS_RETURN_IF_ERROR(walk.Revision(n));
  walk.MarkRef(db.store().superblock().retention);
  return walk.Finish();
}

}  // namespace revfs
