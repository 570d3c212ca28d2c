// Database::RewriteRevisions: prune's re-versioning of kept revisions
// (engine/FORMAT.md, "Re-versioning the kept revisions"). Each revision is
// written again as a commit based on the rewritten previous one would
// write it: a write transaction receives the record difference of the two
// old tries, found by walking them together and skipping every subtree and
// leaf reference they share, so the work is what changed between them.
#include <algorithm>
#include <map>

#include "records/indirect_page.h"
#include "records/page_loader.h"
#include "records/record_page.h"
#include "revfs/database.h"
#include "store/revision_writer.h"

namespace revfs {

// Feeds the record difference of trie `a` to trie `b` into a transaction
// based on a trie with a's records: Put for what b adds or changes, Delete
// for what it drops.
class Database::TrieDiff {
 public:
  TrieDiff(Database& db, WriteTrx& trx, const std::function<bool(uint64_t)>& keep_base)
      : db_(db), trx_(trx), keep_base_(keep_base) {}

  uint64_t records_changed() const { return records_changed_; }

  Status Run(const TrieInfo& a, const TrieInfo& b) {
    if (a.root == b.root) return Status::OK();
    if (a.height == b.height && !a.root.IsNull() && !b.root.IsNull()) {
      return Pages(a.root, b.root, 0);
    }
    // One side empty (the first kept revision, on the empty trie): its
    // leaves stream straight into the transaction.
    if (a.root.IsNull()) return Collect(b.root, 0, nullptr, /*in_a=*/false);
    if (b.root.IsNull()) return Collect(a.root, 0, nullptr, /*in_a=*/true);
    // Tries of different heights: the leaf references of both are held
    // (the one place a rewrite's memory grows with the tree, about 100
    // bytes a leaf; a trie grows a level per 128x more leaves).
    LeafMap la, lb;
    REVFS_RETURN_IF_ERROR(Collect(a.root, 0, &la, true));
    REVFS_RETURN_IF_ERROR(Collect(b.root, 0, &lb, false));
    return Compare(la, lb);
  }

 private:
  using LeafMap = std::map<uint64_t, LeafRef>;

  struct Loaded {
    PinnedView pinned;
    IndirectPage page;
  };
  Result<Loaded> Load(const PageRef& ref) {
    REVFS_ASSIGN_OR_RETURN(PinnedView pinned, db_.page_loader_->Indirect(ref));
    REVFS_ASSIGN_OR_RETURN(IndirectPage page, IndirectPage::Parse(pinned.bytes()));
    if (page.level() < 1 || page.level() > kMaxTrieHeight) {
      return Status::Corruption("indirect page at offset " + std::to_string(ref.offset) +
                                " has the wrong level");
    }
    return Loaded{std::move(pinned), std::move(page)};
  }

  // Two pages at the same place of their tries, whose first leaf is
  // `first_leaf`.
  Status Pages(const PageRef& ra, const PageRef& rb, uint64_t first_leaf) {
    if (ra == rb) return Status::OK();
    REVFS_ASSIGN_OR_RETURN(Loaded a, Load(ra));
    REVFS_ASSIGN_OR_RETURN(Loaded b, Load(rb));
    if (a.page.level() != b.page.level()) {  // path compression differs here
      LeafMap la, lb;
      REVFS_RETURN_IF_ERROR(Children(a.page, first_leaf, &la, true));
      REVFS_RETURN_IF_ERROR(Children(b.page, first_leaf, &lb, false));
      return Compare(la, lb);
    }
    const int level = a.page.level();
    const uint64_t span = LeavesCovered(level - 1);
    size_t i = 0, j = 0;
    while (i < a.page.size() || j < b.page.size()) {
      const uint32_t sa = i < a.page.size() ? a.page.slot_at(i) : kIndirectFanout;
      const uint32_t sb = j < b.page.size() ? b.page.slot_at(j) : kIndirectFanout;
      const uint32_t slot = std::min(sa, sb);
      const uint64_t child_first = first_leaf + slot * span;
      if (sa != sb) {
        const bool in_a = sa < sb;
        REVFS_ASSIGN_OR_RETURN(IndirectChild child,
                               in_a ? a.page.child_at(i++) : b.page.child_at(j++));
        // A subtree only one side has: streamed, its leaves are all changes.
        REVFS_RETURN_IF_ERROR(Child(child, level, child_first, nullptr, in_a));
        continue;
      }
      REVFS_ASSIGN_OR_RETURN(IndirectChild ca, a.page.child_at(i++));
      REVFS_ASSIGN_OR_RETURN(IndirectChild cb, b.page.child_at(j++));
      if (level == 1) {
        const LeafRef* x = std::get_if<LeafRef>(&ca);
        const LeafRef* y = std::get_if<LeafRef>(&cb);
        if (!x || !y) return Status::Corruption("level-1 page names an indirect page");
        if (!(*x == *y)) REVFS_RETURN_IF_ERROR(Leaf(child_first, x, y));
        continue;
      }
      const PageRef* x = std::get_if<PageRef>(&ca);
      const PageRef* y = std::get_if<PageRef>(&cb);
      if (!x || !y) return Status::Corruption("indirect page above level 1 names a leaf");
      REVFS_RETURN_IF_ERROR(Pages(*x, *y, child_first));
    }
    return Status::OK();
  }

