#include "store/store_files.h"

namespace revfs {

Result<SlotChoice> ChooseSuperblock(Env* env, const std::string& dir,
                                    const RandomAccessFile& file) {
  SlotChoice choice;
  REVFS_ASSIGN_OR_RETURN(uint64_t pages_size, env->GetFileSize(StorePagesPath(dir)));
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
    auto sb = DecodeSuperblock(bytes);
    if (!sb.ok()) {
      if (sb.status().code() == Status::Code::kNotSupported) other_format = true;
      choice.slot_status[i] = sb.status();
      continue;
    }
    if (sb->pages_end > pages_size || sb->index_end > index_size ||
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
