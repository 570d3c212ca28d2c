// Record pages: leaf fragments on disk and the combined page in memory.
//
// Records are (64-bit key, bytes) pairs. A leaf page holds the 1024 keys that
// share `key >> 10`. A commit writes a changed leaf as a *fragment*: some of
// its records (and tombstones for deleted ones), or all of them (a full
// dump). A read combines the fragments of a leaf's chain, newest first: for
// each slot the newest fragment that mentions it wins, and a tombstone there
// means "absent".
//
// Fragment payload (little-endian):
//   leaf u64 | revision u64 | flags u8 (1 = full dump, 2 = tail follows) |
//   [tail u8 | tail x { offset varint | size varint | checksum u64 |
//    revision varint }] | count u16 |
//   count x { slot u16 | tombstone u8 | length u16 | bytes }, slots ascending
// The tail (format 3) names the older fragments of the chain this one heads,
// newest first, so that a level-1 page names the newest alone
// (engine/FORMAT.md, "A leaf's older fragments named by its newest").
//
// Combined page (the image kept in a memory segment and served to readers):
//   count u32 | count x { slot u16 | source u16 | offset u32 | length u32 } |
//   record bytes
// where `source` is the index, in the chain, of the fragment the record came
// from (the sliding snapshot needs it when it writes the next fragment).
//
// Thread safety: these are pure functions over byte buffers.
#ifndef REVFS_RECORDS_RECORD_PAGE_H_
#define REVFS_RECORDS_RECORD_PAGE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "records/indirect_page.h"
#include "revfs/result.h"

namespace revfs {

inline constexpr int kLeafBits = 10;
inline constexpr uint32_t kLeafSlots = 1u << kLeafBits;
// The largest record value; 1024 of them fit the largest memory segment.
inline constexpr size_t kMaxRecordValue = 3968;

inline uint64_t LeafOf(uint64_t key) { return key >> kLeafBits; }
inline uint32_t SlotOf(uint64_t key) { return static_cast<uint32_t>(key & (kLeafSlots - 1)); }

// One record change inside a fragment: a value, or a tombstone (nullopt).
struct SlotChange {
  uint32_t slot;
  std::optional<std::string> value;
};

// Returns a fragment payload; `changes` must be sorted by slot, unique.
// With `tail`, the fragment heads a chain whose older fragments it names
// (newest first; empty for a chain of one).
std::string EncodeFragment(uint64_t leaf, uint64_t revision, bool full_dump,
                           std::span<const SlotChange> changes,
                           const std::vector<FragmentRef>* tail = nullptr);

// A decoded view over a fragment payload (valid as long as the payload).
struct FragmentView {
  uint64_t leaf = 0;
  uint64_t revision = 0;
  bool full_dump = false;
  bool has_tail = false;
  std::vector<FragmentRef> tail;  // the chain's older fragments, newest first
  struct Entry {
    uint32_t slot;
    bool tombstone;
    std::string_view value;
  };
  std::vector<Entry> entries;  // ascending slots
};

// Decodes and validates a fragment payload; Corruption if malformed.
Status DecodeFragment(std::string_view payload, FragmentView* out);
// Decodes only the header and tail of a fragment payload (`out->entries`
// is left empty); Corruption if malformed.
Status DecodeFragmentHead(std::string_view payload, FragmentView* out);

class CombinedPage;

// Combines fragments (newest first) in two steps, so the caller can size
// the output buffer (a memory segment) before writing into it.
class CombinePlan {
 public:
  // Validates the fragments and decides, per slot, which one wins. `hook`, if
  // set, runs before each fragment is taken in (tests inject faults there).
  Status Plan(std::span<const std::string_view> fragments_newest_first,
              const std::function<void(size_t)>& hook = nullptr);
  // Plans the image of a new chain without reading its older fragments: the
  // chain is `newest` followed by the newest kept.size() fragments of the
  // chain `older` was combined from (`kept` lists their indices, which must
  // be 0, 1, ...). Each record of `older` not superseded by `newest` keeps
  // its value, its source one further down the chain; none does when
  // `newest` is a full dump. Aborted when a record comes from a fragment
  // not kept, or when the chain keeps an older fragment but drops a newer
  // one (a differential chain): a tombstone dropped with it could let an
  // older value show again, which `older`, live records only, cannot tell.
  // `newest` and `older` must outlive Write.
  Status PlanOver(std::string_view newest, const CombinedPage& older,
                  std::span<const size_t> kept);
  // Returns the size of the combined page image.
  size_t OutputSize() const { return output_size_; }
  // Writes the image into `dst` (at least OutputSize() bytes).
  void Write(char* dst) const;
  // Number of fragments planned.
  size_t fragments() const { return fragments_; }

 private:
  struct Winner {
    const char* data = nullptr;
    uint32_t length = 0;
    uint16_t source = 0;
    bool present = false;  // the slot is mentioned by some fragment
    bool tombstone = false;
  };
  // Sums the winners into output_size_.
  void Size();

  std::vector<Winner> winners_;
  std::vector<FragmentView> views_;
  size_t output_size_ = 0;
  size_t fragments_ = 0;
};

// A read-only view over a combined page image.
class CombinedPage {
 public:
  CombinedPage() = default;
  // `image` must be a buffer written by CombinePlan::Write (or have passed
  // Check).
  explicit CombinedPage(std::string_view image);
  // Returns Corruption unless `image` is laid out as CombinePlan::Write
  // lays it out: its record table and every value within its bytes.
  static Status Check(std::string_view image);
  // The O(1) part of Check: the record table fits in `image` (for a cached
  // image whose records Check passed when it was made).
  static Status CheckTable(std::string_view image);

  size_t size() const { return count_; }
  struct Record {
    uint32_t slot;
    uint16_t source;
    std::string_view value;
  };
  // Returns the i-th record in slot order.
  Record at(size_t i) const;
  // Returns the record in `slot`, if present (binary search).
  std::optional<Record> Find(uint32_t slot) const;
  // Returns the index of the first record with slot >= `slot`.
  size_t LowerBound(uint32_t slot) const;

 private:
  std::string_view image_;
  size_t count_ = 0;
};

// Record pages (leaf fragments and indirect pages) are stored packed: a byte
// 0 then the payload, or a byte 1, the payload's size (u32) and the payload
// compressed with zstd at `level` (0: never compress).
std::string PackRecordPage(std::string_view payload, int level);
// Returns the payload size of a packed page; Corruption if malformed.
Result<size_t> PackedPayloadSize(std::string_view packed);
// Unpacks into `dst`, which has room for PackedPayloadSize() bytes.
Status UnpackRecordPage(std::string_view packed, char* dst, size_t size);
// Unpacks into a string (verification, tests).
Result<std::string> UnpackRecordPage(std::string_view packed);

}  // namespace revfs

#endif  // REVFS_RECORDS_RECORD_PAGE_H_
