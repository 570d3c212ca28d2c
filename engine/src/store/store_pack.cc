// Store::PackSegments: prune's storage step. Order of writes, which the
// crash argument (engine/FORMAT.md, "Prune") rests on:
//   1. the packed file is written under a temporary name and fdatasync'ed;
//   2. it is renamed to %010u.packed and the directory is synced;
//   3. only then is the plain file unlinked (and the directory synced).
// A segment is unlinked whole only when nothing live is in it. So at every
// moment every live address is readable from the plain or the packed file.
#include <set>
#include <string>
#include <vector>

#include "revfs/store.h"
#include "store/page_log.h"
#include "store/segment_file.h"
#include "store/store_files.h"

namespace revfs {

Status Store::PackSegments(const LiveSet& live, const PackOptions& options,
                           PackReport* report) {
  if (!lock_ && !options.dry_run) {
    return Status::ReadOnly(path_ + ": store was opened read-only");
  }
  if (writer_open_) return Status::Busy(path_ + ": a commit is in progress");
  if (options.max_unused_percent > 100) {
    return Status::InvalidArgument("max-unused: " + std::to_string(options.max_unused_percent) +
                                   " is not a percentage");
  }
  // Bytes past the committed end (a failed commit) are dropped first, so
  // that the newest segment is the one the superblock names.
  if (!options.dry_run && (dirty_ || !index_writer_)) REVFS_RETURN_IF_ERROR(PrepareAppend());
  const Superblock sb = superblock();
  const uint32_t newest = SegmentOf(sb.pages_end - 1);
  const std::string dir = StoreSegmentsPath(path_);
  REVFS_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->GetChildren(dir));
  std::set<uint32_t> segments;
  bool removed = false;
  for (const std::string& name : names) {
    uint32_t n = 0;
    SegmentFileKind kind;
    if (!ParseSegmentName(name, &n, &kind) || n > newest) continue;
    if (n == newest && !options.include_newest) continue;
    if (kind == SegmentFileKind::kTemp) {  // a crashed pack's
      if (!options.dry_run) REVFS_RETURN_IF_ERROR(env_->RemoveFile(dir + "/" + name));
      ++report->leftovers_removed;
      removed = true;
      continue;
    }
    segments.insert(n);
  }
  if (removed) REVFS_RETURN_IF_ERROR(env_->SyncDir(dir));
  static const std::map<uint64_t, uint32_t> kNothing;
  for (uint32_t n : segments) {
    auto it = live.segments.find(n);
    REVFS_RETURN_IF_ERROR(
        PackSegment(n, it == live.segments.end() ? kNothing : it->second, options, report));
  }
  return Status::OK();
}

Status Store::PackSegment(uint32_t n, const std::map<uint64_t, uint32_t>& live,
                          const PackOptions& options, PackReport* report) {
  const std::string dir = StoreSegmentsPath(path_);
  const std::string plain = pages_->SegmentPath(n);
  const std::string packed = pages_->PackedPath(n);
  // Open the segment afresh (not through the readers' handles, which may
  // predate this process's last pack).
  pages_->Forget(n);
  REVFS_ASSIGN_OR_RETURN(std::shared_ptr<const SegmentFile> seg, pages_->OpenSegment(n));
  if (!seg->file) return Status::OK();  // gone between the listing and now
  uint64_t stored = 0;
  if (seg->packed) {
    for (const PackedEntry& e : seg->table) stored += e.size;
  } else {
    REVFS_ASSIGN_OR_RETURN(stored, seg->file->Size());
  }
  uint64_t live_bytes = 0;
  for (const auto& [address, size] : live) live_bytes += size;
  report->bytes_before += stored;

  auto unlink_plain_leftover = [&]() -> Status {
    if (!seg->packed || !env_->FileExists(plain)) return Status::OK();
    ++report->leftovers_removed;
    if (options.dry_run) return Status::OK();
    // The packed file's name must be durable before the plain one goes.
    REVFS_RETURN_IF_ERROR(env_->SyncDir(dir));
    REVFS_RETURN_IF_ERROR(env_->RemoveFile(plain));
    REVFS_RETURN_IF_ERROR(env_->SyncDir(dir));
    return Status::OK();
  };

  if (live.empty()) {
    ++report->segments_deleted;
    if (options.dry_run) return Status::OK();
    if (seg->packed) REVFS_RETURN_IF_ERROR(env_->RemoveFile(packed));
    if (env_->FileExists(plain)) REVFS_RETURN_IF_ERROR(env_->RemoveFile(plain));
    REVFS_RETURN_IF_ERROR(env_->SyncDir(dir));
    pages_->Forget(n);
    return Status::OK();
  }
  report->live_bytes[n] = live_bytes;
  const uint64_t dead = stored > live_bytes ? stored - live_bytes : 0;
  if (dead * 100 <= stored * options.max_unused_percent) {
    REVFS_RETURN_IF_ERROR(unlink_plain_leftover());
    report->bytes_after += stored;
    return Status::OK();
  }

  report->bytes_copied += live_bytes;
  if (options.dry_run) {
    ++report->segments_packed;
    report->bytes_after += live_bytes;
    return Status::OK();
  }
  // Read every live page and check it before anything is written: a page
  // named live that this segment does not hold intact stops the pack.
  std::vector<uint64_t> addresses;
  std::vector<uint32_t> sizes;
  std::vector<std::string> pages;
  for (const auto& [address, size] : live) {
    if (SegmentOf(address) != n) {
      return Status::InvalidArgument("live page at offset " + std::to_string(address) +
                                     " listed under segment " + std::to_string(n));
    }
    std::string bytes(size, '\0');
    PageView view;
    REVFS_RETURN_IF_ERROR(pages_->ReadUnreferenced(address, size, bytes.data(), &view));
    addresses.push_back(InSegment(address));
    sizes.push_back(size);
    pages.push_back(std::move(bytes));
  }

  std::vector<PackedEntry> table;
  const std::string head = EncodePackedHead(n, addresses, sizes, &table);
  const std::string tmp = dir + "/" + PackedTempName(n);
  if (env_->FileExists(tmp)) REVFS_RETURN_IF_ERROR(env_->RemoveFile(tmp));
  {
    REVFS_ASSIGN_OR_RETURN(auto out, env_->NewAppendableFile(tmp));
    REVFS_RETURN_IF_ERROR(out->Append(head));
    for (const std::string& page : pages) REVFS_RETURN_IF_ERROR(out->Append(page));
    REVFS_RETURN_IF_ERROR(out->Sync());
    REVFS_RETURN_IF_ERROR(out->Close());
  }
  REVFS_RETURN_IF_ERROR(env_->RenameFile(tmp, packed));
  REVFS_RETURN_IF_ERROR(env_->SyncDir(dir));
  // New reads go to the packed file from here on; reads under way finish
  // on the plain (or older packed) file they hold open.
  pages_->Forget(n);
  if (env_->FileExists(plain)) {
    REVFS_RETURN_IF_ERROR(env_->RemoveFile(plain));
    REVFS_RETURN_IF_ERROR(env_->SyncDir(dir));
  }
  ++report->segments_packed;
  report->bytes_after += live_bytes;
  return Status::OK();
}

}  // namespace revfs
