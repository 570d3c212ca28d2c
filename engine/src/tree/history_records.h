// The records of the history index (engine/FORMAT.md, "The history of
// every path"): the header, path records and version entries, shared by its
// reader (history.cc) and writer (history_write.cc).
//
// Thread safety: pure functions.
#ifndef REVFS_TREE_HISTORY_RECORDS_H_
#define REVFS_TREE_HISTORY_RECORDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "revfs/history.h"

namespace revfs::history {

inline constexpr uint8_t kHeaderMagic = 0x48;
inline constexpr uint64_t kRootPath = kHistoryRootPath;
inline constexpr uint64_t kMaxPathId = uint64_t{1} << 34;
inline constexpr uint64_t kMaxVersions = uint64_t{1} << 20;  // of one path

inline uint64_t PathKey(uint64_t id) { return kPathBase | id; }
// Entry n of path `id`. Entries go 16 to a block: a leaf holds the blocks
// of 4 neighbouring paths (64 records at most), so that a leaf a commit
// appends to stays small under every versioning approach (a sliding
// window rewrites a share of each leaf it touches), and the leaves of
// sibling paths are neighbours (few indirect pages a commit).
inline constexpr uint64_t kEntriesPerBlock = 16;
inline uint64_t VersionKey(uint64_t id, uint64_t n) {
  return kVersionBase | (n >> 4) << 42 | id << 8 | (n & 15);
}
// The path id and entry number a version key names (VersionKey's inverse).
inline uint64_t VersionKeyPath(uint64_t key) { return key >> 8 & (kMaxPathId - 1); }
inline uint64_t VersionKeyEntry(uint64_t key) {
  return (key >> 42 & ((uint64_t{1} << 18) - 1)) << 4 | (key & 15);
}

struct Header {
  uint64_t next_path = kRootPath + 1;
  uint64_t next_block = 1;
};
std::string EncodeHeader(const Header& h);
Result<Header> DecodeHeader(std::string_view bytes);

struct PathRecord {
  uint64_t parent = 0;
  std::string name;
  MapRoot names;
};
std::string EncodePath(const PathRecord& p);
Result<PathRecord> DecodePath(std::string_view bytes);

std::string EncodeVersion(const PathVersion& v);
Result<PathVersion> DecodeVersion(std::string_view bytes);

// Path `id`'s record in `trx`, if any.
Result<std::optional<PathRecord>> LoadPath(ReadTrx& trx, uint64_t id);
// A names-map entry's child id.
Result<uint64_t> DecodeId(std::string_view value);

}  // namespace revfs::history

#endif  // REVFS_TREE_HISTORY_RECORDS_H_