  // Every leaf reference below page `ref` (of side a, or b), whose first
  // leaf is `first_leaf`: into `out`, or, when it is null, each at once
  // as a leaf only that side has.
  Status Collect(const PageRef& ref, uint64_t first_leaf, LeafMap* out, bool in_a) {
    REVFS_ASSIGN_OR_RETURN(Loaded loaded, Load(ref));
    return Children(loaded.page, first_leaf, out, in_a);
  }
  Status Children(const IndirectPage& page, uint64_t first_leaf, LeafMap* out, bool in_a) {
    const uint64_t span = LeavesCovered(page.level() - 1);
    for (size_t i = 0; i < page.size(); ++i) {
      REVFS_ASSIGN_OR_RETURN(IndirectChild child, page.child_at(i));
      REVFS_RETURN_IF_ERROR(
          Child(child, page.level(), first_leaf + page.slot_at(i) * span, out, in_a));
    }
    return Status::OK();
  }
  Status Child(const IndirectChild& child, int level, uint64_t first_leaf, LeafMap* out,
               bool in_a) {
    if (level == 1) {
      const LeafRef* leaf = std::get_if<LeafRef>(&child);
      if (!leaf) return Status::Corruption("level-1 page names an indirect page");
      if (out) {
        out->emplace(first_leaf, *leaf);
        return Status::OK();
      }
      return in_a ? Leaf(first_leaf, leaf, nullptr) : Leaf(first_leaf, nullptr, leaf);
    }
    const PageRef* page = std::get_if<PageRef>(&child);
    if (!page) return Status::Corruption("indirect page above level 1 names a leaf");
    return Collect(*page, first_leaf, out, in_a);
  }

  Status Compare(const LeafMap& la, const LeafMap& lb) {
    auto x = la.begin();
    auto y = lb.begin();
    while (x != la.end() || y != lb.end()) {
      if (y == lb.end() || (x != la.end() && x->first < y->first)) {
        REVFS_RETURN_IF_ERROR(Leaf(x->first, &x->second, nullptr));
        ++x;
      } else if (x == la.end() || y->first < x->first) {
        REVFS_RETURN_IF_ERROR(Leaf(y->first, nullptr, &y->second));
        ++y;
      } else {
        if (!(x->second == y->second)) REVFS_RETURN_IF_ERROR(Leaf(x->first, &x->second, &y->second));
        ++x;
        ++y;
      }
    }
    return Status::OK();
  }

