// Segment files: the files of the page log (STORE/segments/, engine/FORMAT.md
// "Segments instead of one page log").
//
// Page addresses are one 64-bit logical space: segment n holds the
// addresses [n << 40, (n + 1) << 40), and a page at address a is byte
// a & (2^40 - 1) of segment a >> 40. A segment is stored as a plain file
// (`%010u`, the pages back to back from byte 0) or, once prune has copied
// its live pages out, as a packed file (`%010u.packed`): a header, a table
// of { address in segment, offset in file, size } sorted by address, then
// the pages byte for byte.
//
// SegmentFile is one opened segment as readers share it (through a
// shared_ptr, so a reader mid-read keeps its descriptor however the log
// moves on). Immutable once made; thread-safe.
#ifndef REVFS_STORE_SEGMENT_FILE_H_
#define REVFS_STORE_SEGMENT_FILE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "env/env.h"
#include "revfs/result.h"

namespace revfs {

inline constexpr int kSegmentShift = 40;
inline constexpr uint64_t kSegmentSpan = uint64_t{1} << kSegmentShift;

inline uint32_t SegmentOf(uint64_t address) {
  return static_cast<uint32_t>(address >> kSegmentShift);
}
inline uint64_t SegmentBase(uint32_t segment) {
  return static_cast<uint64_t>(segment) << kSegmentShift;
}
inline uint64_t InSegment(uint64_t address) { return address & (kSegmentSpan - 1); }

// "0000000003", "0000000003.packed"; a packed file is written under
// "0000000003.packed.tmp" first.
std::string SegmentName(uint32_t segment);
std::string PackedSegmentName(uint32_t segment);
std::string PackedTempName(uint32_t segment);

enum class SegmentFileKind { kPlain, kPacked, kTemp };
// Parses a name of the segments directory; false for anything else.
bool ParseSegmentName(std::string_view name, uint32_t* segment, SegmentFileKind* kind);

// A packed file: magic "RVSP" u32 | version u32 | segment u64 | count u64 |
// XXH3-64 of the table u64 | count x { address u64 | offset u64 | size u32 }
// | the pages.
inline constexpr uint32_t kPackedMagic = 0x50535652;  // "RVSP" little-endian
inline constexpr uint32_t kPackedVersion = 1;
inline constexpr size_t kPackedHeaderSize = 32;
inline constexpr size_t kPackedEntrySize = 20;

struct PackedEntry {
  uint64_t address = 0;  // in the segment
  uint64_t offset = 0;   // in the packed file
  uint32_t size = 0;
};

// Returns the header and table of a packed file for pages of `sizes` at
// `addresses` (sorted, same length); fills in `table` with the file offsets
// the pages will have, appended in order after the table.
std::string EncodePackedHead(uint32_t segment, const std::vector<uint64_t>& addresses,
                             const std::vector<uint32_t>& sizes,
                             std::vector<PackedEntry>* table);

// Reads and checks a packed file's header and table (magic, version,
// segment number, table checksum, entries sorted, inside the file);
// Corruption naming `path` otherwise.
Status ReadPackedTable(const RandomAccessFile& file, const std::string& path,
                       uint32_t segment, std::vector<PackedEntry>* table);

struct SegmentFile {
  uint32_t number = 0;
  std::string path;                        // of the file opened
  std::shared_ptr<RandomAccessFile> file;  // null: the segment is gone
  bool packed = false;
  uint64_t file_size = 0;           // of a packed file when opened
  std::vector<PackedEntry> table;   // of a packed file

  // Returns the table entry for `address` (in segment), or null.
  const PackedEntry* Find(uint64_t address) const;
};

}  // namespace revfs

#endif  // REVFS_STORE_SEGMENT_FILE_H_
