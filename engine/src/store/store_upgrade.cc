// Store::Upgrade: format 2 to format 3. Order of writes, which makes it
// restartable (engine/FORMAT.md, "Upgrade from format 2"):
//   1. STORE/segments/ is made and STORE/pages renamed into it as segment 0
//      (every page address stays valid: format 2's offsets are segment 0's);
//      the directories are synced;
//   2. the slot not in force is written as format 3 with the next
//      generation and the flag kFlagFormat2Index, and synced; then the
//      other slot, as format 3 with its own generation and the flag;
//   3. (FinishUpgrade, tree layer) the latest revision is rewritten without
//      format 2's chunk index, and the switch clears the flag.
// Until step 2 is durable the store is refused as format 2, and a rerun
// finds segment 0 in place and writes the slot.
#include <optional>
#include <string>

#include "revfs/store.h"
#include "store/page.h"
#include "store/segment_file.h"
#include "store/store_files.h"
#include "store/superblock.h"

namespace revfs {

Status Store::Upgrade(const std::string& path, const StoreOptions& options,
                      UpgradeReport* report) {
  Env* env = options.env ? options.env : Env::Default();
  if (!env->IsDirectory(path)) {
    return env->FileExists(path) ? Status::InvalidArgument(path + ": not a revfs store")
                                 : Status::NotFound(path + ": no such store");
  }
  if (!env->FileExists(StoreSuperblockPath(path))) {
    return Status::InvalidArgument(path + ": not a revfs store");
  }
  auto lock = env->LockFile(StoreLockPath(path));
  if (!lock.ok()) {
    if (lock.status().IsBusy()) return Status::Busy(path + ": store is locked by another writer");
    return std::move(lock).status();
  }
  REVFS_ASSIGN_OR_RETURN(auto file, env->NewRandomRWFile(StoreSuperblockPath(path), false));
  // The slot in force: the valid one with the highest generation.
  std::optional<Superblock> slots[kSuperblockSlots];
  int best = -1;
  Status why = Status::Corruption(path + ": superblock: no valid slot");
  for (int i = 0; i < kSuperblockSlots; ++i) {
    std::string bytes(kSuperblockSlotSize, '\0');
    size_t got = 0;
    REVFS_RETURN_IF_ERROR(file->Read(i * kSuperblockSlotSize, bytes.size(), bytes.data(), &got));
    bytes.resize(got);
    auto slot = DecodeSuperblockForUpgrade(bytes);
    if (!slot.ok()) {
      if (slot.status().code() == Status::Code::kNotSupported) why = slot.status().WithContext(path);
      continue;
    }
    slots[i] = *slot;
    if (best < 0 || slot->generation > slots[best]->generation) best = i;
  }
  if (best < 0) return why;
  Superblock sb = *slots[best];
  const int other = 1 - best;
  report->from_format = sb.format_version;
  report->revisions = sb.latest_revision + 1;
  // The older slot, rewritten as this format with its own generation once
  // the newer one is (so that verify finds no slot of another format).
  auto rewrite_other = [&]() -> Status {
    if (!slots[other] || slots[other]->format_version == kStoreFormatVersion) {
      return Status::OK();
    }
    Superblock old = *slots[other];
    old.format_version = kStoreFormatVersion;
    old.flags = kFlagFormat2Index;  // older than the slot in force: format 2's index
    REVFS_RETURN_IF_ERROR(file->Write(other * kSuperblockSlotSize, EncodeSuperblock(old)));
    return file->Sync();
  };
  if (sb.format_version == kStoreFormatVersion) return rewrite_other();
  const std::string segments = StoreSegmentsPath(path);
  const std::string pages = path + "/pages";
  const std::string segment0 = segments + "/" + SegmentName(0);
  if (env->FileExists(pages)) {
    if (!env->IsDirectory(segments)) REVFS_RETURN_IF_ERROR(env->CreateDir(segments));
    if (env->FileExists(segment0)) {
      return Status::Corruption(path + ": both pages and segments/" + SegmentName(0) +
                                " exist; move one aside");
    }
    REVFS_RETURN_IF_ERROR(env->RenameFile(pages, segment0));
    REVFS_RETURN_IF_ERROR(env->SyncDir(segments));
    REVFS_RETURN_IF_ERROR(env->SyncDir(path));
  } else if (!env->FileExists(segment0)) {
    return Status::Corruption(path + ": the page log (pages) is missing");
  }
  REVFS_ASSIGN_OR_RETURN(report->page_bytes, env->GetFileSize(segment0));
  if (sb.pages_end > report->page_bytes || sb.pages_end > kSegmentSpan) {
    return Status::Corruption(path + ": the superblock's page log end " +
                              std::to_string(sb.pages_end) + " is past the page log (" +
                              std::to_string(report->page_bytes) + " bytes)");
  }
  // The next generation goes in the slot not in force (as a commit's
  // does), so a torn write leaves the format-2 slot to upgrade again.
  // Format 2's chunk index stays in the latest revision until FinishUpgrade
  // (tree layer) drops it; the flag keeps commits from reading it.
  sb.format_version = kStoreFormatVersion;
  sb.flags = kFlagFormat2Index;
  sb.generation += 1;
  REVFS_RETURN_IF_ERROR(file->Write(other * kSuperblockSlotSize, EncodeSuperblock(sb)));
  REVFS_RETURN_IF_ERROR(file->Sync());
  slots[other].reset();
  // The slot that was in force, as this format with its own generation.
  Superblock old = *slots[best];
  old.format_version = kStoreFormatVersion;
  old.flags = kFlagFormat2Index;
  REVFS_RETURN_IF_ERROR(file->Write(best * kSuperblockSlotSize, EncodeSuperblock(old)));
  return file->Sync();
}

}  // namespace revfs