  // The records of leaf `number` in a (may be null: none) and b.
  Status Leaf(uint64_t number, const LeafRef* a, const LeafRef* b) {
    PinnedView pa, pb;
    CombinedPage ra, rb;
    size_t combined = 0;
    if (a) {
      REVFS_ASSIGN_OR_RETURN(pa, db_.page_loader_->Leaf(*a, &combined));
      ra = CombinedPage(pa.bytes());
    }
    if (b) {
      REVFS_ASSIGN_OR_RETURN(pb, db_.page_loader_->Leaf(*b, &combined));
      rb = CombinedPage(pb.bytes());
    }
    const uint64_t base = number << kLeafBits;
    size_t i = 0, j = 0;
    while (i < ra.size() || j < rb.size()) {
      const uint32_t sa = i < ra.size() ? ra.at(i).slot : kLeafSlots;
      const uint32_t sb = j < rb.size() ? rb.at(j).slot : kLeafSlots;
      if (keep_base_ && keep_base_(base | std::min(sa, sb))) {
        if (sa <= sb) ++i;
        if (sb <= sa) ++j;
        continue;
      }
      if (sa < sb) {
        REVFS_RETURN_IF_ERROR(trx_.Delete(base | sa));
        ++i;
      } else if (sb < sa) {
        REVFS_RETURN_IF_ERROR(trx_.Put(base | sb, rb.at(j).value));
        ++j;
      } else {
        if (ra.at(i).value != rb.at(j).value) {
          REVFS_RETURN_IF_ERROR(trx_.Put(base | sb, rb.at(j).value));
          ++records_changed_;
        }
        ++i;
        ++j;
        continue;
      }
      ++records_changed_;
    }
    return Status::OK();
  }

  Database& db_;
  WriteTrx& trx_;
  const std::function<bool(uint64_t)>& keep_base_;
  uint64_t records_changed_ = 0;
};

Status Database::RewriteRevisions(std::optional<uint64_t> base,
                                  const std::vector<uint64_t>& revisions,
                                  RewriteReport* report, const RewriteOptions& options) {
  *report = RewriteReport{};
  if (revisions.empty()) return Status::OK();
  if (write_open_) return Status::Busy(store_->path() + ": a write transaction is open");
  REVFS_ASSIGN_OR_RETURN(std::unique_ptr<RevisionWriter> writer, store_->BeginRewrite());
  write_open_ = true;
  // The rewrite reads the pages it appended (each rewritten revision is the
  // next one's base), so they are in the caches, which know a page by its
  // address: if the rewrite fails, the next writer appends other pages at
  // those addresses, and the caches must not answer for them.
  struct Reset {
    Database* db;
    bool installed = false;
    ~Reset() {
      db->write_open_ = false;
      if (!installed) db->ClearCaches();
    }
  } reset{this};
  TrieInfo old_prev, new_prev;  // the empty trie unless there is a base
  if (base) {
    REVFS_ASSIGN_OR_RETURN(old_prev, GetTrie(*base));
    new_prev = old_prev;
    new_prev.root_page = PageRef{};  // a base for writing, never re-resolved
  }
  std::vector<RetentionState::RootOverride> roots;
  uint64_t prev_number = base ? *base : 0;
  for (uint64_t r : revisions) {
    if ((base || !roots.empty()) && r <= prev_number) {
      return Status::InvalidArgument("revisions to rewrite must ascend past the base");
    }
    REVFS_ASSIGN_OR_RETURN(RevisionRoot old_root, store_->ReadRevisionRoot(r));
    REVFS_ASSIGN_OR_RETURN(TrieInfo old_trie, GetTrie(r));
    std::unique_ptr<ReadTrx> on(new ReadTrx(this, r == 0 ? 0 : r - 1, new_prev));
    std::unique_ptr<WriteTrx> trx(new WriteTrx(this, std::move(on)));
    trx->number_ = r;
    trx->writer_ = writer.get();
    TrieDiff diff(*this, *trx, options.keep_base);
    REVFS_RETURN_IF_ERROR(diff.Run(old_prev, old_trie));
    report->records_changed += diff.records_changed();
    if (options.edit) REVFS_RETURN_IF_ERROR(options.edit(r, *trx));
    REVFS_ASSIGN_OR_RETURN(auto written, trx->CommitRewrite(std::move(old_root)));
    roots.push_back({r, written.first});
    old_prev = old_trie;
    new_prev = written.second;
    new_prev.root_page = PageRef{};
    prev_number = r;
    ++report->revisions;
  }
  report->pages_written = writer->pages_written();
  report->bytes_written = writer->bytes_written();
  REVFS_RETURN_IF_ERROR(store_->InstallRoots(writer.get(), roots, options.clear_flags));
  reset.installed = true;
  return Status::OK();
}

}  // namespace revfs
