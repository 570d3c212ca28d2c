// Database::Verify: walks every record trie of every revision. Shared
// subtries are checked once (by page offset), so the walk costs what the
// store holds, not revisions x trie size.
#include <unordered_set>

#include "revfs/database.h"
#include "records/indirect_page.h"
#include "records/record_page.h"
#include "store/page_log.h"

namespace revfs {

struct Database::VerifyState {
  VerifyReport* report = nullptr;
  const RecordCheck* check = nullptr;  // may be empty
  uint64_t revision = 0;
  std::unordered_set<uint64_t> seen;  // page offsets already checked
  std::string buf;

  void Damage(uint64_t offset, std::string what) {
    report->damage.push_back({revision, "pages", offset, std::move(what)});
  }
};

Status Database::Verify(VerifyReport* report, const RecordCheck& check) {
  REVFS_RETURN_IF_ERROR(store_->Verify(report));
  VerifyState st;
  st.report = report;
  st.check = &check;
  const uint64_t latest = store_->latest_revision();
  for (uint64_t n = 0; n <= latest; ++n) {
    auto root = store_->ReadRevisionRoot(n);
    if (!root.ok()) continue;  // reported by Store::Verify
    st.revision = n;
    if (root->trie_root.IsNull()) continue;
    if (root->trie_height < 1 || root->trie_height > kMaxTrieHeight) {
      st.Damage(root->trie_root.offset, "record trie has an impossible height");
      continue;
    }
    VerifyTriePage(st, root->trie_root, static_cast<int>(root->trie_height) + 1, 0, true);
  }
  return Status::OK();
}

void Database::VerifyTriePage(VerifyState& st, const PageRef& ref, int parent,
                             uint64_t first_leaf, bool root) {
  if (!st.seen.insert(ref.offset).second) return;
  PageView view;
  Status s = store_->pages().Read(ref, PageKind::kIndirect, &st.buf, &view);
  if (!s.ok()) return st.Damage(ref.offset, std::string(s.message()));
  auto unpacked = UnpackRecordPage(view.payload);
  if (!unpacked.ok()) return st.Damage(ref.offset, std::string(unpacked.status().message()));
  const std::string payload = std::move(unpacked).value();
  auto page = IndirectPage::Parse(payload);
  if (!page.ok()) return st.Damage(ref.offset, std::string(page.status().message()));
  const int level = page->level();
  if (root ? level != parent - 1 : level >= parent) {
    return st.Damage(ref.offset, "indirect page has the wrong level");
  }
  const uint64_t span = LeavesCovered(level - 1);
  for (size_t i = 0; i < page->size(); ++i) {
    auto child = page->child_at(i);
    if (!child.ok()) {
      st.Damage(ref.offset, std::string(child.status().message()));
      continue;
    }
    const uint64_t child_first = first_leaf + page->slot_at(i) * span;
    if (level > 1) {
      VerifyTriePage(st, std::get<PageRef>(*child), level, child_first, false);
    } else {
      VerifyLeaf(st, std::get<LeafRef>(*child), child_first);
    }
  }
}

void Database::VerifyLeaf(VerifyState& st, const LeafRef& ref, uint64_t number) {
  const StoreConfig& c = store_->config();
  const size_t bound = c.versioning == Versioning::kFull           ? 1
                       : c.versioning == Versioning::kDifferential ? 2
                       : c.versioning == Versioning::kIncremental  ? c.full_dump_every
                                                                   : c.window;
  const uint64_t newest = ref.chain.front().page.offset;
  if (st.seen.count(newest)) return;  // this exact chain was checked already
  const size_t length = ref.chain_length();
  if (length > bound) {
    st.Damage(newest, "leaf " + std::to_string(number) + " chains " + std::to_string(length) +
                          " fragments, more than the approach allows");
  }
  // The older fragments of a chain named by its newest come from its tail
  // (read below, with the newest).
  LeafRef leaf = ref;
  std::vector<std::string> payloads;
  uint64_t prev_revision = UINT64_MAX;
  for (size_t k = 0; k < leaf.chain.size(); ++k) {
    const FragmentRef f = leaf.chain[k];
    PageView view;
    Status s = store_->pages().Read(f.page, PageKind::kLeafFragment, &st.buf, &view);
    if (!s.ok()) return st.Damage(f.page.offset, std::string(s.message()));
    auto unpacked = UnpackRecordPage(view.payload);
    if (!unpacked.ok()) return st.Damage(f.page.offset, std::string(unpacked.status().message()));
    payloads.push_back(std::move(unpacked).value());
    FragmentView fv;
    s = DecodeFragment(payloads.back(), &fv);
    if (!s.ok()) return st.Damage(f.page.offset, std::string(s.message()));
    if (fv.leaf != number || fv.revision != f.revision || f.revision > st.revision ||
        f.revision >= prev_revision) {
      return st.Damage(f.page.offset, "fragment does not belong where it is referenced");
    }
    if (k == 0) {
      s = leaf.AppendTail(fv.has_tail ? &fv.tail : nullptr);
      if (!s.ok()) return st.Damage(f.page.offset, std::string(s.message()));
    }
    prev_revision = f.revision;
    st.seen.insert(f.page.offset);
  }
  if (c.versioning != Versioning::kSliding) {
    FragmentView oldest;
    if (DecodeFragment(payloads.back(), &oldest).ok() && !oldest.full_dump) {
      st.Damage(leaf.chain.back().page.offset, "fragment chain does not end in a full dump");
    }
  }
  std::vector<std::string_view> views(payloads.begin(), payloads.end());
  CombinePlan plan;
  Status s = plan.Plan(views);
  if (!s.ok()) return st.Damage(newest, std::string(s.message()));
  if (!*st.check) return;
  std::string image(plan.OutputSize(), '\0');
  plan.Write(image.data());
  CombinedPage page(image);
  for (size_t i = 0; i < page.size(); ++i) {
    const CombinedPage::Record r = page.at(i);
    std::string what = (*st.check)((number << kLeafBits) | r.slot, r.value);
    if (!what.empty()) st.Damage(newest, std::move(what));
  }
}

}  // namespace revfs
