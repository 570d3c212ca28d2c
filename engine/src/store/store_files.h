// Internal to Store: file names inside a store directory and the choice of
// the superblock slot in force.
#ifndef REVFS_STORE_STORE_FILES_H_
#define REVFS_STORE_STORE_FILES_H_

#include <filesystem>
#include <string>

#include "env/env.h"
#include "store/revision.h"
#include "store/superblock.h"

namespace revfs {

inline std::string StoreSegmentsPath(const std::string& dir) { return dir + "/segments"; }
inline std::string StoreIndexPath(const std::string& dir) { return dir + "/revisions"; }
inline std::string StoreSuperblockPath(const std::string& dir) {
  return dir + "/superblock";
}
inline std::string StoreLockPath(const std::string& dir) { return dir + "/LOCK"; }

// The bytes of every segment file (plain, packed, or a crashed pack's
// temporary) under the store `dir`: what the pages take on disk.
Result<uint64_t> SegmentFilesBytes(Env* env, const std::string& dir);

struct SlotChoice {
  Superblock sb;
  int slot = 0;
  std::string slot_bytes[kSuperblockSlots];  // both slots as read
  Status slot_status[kSuperblockSlots];      // why a slot was passed over
};

// Reads both slots and picks the valid one with the highest generation whose
// ends fit the files on disk (the revisions index, and the segment holding
// the last committed page). NotSupported for a store of another format,
// Corruption when no slot is usable.
Result<SlotChoice> ChooseSuperblock(Env* env, const std::string& dir,
                                    const RandomAccessFile& file);

}  // namespace revfs

#endif  // REVFS_STORE_STORE_FILES_H_
