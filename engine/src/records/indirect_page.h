// Indirect pages: the trie above the leaves, copy-on-write per revision.
//
// An indirect page of level L >= 1 has up to 128 children, indexed by 7 bits
// of the leaf number (`key >> 10`). Children of a level-1 page are leaves,
// named by a LeafRef: the chain of fragments to combine, newest first, so a
// read loads every fragment it needs without reading one just to find the
// next. Children of higher levels are indirect pages of any lower level
// (path compression, see ChildCovers), named by a PageRef (offset, size,
// XXH3 checksum checked on load). A subtree that did not change between two
// revisions is shared by reference. engine/FORMAT.md has the whole format.
//
// Payload: level u8 | count u16 | count x { slot u16 | offset u32 } | children
//   level >= 2 child: offset varint | size varint | checksum u64
//   level 1 child:    versions varint | 0x80 + chain length u8 |
//                     offset varint | size varint | checksum u64 |
//                     revision varint (the newest fragment, whose payload
//                     names the older ones: format 3), or
//                     versions varint | chain length u8 (below 0x80) |
//                     length x { offset varint | size varint | checksum u64 |
//                     revision varint } (the whole chain: format 2's)
#ifndef REVFS_RECORDS_INDIRECT_PAGE_H_
#define REVFS_RECORDS_INDIRECT_PAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "store/page.h"
#include "revfs/result.h"

namespace revfs {

class Decoder;  // util/coding.h

inline constexpr int kIndirectBits = 7;
inline constexpr uint32_t kIndirectFanout = 1u << kIndirectBits;
inline constexpr int kMaxTrieHeight = 8;  // 7 * 8 >= 54 bits of leaf number
inline constexpr size_t kMaxChain = 64;

struct FragmentRef {
  PageRef page;
  uint64_t revision = 0;
  bool operator==(const FragmentRef&) const = default;
};

// A fragment reference as pages hold it: a compact page reference, then the
// revision (varint). DecodeFragmentRef leaves `in` failed on a short read;
// the caller checks for a null page.
void EncodeFragmentRef(std::string* dst, const FragmentRef& f);
FragmentRef DecodeFragmentRef(Decoder* in);

struct LeafRef {
  std::vector<FragmentRef> chain;  // newest first, never empty
  uint32_t versions = 0;           // fragments this leaf has had so far
  // The newest fragment names the older ones (its tail): a level-1 page
  // names it alone, and one read from there holds only it until
  // PageLoader::ResolveChain reads the rest from its tail.
  bool tail_in_head = false;
  uint32_t length = 0;  // the chain's length, when tail_in_head
  bool resolved() const { return !tail_in_head || chain.size() == length; }
  // The chain's length, resolved or not.
  size_t chain_length() const { return tail_in_head ? length : chain.size(); }
  // Resolves a reference naming its newest fragment alone with that
  // fragment's tail (`tail`, null when it has none): Corruption unless the
  // tail is exactly the older fragments `length` counts.
  Status AppendTail(const std::vector<FragmentRef>* tail);
  bool operator==(const LeafRef&) const = default;
};

// Returns the child slot of leaf number `leaf` in a page of `level`.
inline uint32_t IndirectSlot(uint64_t leaf, int level) {
  return static_cast<uint32_t>((leaf >> (kIndirectBits * (level - 1))) &
                               (kIndirectFanout - 1));
}
// Returns the number of leaves a trie of `height` covers (saturating).
inline uint64_t LeavesCovered(int height) {
  return height * kIndirectBits >= 64 ? UINT64_MAX : (uint64_t{1} << (height * kIndirectBits));
}
// The trie is path compressed: the child of a level-L page may be a page of
// any level M < L, standing for the first LeavesCovered(M) leaves of its
// slot's range (the skipped levels all take slot 0). Returns whether `leaf`,
// routed to such a child, lies in the range of a child page of `child_level`.
inline bool ChildCovers(uint64_t leaf, int parent_level, int child_level) {
  const uint64_t within = leaf & (LeavesCovered(parent_level - 1) - 1);
  return within < LeavesCovered(child_level);
}

using IndirectChild = std::variant<PageRef, LeafRef>;

// Builds an indirect page payload; children in ascending slot order.
class IndirectPageBuilder {
 public:
  explicit IndirectPageBuilder(int level) : level_(level) {}
  void Add(uint32_t slot, const IndirectChild& child);
  bool empty() const { return slots_.empty(); }
  std::string Finish() const;

 private:
  int level_;
  std::vector<uint32_t> slots_;
  std::vector<std::string> children_;
};

// A read-only view over an indirect page payload (valid as long as it).
class IndirectPage {
 public:
  // Validates the header and slot table; Corruption if malformed.
  static Result<IndirectPage> Parse(std::string_view payload);

  int level() const { return level_; }
  size_t size() const { return count_; }
  uint32_t slot_at(size_t i) const;
  // Decodes the i-th child; Corruption if malformed.
  Result<IndirectChild> child_at(size_t i) const;
  // Returns the index of the child in `slot`, if present.
  std::optional<size_t> Find(uint32_t slot) const;

 private:
  std::string_view payload_;
  int level_ = 0;
  size_t count_ = 0;
};

}  // namespace revfs

#endif  // REVFS_RECORDS_INDIRECT_PAGE_H_
