// The records of the history index (engine/FORMAT.md, "The history of
// every path"): the header, path records and version pages, shared by its
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
inline constexpr uint64_t kRootPath = 1;
inline constexpr uint64_t kMaxPathId = uint64_t{1} << 40;
inline constexpr uint64_t kVersionsPerPage = 48;
inline constexpr uint64_t kMaxPages = uint64_t{1} << 20;

inline uint64_t PathKey(uint64_t id) { return kPathBase | id; }
inline uint64_t PageKey(uint64_t id, uint64_t page) { return kVersionPageBase | page << 40 | id; }

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
  uint64_t pages = 0;  // version pages; all but the last are full
};
std::string EncodePath(const PathRecord& p);
Result<PathRecord> DecodePath(std::string_view bytes);

void PutVersion(std::string* s, const PathVersion& v);
// Appends the entries of one version page to `out`.
Status GetVersions(std::string_view page, std::vector<PathVersion>* out);

// Path `id`'s record in `trx`, if any.
Result<std::optional<PathRecord>> LoadPath(ReadTrx& trx, uint64_t id);
// A names-map entry's child id.
Result<uint64_t> DecodeId(std::string_view value);

}  // namespace revfs::history

#endif  // REVFS_TREE_HISTORY_RECORDS_H_
