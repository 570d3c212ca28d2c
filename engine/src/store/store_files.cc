#include "store/store_files.h"

#include "store/segment_file.h"

namespace revfs {
namespace {

// Returns whether the segment holding the page that ends at `pages_end` is
// on disk and long enough. (The newest segment is never packed.)
bool PagesEndFits(Env* env, const std::string& dir, uint64_t pages_end) {
  if (pages_end == 0) return false;
  const uint32_t last = SegmentOf(pages_end - 1);
  auto size = env->GetFileSize(StoreSegmentsPath(dir) + "/" + SegmentName(last));
  return size.ok() && *size >= pages_end - SegmentBase(last);
}

}  // namespace

Result<uint64_t> SegmentFilesBytes(Env* env, const std::string& dir) {
  const std::string segments = StoreSegmentsPath(dir);
  REVFS_ASSIGN_OR_RETURN(std::vector<std::string> names, env->GetChildren(segments));
  uint64_t total = 0;
  for (const std::string& name : names) {
    uint32_t n = 0;
    SegmentFileKind kind;
    if (!ParseSegmentName(name, &n, &kind)) continue;
    REVFS_ASSIGN_OR_RETURN(uint64_t size, env->GetFileSize(segments + "/" + name));
    total += size;
  }
  return total;
}

Result<SlotChoice> ChooseSuperblock(Env* env, const std::string& dir,
                                    const RandomAccessFile& file) {
  SlotChoice choice;
  REVFS_ASSIGN_OR_RETURN(uint64_t index_size, env->GetFileSize(StoreIndexPath(dir)));
  int best = -1;
  bool other_format = false;
  for (int i = 0; i < kSuperblockSlots; ++i) {
    std::string& bytes = choice.slot_bytes[i];
    bytes.assign(kSuperblockSlotSize, '\0');
    size_t got = 0;
    REVFS_RETURN_IF_ERROR(file.Read(i * kSuperblockSlotSize, bytes.size(),
                                    bytes.data(), &got));
    bytes.resize(got);
    auto sb = DecodeSuperblock(bytes, dir);
    if (!sb.ok()) {
      if (sb.status().code() == Status::Code::kNotSupported) other_format = true;
      choice.slot_status[i] = sb.status();
      continue;
    }
    if (!PagesEndFits(env, dir, sb->pages_end) || sb->index_end > index_size ||
        sb->index_end != (sb->latest_revision + 1) * kRevisionEntrySize) {
      choice.slot_status[i] =
          Status::Corruption("superblock slot points past the end of the store files");
      continue;
    }
    if (best < 0 || sb->generation > choice.sb.generation) {
      best = i;
      choice.sb = *sb;
    }
  }
  if (best < 0) {
    if (other_format) return choice.slot_status[0].code() == Status::Code::kNotSupported
                                 ? choice.slot_status[0].WithContext(dir)
                                 : choice.slot_status[1].WithContext(dir);
    return Status::Corruption(dir + ": superblock: no valid slot");
  }
  choice.slot = best;
  return choice;
}

}  // namespace revfs
