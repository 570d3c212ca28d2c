// Superblock: the store's one mutable structure (STORE/superblock).
//
// Two fixed 4 KiB slots; commit number g writes slot g % 2 and syncs it, so a
// torn write can only damage the slot being replaced. Each slot ends in an
// XXH3-64 checksum over the slot; Open picks the valid slot with the highest
// generation. The format version sits at a fixed offset so that a store made
// by a newer program is recognized as such rather than as damage.
#ifndef REVFS_STORE_SUPERBLOCK_H_
#define REVFS_STORE_SUPERBLOCK_H_

#include <array>
#include <cstdint>
#include <string>

#include "revfs/result.h"
#include "revfs/store.h"
#include "store/page.h"

namespace revfs {

inline constexpr size_t kSuperblockSlotSize = 4096;
inline constexpr int kSuperblockSlots = 2;

// Superblock (the decoded slot) and kStoreFormatVersion are defined in
// revfs/store.h.

// Returns the slot image (exactly kSuperblockSlotSize bytes).
std::string EncodeSuperblock(const Superblock& sb);

// Decodes one slot image. NotFound if the slot is empty (all zero),
// Corruption if damaged, NotSupported if written by another format version
// (the message names `store` where it advises a command).
Result<Superblock> DecodeSuperblock(std::string_view slot,
                                    std::string_view store = "STORE");

// Decodes a slot of format 2 or of this format, for `revfs upgrade`: a
// format-2 slot (sb.format_version 2) holds zeros where format 3 added the
// segment size and the retention page, and reads as the default segment
// size and no retention page.
Result<Superblock> DecodeSuperblockForUpgrade(std::string_view slot);

}  // namespace revfs

#endif  // REVFS_STORE_SUPERBLOCK_H_
