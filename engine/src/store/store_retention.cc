// Store: retention — forget, hold, release, and what readers see of them.
// Order of durability (the same switch as a commit's, revision_writer.cc):
//   1. the new retention page is appended to the pages, then fdatasync;
//   2. the next superblock slot, naming it, is written, then fdatasync.
// Until step 2 is durable, Open picks the previous slot, whose retention
// page and pages end exclude what this change appended.
#include <algorithm>
#include <string>

#include "revfs/store.h"
#include "store/page_log.h"
#include "store/revision_writer.h"
#include "store/segment_file.h"
#include "store/superblock.h"
#include "store/retention.h"
#include "store/store_files.h"
#include "store/store_state.h"

namespace revfs {

Status Store::LoadRetention(const Superblock& sb, RetentionState* out) const {
  if (sb.retention.IsNull()) {
    *out = RetentionState{};
    return Status::OK();
  }
  std::string buf;
  PageView view;
  REVFS_RETURN_IF_ERROR(pages_->Read(sb.retention, PageKind::kRetention, &buf, &view));
  auto st = DecodeRetention(view.payload);
  if (!st.ok()) {
    return st.status().WithContext(pages_->path() + ": offset " +
                                   std::to_string(sb.retention.offset));
  }
  *out = std::move(st).value();
  return Status::OK();
}

Status Store::SwitchRetention(const RetentionState& next) {
  if (!lock_) return Status::ReadOnly(path_ + ": store was opened read-only");
  if (writer_open_) {
    return Status::Busy(path_ + ": a commit is in progress; try again when it ends");
  }
  if (dirty_ || !index_writer_) REVFS_RETURN_IF_ERROR(PrepareAppend());
  return CommitRetention(next);
}

Status Store::CommitRetention(const RetentionState& next, uint32_t clear_flags) {
  dirty_ = true;
  const Superblock prev = superblock();
  REVFS_ASSIGN_OR_RETURN(PageRef ref,
                         pages_->Append(PageKind::kRetention, EncodeRetention(next)));
  REVFS_RETURN_IF_ERROR(pages_->Sync());
  Superblock sb = prev;
  sb.generation = prev.generation + 1;
  sb.pages_end = pages_->append_end();
  sb.retention = ref;
  sb.flags &= ~clear_flags;
  REVFS_RETURN_IF_ERROR(WriteSuperblock(sb));
  WriterMutexLock lock(&state_->mu);
  if (sb.generation > state_->sb.generation) {
    state_->sb = sb;
    state_->retention = next;
  }
  dirty_ = false;
  return Status::OK();
}

Status Store::Forget(const std::vector<uint64_t>& revisions) {
  if (!lock_) return Status::ReadOnly(path_ + ": store was opened read-only");
  RetentionState next;
  {
    ReaderMutexLock lock(&state_->mu);
    const uint64_t latest = state_->sb.latest_revision;
    next = state_->retention;
    std::vector<uint64_t> sorted = revisions;
    std::sort(sorted.begin(), sorted.end());
    for (uint64_t r : sorted) {
      const std::string name = "revision " + std::to_string(r);
      if (r > latest) {
        return Status::NotFound(name + " does not exist (latest is " +
                                std::to_string(latest) + ")");
      }
      if (next.IsForgotten(r)) return Status::NotFound(name + " is already forgotten");
      if (r == latest) {
        return Status::InvalidArgument(name + " is the latest; it cannot be forgotten");
      }
      if (const RevisionHold* h = next.HoldOf(r)) {
        return Status::InvalidArgument(name + " is held" +
                                       (h->tag.empty() ? "" : " (tag " + h->tag + ")") +
                                       "; release it first");
      }
    }
  }
  if (revisions.empty()) return Status::OK();
  next.AddForgotten(revisions);
  return SwitchRetention(next);
}

Result<std::unique_ptr<RevisionWriter>> Store::BeginRewrite() {
  REVFS_ASSIGN_OR_RETURN(std::unique_ptr<RevisionWriter> rewrite, BeginRevision());
  rewrite->rewrite_ = true;
  return rewrite;
}

Status Store::InstallRoots(RevisionWriter* rewrite,
                           const std::vector<RetentionState::RootOverride>& roots,
                           uint32_t clear_flags) {
  if (rewrite->finished_ || !rewrite->rewrite_) {
    return Status::InvalidArgument("not a rewrite in progress");
  }
  rewrite->finished_ = true;
  RetentionState next = retention();
  const uint64_t latest = latest_revision();
  for (const RetentionState::RootOverride& o : roots) {
    if (o.revision > latest || next.IsForgotten(o.revision) || o.root.IsNull()) {
      return Status::InvalidArgument("revision " + std::to_string(o.revision) +
                                     " is not a kept revision; its root stays");
    }
    auto it = std::lower_bound(
        next.overrides.begin(), next.overrides.end(), o.revision,
        [](const RetentionState::RootOverride& x, uint64_t r) { return x.revision < r; });
    if (it != next.overrides.end() && it->revision == o.revision) {
      it->root = o.root;
    } else {
      next.overrides.insert(it, o);
    }
  }
  // The pages the new roots reach are durable before the switch names them
  // (CommitRetention syncs them with the retention page it appends).
  REVFS_RETURN_IF_ERROR(CommitRetention(next, clear_flags));
  // Once more, into the other superblock slot: the older one names the
  // pages' end before the rewrite, maybe in a segment the rewrite left
  // without a live page, which packing then deletes (as SealNewestSegment).
  return CommitRetention(next, clear_flags);
}

Status Store::SealNewestSegment() {
  if (!lock_) return Status::ReadOnly(path_ + ": store was opened read-only");
  if (writer_open_) return Status::Busy(path_ + ": a commit is in progress");
  if (dirty_ || !index_writer_) REVFS_RETURN_IF_ERROR(PrepareAppend());
  pages_->RollBeforeNextAppend();
  // Both superblock slots then end in the new segment, so the older one
  // stays a valid fallback once the sealed segment is packed.
  return SettleSlots();
}

Result<bool> Store::FallbackSlotInOlderSegment() const {
  REVFS_ASSIGN_OR_RETURN(SlotChoice choice, ChooseSuperblock(env_, path_, *superblock_reader_));
  const Superblock in_force = superblock();
  const uint32_t newest = SegmentOf(in_force.pages_end - 1);
  static_assert(kSuperblockSlots == 2);
  auto other = DecodeSuperblock(choice.slot_bytes[1 - choice.slot], path_);
  if (!other.ok() || other->pages_end == 0) return false;
  return SegmentOf(other->pages_end - 1) != newest;
}

Status Store::SettleSlots() {
  REVFS_RETURN_IF_ERROR(SwitchRetention(retention()));
  return SwitchRetention(retention());
}

Status Store::RecordPrune(const std::map<uint32_t, uint64_t>& live_bytes) {
  RetentionState next = retention();
  next.segments.clear();
  for (const auto& [segment, bytes] : live_bytes) next.segments.push_back({segment, bytes});
  return SwitchRetention(next);
}

Status Store::Hold(uint64_t revision, std::string tag) {
  if (!lock_) return Status::ReadOnly(path_ + ": store was opened read-only");
  if (tag.size() > kMaxHoldTag) {
    return Status::InvalidArgument("hold tag is longer than " + std::to_string(kMaxHoldTag) +
                                   " bytes");
  }
  REVFS_RETURN_IF_ERROR(GetRevision(revision).status());
  RetentionState next = retention();
  RevisionHold h{revision, std::move(tag)};
  auto it = std::lower_bound(
      next.holds.begin(), next.holds.end(), revision,
      [](const RevisionHold& x, uint64_t r) { return x.revision < r; });
  if (it != next.holds.end() && it->revision == revision) {
    if (it->tag == h.tag) return Status::OK();
    *it = std::move(h);
  } else {
    next.holds.insert(it, std::move(h));
  }
  return SwitchRetention(next);
}

Status Store::Release(uint64_t revision) {
  if (!lock_) return Status::ReadOnly(path_ + ": store was opened read-only");
  RetentionState next = retention();
  auto it = std::find_if(next.holds.begin(), next.holds.end(),
                         [&](const RevisionHold& h) { return h.revision == revision; });
  if (it == next.holds.end()) {
    return Status::NotFound("revision " + std::to_string(revision) + " is not held");
  }
  next.holds.erase(it);
  return SwitchRetention(next);
}

bool Store::IsForgotten(uint64_t revision) const {
  ReaderMutexLock lock(&state_->mu);
  return state_->retention.IsForgotten(revision);
}

std::vector<uint64_t> Store::KeptRevisions() const {
  ReaderMutexLock lock(&state_->mu);
  std::vector<uint64_t> kept;
  const auto& ranges = state_->retention.forgotten;
  size_t g = 0;
  for (uint64_t r = 0; r <= state_->sb.latest_revision; ++r) {
    while (g < ranges.size() && ranges[g].first + ranges[g].count <= r) ++g;
    if (g < ranges.size() && r >= ranges[g].first) {
      r = ranges[g].first + ranges[g].count - 1;
      continue;
    }
    kept.push_back(r);
  }
  return kept;
}

std::vector<RevisionHold> Store::Holds() const {
  ReaderMutexLock lock(&state_->mu);
  return state_->retention.holds;
}

RetentionState Store::retention() const {
  ReaderMutexLock lock(&state_->mu);
  return state_->retention;
}

}  // namespace revfs
