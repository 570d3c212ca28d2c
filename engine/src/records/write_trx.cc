// WriteTrx: collects record changes and commits them as one revision. Only
// the changed leaves get a new fragment, and only the path from the root to
// each changed leaf gets new indirect pages; every other subtree is shared
// with the base revision by reference.
#include <algorithm>
#include <cstring>

#include "revfs/database.h"
#include "records/indirect_page.h"
#include "records/page_loader.h"
#include "records/record_page.h"
#include "records/versioning.h"
#include "records/write_spill.h"
#include "store/revision_writer.h"

namespace revfs {

struct WriteTrx::Changed {
  uint64_t leaf;
};

// A page of the base revision's record trie: `ref` at `ref_level`, seen
// from `level` >= ref_level (a taller new trie sees the old root as the
// slot-0 descendant).
struct WriteTrx::BasePage {
  PageRef ref;
  int ref_level = 0;
};

namespace {
const std::string kEmptyCombined(4, '\0');

// Whether `changes` (by slot) delete every record of `current` and add none:
// the leaf is then dropped from the trie instead of written as tombstones.
bool LeafEmptied(const CombinedPage& current, std::span<const SlotChange> changes) {
  for (const SlotChange& c : changes) {
    if (c.value) return false;
  }
  size_t j = 0;
  for (size_t i = 0; i < current.size(); ++i) {
    const uint32_t slot = current.at(i).slot;
    while (j < changes.size() && changes[j].slot < slot) ++j;
    if (j == changes.size() || changes[j].slot != slot) return false;
  }
  return true;
}
// What set_spill_budget counts per record besides its value: the map node
// and the key.
constexpr size_t kEntryOverhead = 80;
}  // namespace

struct WriteTrx::WrittenLeaf {
  uint64_t key;
  Segment image;
  size_t size;
  bool indirect;  // an indirect page's payload, not a combined leaf
};

WriteTrx::WriteTrx(Database* rs, std::unique_ptr<ReadTrx> base)
    : rs_(rs), base_(std::move(base)), number_(base_->revision() + 1) {}

Segment WriteTrx::KeptSegment(size_t size) {
  // Counted by the segments taken (4 KiB at least), which is what the
  // allocator's budget counts; never waited for.
  const int size_class = SegmentAllocator::ClassFor(std::max<size_t>(size, 1));
  if (size_class < 0) return Segment();
  const size_t held = kMinSegmentSize << size_class;
  if (written_bytes_ + held > rs_->written_leaves_budget_) return Segment();
  auto segment = rs_->allocator_->Allocate(size, /*may_wait=*/false);
  if (!segment.ok()) return Segment();
  written_bytes_ += held;
  return std::move(segment).value();
}

void WriteTrx::KeepImage(uint64_t offset, std::string_view payload, const CombinedPage& current,
                         std::span<const size_t> kept) {
  // Whatever goes wrong here only leaves the leaf to be read as before.
  try {
    CombinePlan plan;
    if (!plan.PlanOver(payload, current, kept).ok()) return;
    const size_t size = plan.OutputSize();
    Segment image = KeptSegment(size);
    if (!image) return;
    plan.Write(image.data());
    written_.push_back({offset, std::move(image), size, false});
  } catch (const std::bad_alloc&) {
  }
}

void WriteTrx::KeepIndirect(uint64_t offset, std::string_view payload) {
  try {
    Segment page = KeptSegment(payload.size());
    if (!page) return;
    std::memcpy(page.data(), payload.data(), payload.size());
    written_.push_back({offset, std::move(page), payload.size(), true});
  } catch (const std::bad_alloc&) {
  }
}

WriteTrx::~WriteTrx() {
  if (commit_) rs_->write_open_ = false;  // a rewrite's transactions hold no writer of their own
}

Result<PageRef> WriteTrx::AppendPage(PageKind kind, std::string_view payload) {
  return writer_->AppendPage(kind, payload);
}

int WriteTrx::PackLevel() const {
  const StoreConfig& c = rs_->store_->config();
  return c.compression == Compression::kZstd ? c.compression_level : 0;
}

Status WriteTrx::Put(uint64_t key, std::string_view value) {
  if (done_) return Status::InvalidArgument("write transaction already committed");
  if (value.size() > kMaxRecordValue) {
    return Status::InvalidArgument("record of " + std::to_string(value.size()) +
                                   " bytes exceeds the maximum of " +
                                   std::to_string(kMaxRecordValue));
  }
  auto [it, inserted] = changes_.try_emplace(key);
  if (inserted) {
    pending_bytes_ += kEntryOverhead;
  } else if (it->second) {
    pending_bytes_ -= it->second->size();
  }
  it->second = std::string(value);
  pending_bytes_ += value.size();
  return MaybeSpill();
}

Status WriteTrx::Delete(uint64_t key) {
  if (done_) return Status::InvalidArgument("write transaction already committed");
  auto [it, inserted] = changes_.try_emplace(key);
  if (inserted) {
    pending_bytes_ += kEntryOverhead;
  } else if (it->second) {
    pending_bytes_ -= it->second->size();
  }
  it->second = std::nullopt;
  return MaybeSpill();
}

size_t WriteTrx::pending() const {
  return changes_.size() + (spill_ ? spill_->Leaves().size() : 0);
}

Status WriteTrx::MaybeSpill() {
  pending_peak_ = std::max<uint64_t>(pending_peak_, pending_bytes_);
  if (pending_bytes_ <= spill_budget_) return Status::OK();
  if (!spill_) spill_ = std::make_unique<WriteSpill>(rs_->store_->env(), rs_->store_->path());
  for (auto first = changes_.begin(); first != changes_.end();) {
    const uint64_t leaf = LeafOf(first->first);
    auto last = changes_.lower_bound((leaf + 1) << kLeafBits);
    REVFS_RETURN_IF_ERROR(spill_->Put(leaf, first, last));
    first = last;
  }
  changes_.clear();
  pending_bytes_ = 0;
  ++spills_;
  return Status::OK();
}

Status WriteTrx::Unspill(uint64_t leaf) {
  if (!spill_ || !spill_->Has(leaf)) return Status::OK();
  const auto first = changes_.lower_bound(leaf << kLeafBits);
  const auto last = changes_.lower_bound((leaf + 1) << kLeafBits);
  size_t before = 0;
  for (auto it = first; it != last; ++it) {
    before += kEntryOverhead + (it->second ? it->second->size() : 0);
  }
  REVFS_RETURN_IF_ERROR(spill_->TakeInto(leaf, &changes_));
  size_t after = 0;
  for (auto it = changes_.lower_bound(leaf << kLeafBits),
            end = changes_.lower_bound((leaf + 1) << kLeafBits);
       it != end; ++it) {
    after += kEntryOverhead + (it->second ? it->second->size() : 0);
  }
  // Not spilled again before the next Put or Delete: the caller reads it
  // now. So memory stays within the budget plus one leaf.
  pending_bytes_ += after - before;
  pending_peak_ = std::max<uint64_t>(pending_peak_, pending_bytes_);
  return Status::OK();
}

Result<std::vector<SlotChange>> WriteTrx::TakeLeafChanges(uint64_t leaf) {
  if (spill_ && spill_->Has(leaf)) REVFS_RETURN_IF_ERROR(spill_->TakeInto(leaf, &changes_));
  std::vector<SlotChange> changes;
  const auto first = changes_.lower_bound(leaf << kLeafBits);
  const auto last = changes_.lower_bound((leaf + 1) << kLeafBits);
  for (auto it = first; it != last; ++it) {
    (it->second ? puts_ : deletes_) += 1;
    changes.push_back({SlotOf(it->first), std::move(it->second)});
  }
  changes_.erase(first, last);
  return changes;
}

std::unique_ptr<ReadTrx> WriteTrx::View() {
  std::unique_ptr<ReadTrx> view(new ReadTrx(rs_, number_, Database::TrieInfo{}));
  view->through_ = this;
  return view;
}

Result<std::optional<std::string>> WriteTrx::Get(uint64_t key) {
  auto it = changes_.find(key);
  if (it == changes_.end() && spill_ && spill_->Has(LeafOf(key))) {
    REVFS_RETURN_IF_ERROR(Unspill(LeafOf(key)));
    it = changes_.find(key);
  }
  if (it != changes_.end()) return it->second;
  REVFS_ASSIGN_OR_RETURN(auto record, base_->Get(key));
  if (!record) return std::optional<std::string>();
  return std::optional<std::string>(std::string(record->value()));
}

Result<uint64_t> WriteTrx::Commit(int64_t time_ns, std::string message,
                                  std::vector<std::pair<std::string, uint64_t>> counters) {
  if (done_) return Status::InvalidArgument("write transaction already committed");
  if (!commit_) return Status::InvalidArgument("a rewrite's transaction has no revision to commit");
  PageRef root;
  uint32_t height = 0;
  REVFS_RETURN_IF_ERROR(WriteTrie(&root, &height, &counters));
  REVFS_ASSIGN_OR_RETURN(uint64_t number,
                         commit_->Finish(time_ns, std::move(message), root, std::move(counters),
                                         height));
  done_ = true;
  changes_.clear();
  spill_.reset();
  rs_->commits_.fetch_add(1, std::memory_order_relaxed);
  // Durable now: its leaves and indirect pages may be cached under their new
  // offsets. An image that cannot be cached (no memory for the cache's
  // bookkeeping) only leaves its leaf to be read as before. What they
  // replace, the base revision's, a writer that reads on from its own
  // commits reads no more: dropped first, so that their segments serve the
  // next commit's images warm and the cache keeps what is still read.
  for (uint64_t key : superseded_) rs_->page_loader_->Forget(key);
  superseded_.clear();
  for (WrittenLeaf& w : written_) {
    if (w.indirect) {
      (void)rs_->page_loader_->CacheIndirect(w.key, std::move(w.image), w.size);
    } else {
      (void)rs_->page_loader_->CacheLeafImage(w.key, std::move(w.image), w.size);
    }
  }
  written_.clear();
  return number;
}

Result<std::pair<PageRef, Database::TrieInfo>> WriteTrx::CommitRewrite(RevisionRoot old) {
  if (done_) return Status::InvalidArgument("write transaction already committed");
  std::vector<std::pair<std::string, uint64_t>> counters;  // the old root's stand
  Database::TrieInfo info;
  REVFS_RETURN_IF_ERROR(WriteTrie(&info.root, &info.height, &counters));
  info.time_ns = old.time_ns;
  old.trie_root = info.root;
  old.trie_height = info.height;
  auto it = std::find_if(old.counters.begin(), old.counters.end(),
                         [](const auto& c) { return c.first == "reversioned"; });
  if (it == old.counters.end()) {
    old.counters.emplace_back("reversioned", 1);
  } else {
    ++it->second;
  }
  REVFS_ASSIGN_OR_RETURN(PageRef ref, writer_->AppendRoot(old));
  info.root_page = ref;
  done_ = true;
  changes_.clear();
  spill_.reset();
  return std::make_pair(ref, info);
}

Status WriteTrx::WriteTrie(PageRef* root_out, uint32_t* height_out,
                           std::vector<std::pair<std::string, uint64_t>>* out) {
  std::vector<std::pair<std::string, uint64_t>>& counters = *out;
  // The changed leaves, ascending; their changes are taken (from memory
  // and the spill file) one leaf at a time as each is written.
  std::vector<uint64_t> leaves = spill_ ? spill_->Leaves() : std::vector<uint64_t>{};
  for (const auto& entry : changes_) {
    if (leaves.empty() || leaves.back() != LeafOf(entry.first)) leaves.push_back(LeafOf(entry.first));
  }
  std::sort(leaves.begin(), leaves.end());
  leaves.erase(std::unique(leaves.begin(), leaves.end()), leaves.end());
  std::vector<Changed> changed;
  changed.reserve(leaves.size());
  for (uint64_t leaf : leaves) changed.push_back({leaf});
  const Database::TrieInfo& base = base_->trie_;
  PageRef root = base.root;
  int height = static_cast<int>(base.height);
  if (!changed.empty()) {
    while (height < 1 || changed.back().leaf >= LeavesCovered(height)) ++height;
    REVFS_ASSIGN_OR_RETURN(root, Rebuild(height, BasePage{base.root, static_cast<int>(base.height)},
                                         changed));
    if (root.IsNull()) height = 0;  // every record deleted
  }
  counters.emplace_back("records_put", puts_);
  counters.emplace_back("records_deleted", deletes_);
  counters.emplace_back("records_pending_peak", pending_peak_);
  counters.emplace_back("records_spills", spills_);
  counters.emplace_back("bytes_spilled", spill_ ? spill_->bytes_written() : 0);
  counters.emplace_back("leaves_written", changed.size());
  counters.emplace_back("fragments_full", fragments_full_);
  counters.emplace_back("fragments_partial", fragments_partial_);
  counters.emplace_back("indirect_pages_written", indirect_written_);
  counters.emplace_back("bytes_indirect", indirect_bytes_);
  static constexpr const char* kLeafCounters[6] = {
      "bytes_leaves_meta",        "bytes_leaves_inodes",     "bytes_leaves_maps",
      "bytes_leaves_chunk_index", "bytes_leaves_chunk_log", "bytes_leaves_other"};
  for (int k = 0; k < 6; ++k) counters.emplace_back(kLeafCounters[k], leaf_bytes_[k]);
  *root_out = root;
  *height_out = static_cast<uint32_t>(height);
  return Status::OK();
}

Result<PageRef> WriteTrx::Rebuild(int level, const BasePage& base,
                                  std::span<const Changed> changed) {
  std::vector<std::pair<uint32_t, IndirectChild>> children;
  if (!base.ref.IsNull() && base.ref_level == level) {
    REVFS_ASSIGN_OR_RETURN(PinnedView pinned, rs_->page_loader_->Indirect(base.ref));
    REVFS_ASSIGN_OR_RETURN(IndirectPage page, IndirectPage::Parse(pinned.bytes()));
    if (page.level() != level) {
      return Status::Corruption("indirect page at offset " + std::to_string(base.ref.offset) +
                                " has the wrong level");
    }
    for (size_t i = 0; i < page.size(); ++i) {
      REVFS_ASSIGN_OR_RETURN(IndirectChild child, page.child_at(i));
      children.emplace_back(page.slot_at(i), std::move(child));
    }
  } else if (!base.ref.IsNull()) {
    // The old, shorter trie hangs under slot 0 of this new upper level.
    children.emplace_back(0, base.ref);
  }
  // The position of `slot` among the children (sorted by slot), and
  // whether a child is there.
  auto at = [&](uint32_t slot) {
    auto it = std::lower_bound(children.begin(), children.end(), slot,
                               [](const auto& c, uint32_t s) { return c.first < s; });
    return std::pair(it, it != children.end() && it->first == slot);
  };
  auto find = [&](uint32_t slot) -> IndirectChild* {
    auto [it, there] = at(slot);
    return there ? &it->second : nullptr;
  };
  auto set = [&](uint32_t slot, IndirectChild child) {
    auto [it, there] = at(slot);
    if (there) {
      it->second = std::move(child);
    } else {
      children.emplace(it, slot, std::move(child));
    }
  };
  auto erase = [&](uint32_t slot) {
    auto [it, there] = at(slot);
    if (there) children.erase(it);
  };

  for (size_t i = 0; i < changed.size();) {
    const uint32_t slot = IndirectSlot(changed[i].leaf, level);
    size_t j = i;
    while (j < changed.size() && IndirectSlot(changed[j].leaf, level) == slot) ++j;
    IndirectChild* existing = find(slot);
    if (level == 1) {
      std::optional<LeafRef> prev;
      if (existing) prev = std::get<LeafRef>(*existing);
      REVFS_ASSIGN_OR_RETURN(std::vector<SlotChange> changes, TakeLeafChanges(changed[i].leaf));
      REVFS_ASSIGN_OR_RETURN(std::optional<LeafRef> leaf, WriteLeaf(changed[i].leaf, prev, changes));
      if (leaf) {
        set(slot, std::move(*leaf));
      } else {
        erase(slot);  // no record left
      }
    } else {
      BasePage child_base;
      if (existing) {
        child_base.ref = std::get<PageRef>(*existing);
        if (base.ref_level == level) {
          REVFS_ASSIGN_OR_RETURN(child_base.ref_level, PageLevel(child_base.ref, level));
        } else {
          child_base.ref_level = base.ref_level;  // the old, shorter trie under slot 0
        }
      }
      // The child gets the smallest level that covers its leaves (path
      // compression: engine/FORMAT.md, format 2).
      int child_level = std::max(1, child_base.ref_level);
      for (size_t k = i; k < j; ++k) {
        while (!ChildCovers(changed[k].leaf, level, child_level)) ++child_level;
      }
      REVFS_ASSIGN_OR_RETURN(PageRef ref,
                             Rebuild(child_level, child_base, changed.subspan(i, j - i)));
      if (ref.IsNull()) {
        erase(slot);  // no leaf left below
      } else {
        set(slot, ref);
      }
    }
    i = j;
  }

  if (children.empty()) return PageRef{};  // nothing left below: no page
  IndirectPageBuilder builder(level);
  for (const auto& [slot, child] : children) builder.Add(slot, child);
  const std::string payload = builder.Finish();
  REVFS_ASSIGN_OR_RETURN(PageRef ref, writer_->AppendPage(PageKind::kIndirect,
                                                          PackRecordPage(payload, PackLevel())));
  // The next commit descends through this page again: cached as read.
  if (commit_ && rs_->written_leaves_budget_ > 0) {
    KeepIndirect(ref.offset, payload);
    if (!base.ref.IsNull() && base.ref_level == level) superseded_.push_back(base.ref.offset);
  }
  ++indirect_written_;
  indirect_bytes_ += ref.size;
  return ref;
}

Result<int> WriteTrx::PageLevel(const PageRef& ref, int parent_level) {
  REVFS_ASSIGN_OR_RETURN(PinnedView pinned, rs_->page_loader_->Indirect(ref));
  REVFS_ASSIGN_OR_RETURN(IndirectPage page, IndirectPage::Parse(pinned.bytes()));
  if (page.level() >= parent_level) {
    return Status::Corruption("indirect page at offset " + std::to_string(ref.offset) +
                              " has the wrong level");
  }
  return page.level();
}

Result<std::optional<LeafRef>> WriteTrx::WriteLeaf(uint64_t leaf,
                                                   const std::optional<LeafRef>& prev,
                                                   std::span<const SlotChange> changes) {
  std::optional<PinnedView> combined, newest;
  FragmentView newest_view;
  LeafRef base;  // prev, with its whole chain
  if (prev) {
    // The newest fragment is decoded whole for the plan; its tail resolves
    // the chain, which is then combined.
    base = *prev;
    REVFS_ASSIGN_OR_RETURN(newest, rs_->page_loader_->Fragment(base.chain.front()));
    Status s = DecodeFragment(newest->bytes(), &newest_view);
    if (s.ok()) s = base.AppendTail(newest_view.has_tail ? &newest_view.tail : nullptr);
    if (!s.ok()) {
      return s.WithContext("leaf fragment at offset " + std::to_string(base.chain[0].page.offset));
    }
    size_t n = 0;
    REVFS_ASSIGN_OR_RETURN(combined, rs_->page_loader_->Leaf(base, &n));
    if (n) rs_->NoteLeafLoad(n);
  }
  CombinedPage current(combined ? combined->bytes() : std::string_view(kEmptyCombined));
  if (LeafEmptied(current, changes)) return std::optional<LeafRef>();
  FragmentPlan plan = PlanFragment(rs_->store_->config(), prev ? &base : nullptr, current,
                                   prev ? &newest_view : nullptr, changes);
  // The new fragment names the older ones it keeps (its tail), so the
  // level-1 page names it alone.
  std::vector<FragmentRef> tail;
  for (size_t i : plan.keep) tail.push_back(base.chain[i]);
  std::string payload = EncodeFragment(leaf, revision(), plan.full_dump, plan.records, &tail);
  REVFS_ASSIGN_OR_RETURN(PageRef ref, writer_->AppendPage(PageKind::kLeafFragment,
                                                          PackRecordPage(payload, PackLevel())));
  if (commit_ && rs_->written_leaves_budget_ > 0) {
    if (prev) superseded_.push_back(base.chain.front().page.offset);
    KeepImage(ref.offset, payload, current, plan.keep);
  }
  (plan.full_dump ? fragments_full_ : fragments_partial_) += 1;
  leaf_bytes_[std::min<uint64_t>(leaf >> (60 - kLeafBits), 5)] += ref.size;
  LeafRef next;
  next.versions = plan.versions;
  next.chain.push_back({ref, revision()});
  next.chain.insert(next.chain.end(), tail.begin(), tail.end());
  next.tail_in_head = true;
  next.length = static_cast<uint32_t>(next.chain.size());
  return std::optional<LeafRef>(std::move(next));
}

}  // namespace revfs
