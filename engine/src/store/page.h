// Pages: the unit the append-only log stores.
//
// On disk a page is a 24-byte header followed by its payload:
//   magic u32 "RVPG" | kind u8 | format version u8 | flags u16 |
//   payload length u32 | reserved u32 | checksum u64
// The checksum is XXH3-64 over the first 16 header bytes and the payload, so
// a flipped bit anywhere in the page is detected. A PageRef names a page by
// offset and total size and repeats its checksum, so a page that is intact but
// not the one referenced (a stale or misdirected pointer) is caught too.
#ifndef REVFS_STORE_PAGE_H_
#define REVFS_STORE_PAGE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "revfs/status.h"
#include "revfs/store.h"
#include "util/coding.h"

namespace revfs {

enum class PageKind : uint8_t {
  kRevisionRoot = 1,
  kIndirect = 2,
  kLeafFragment = 3,
  kChunk = 4,
  kOpaque = 5,  // a payload the store does not interpret (tests, metadata)
  kRetention = 6,  // forgotten revisions, holds, prune bookkeeping
};
constexpr uint8_t kMaxPageKind = 6;

const char* PageKindName(PageKind kind);

inline constexpr uint32_t kPageMagic = 0x47505652;  // "RVPG" little-endian
inline constexpr uint8_t kPageFormatVersion = 1;
inline constexpr size_t kPageHeaderSize = 24;
// The largest payload one page may carry; bigger decodes are refused as
// corruption before any allocation is sized from an on-disk length.
inline constexpr uint32_t kMaxPagePayload = 16u << 20;

// PageRef (offset, size, checksum) is defined in revfs/store.h: it is part
// of the API (revision entries, chunk references).
inline constexpr size_t kEncodedPageRefSize = 20;
void EncodePageRef(std::string* dst, const PageRef& ref);
PageRef DecodePageRef(Decoder* in);
// The compact encoding (format 2, record trie and inode records): offset
// varint | size varint | checksum u64.
void EncodeCompactPageRef(std::string* dst, const PageRef& ref);
PageRef DecodeCompactPageRef(Decoder* in);

// A decoded page: its kind and a view of its payload inside the buffer it was
// read into (valid as long as that buffer).
struct PageView {
  PageKind kind;
  std::string_view payload;
};

// Returns header + payload of a page of `kind` as it goes to disk, and its
// checksum in `*hash`.
std::string EncodePage(PageKind kind, std::string_view payload, uint64_t* hash);

// Checks a page's bytes (exactly `ref.size` of them, read from `ref.offset`)
// against its header checksum and the reference; `where` names the file for
// error messages. Returns Corruption on any mismatch.
Status CheckPage(const PageRef& ref, std::string_view bytes,
                 std::string_view where, PageView* out);

}  // namespace revfs

#endif  // REVFS_STORE_PAGE_H_
