#include "records/record_page.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "util/coding.h"
#include "content/zstd_context.h"

namespace revfs {
namespace {
constexpr size_t kCombinedEntrySize = 12;
}  // namespace

std::string EncodeFragment(uint64_t leaf, uint64_t revision, bool full_dump,
                           std::span<const SlotChange> changes,
                           const std::vector<FragmentRef>* tail) {
  std::string s;
  PutFixed64(&s, leaf);
  PutFixed64(&s, revision);
  s.push_back(static_cast<char>((full_dump ? 1 : 0) | (tail ? 2 : 0)));
  if (tail) {
    s.push_back(static_cast<char>(tail->size()));
    for (const FragmentRef& f : *tail) EncodeFragmentRef(&s, f);
  }
  PutFixed16(&s, static_cast<uint16_t>(changes.size()));
  for (const SlotChange& c : changes) {
    PutFixed16(&s, static_cast<uint16_t>(c.slot));
    s.push_back(c.value ? 0 : 1);
    const std::string_view v = c.value ? std::string_view(*c.value) : std::string_view();
    PutFixed16(&s, static_cast<uint16_t>(v.size()));
    s.append(v);
  }
  return s;
}

namespace {

// The header and tail; leaves `in` at the entry count.
Status DecodeHead(Decoder& in, FragmentView* out) {
  out->leaf = in.U64();
  out->revision = in.U64();
  const uint8_t flags = in.U8();
  if (!in.ok() || flags > 3) return Status::Corruption("leaf fragment: malformed header");
  out->full_dump = (flags & 1) != 0;
  out->has_tail = (flags & 2) != 0;
  out->tail.clear();
  if (out->has_tail) {
    const uint8_t n = in.U8();
    if (!in.ok() || n >= kMaxChain) return Status::Corruption("leaf fragment: malformed tail");
    out->tail.resize(n);
    for (FragmentRef& f : out->tail) {
      f = DecodeFragmentRef(&in);
      if (!in.ok() || f.page.IsNull()) return Status::Corruption("leaf fragment: malformed tail");
    }
  }
  return Status::OK();
}

}  // namespace

Status DecodeFragmentHead(std::string_view payload, FragmentView* out) {
  Decoder in(payload);
  out->entries.clear();
  return DecodeHead(in, out);
}

Status DecodeFragment(std::string_view payload, FragmentView* out) {
  Decoder in(payload);
  REVFS_RETURN_IF_ERROR(DecodeHead(in, out));
  uint16_t count = in.U16();
  if (!in.ok() || count > kLeafSlots) {
    return Status::Corruption("leaf fragment: malformed header");
  }
  out->entries.clear();
  out->entries.reserve(count);
  size_t pos = payload.size() - in.remaining();
  int prev_slot = -1;
  for (uint16_t i = 0; i < count; ++i) {
    if (payload.size() - pos < 5) return Status::Corruption("leaf fragment: truncated");
    uint32_t slot = DecodeFixed16(payload.data() + pos);
    uint8_t tomb = static_cast<uint8_t>(payload[pos + 2]);
    uint32_t len = DecodeFixed16(payload.data() + pos + 3);
    pos += 5;
    if (static_cast<int>(slot) <= prev_slot || slot >= kLeafSlots || tomb > 1 ||
        len > kMaxRecordValue || (tomb && len != 0) || payload.size() - pos < len) {
      return Status::Corruption("leaf fragment: malformed entry");
    }
    out->entries.push_back({slot, tomb == 1, payload.substr(pos, len)});
    pos += len;
    prev_slot = static_cast<int>(slot);
  }
  if (pos != payload.size()) return Status::Corruption("leaf fragment: trailing bytes");
  return Status::OK();
}

Status CombinePlan::Plan(std::span<const std::string_view> fragments,
                         const std::function<void(size_t)>& hook) {
  winners_.assign(kLeafSlots, Winner{});
  views_.resize(fragments.size());
  fragments_ = fragments.size();
  for (size_t i = 0; i < fragments.size(); ++i) {
    if (hook) hook(i);
    REVFS_RETURN_IF_ERROR(DecodeFragment(fragments[i], &views_[i]));
    if (i > 0 && views_[i].leaf != views_[0].leaf) {
      return Status::Corruption("leaf fragment chain mixes leaves");
    }
    for (const auto& e : views_[i].entries) {
      Winner& w = winners_[e.slot];
      if (w.present) continue;  // a newer fragment already decided this slot
      w = Winner{e.value.data(), static_cast<uint32_t>(e.value.size()),
                 static_cast<uint16_t>(i), true, e.tombstone};
    }
  }
  Size();
  return Status::OK();
}

Status CombinePlan::PlanOver(std::string_view newest, const CombinedPage& older,
                             std::span<const size_t> kept) {
  winners_.assign(kLeafSlots, Winner{});
  views_.resize(1);
  fragments_ = 1 + kept.size();
  REVFS_RETURN_IF_ERROR(DecodeFragment(newest, &views_[0]));
  for (const auto& e : views_[0].entries) {
    winners_[e.slot] = Winner{e.value.data(), static_cast<uint32_t>(e.value.size()), 0, true,
                              e.tombstone};
  }
  if (views_[0].full_dump) {  // every record of the leaf; nothing older counts
    Size();
    return Status::OK();
  }
  // Kept fragments must be the old chain's newest: a tombstone in a dropped
  // fragment newer than a kept one could let that one's value show again,
  // which `older` (live records only) cannot tell.
  for (size_t i = 0; i < kept.size(); ++i) {
    if (kept[i] != i) {
      return Status::Aborted("the new chain drops a fragment newer than one it keeps");
    }
  }
  // Old fragment i is new fragment i + 1.
  for (size_t i = 0; i < older.size(); ++i) {
    const CombinedPage::Record r = older.at(i);
    Winner& w = winners_[r.slot];
    if (w.present) continue;  // superseded by the newest fragment
    if (r.source >= kept.size()) {
      return Status::Aborted("a record's fragment leaves the chain without being carried");
    }
    w = Winner{r.value.data(), static_cast<uint32_t>(r.value.size()),
               static_cast<uint16_t>(r.source + 1), true, false};
  }
  Size();
  return Status::OK();
}

void CombinePlan::Size() {
  size_t count = 0, bytes = 0;
  for (const Winner& w : winners_) {
    if (w.present && !w.tombstone) ++count, bytes += w.length;
  }
  output_size_ = 4 + count * kCombinedEntrySize + bytes;
}

void CombinePlan::Write(char* dst) const {
  size_t count = 0;
  for (const Winner& w : winners_) count += w.present && !w.tombstone;
  EncodeFixed32(dst, static_cast<uint32_t>(count));
  char* entry = dst + 4;
  uint32_t offset = static_cast<uint32_t>(4 + count * kCombinedEntrySize);
  for (uint32_t slot = 0; slot < kLeafSlots; ++slot) {
    const Winner& w = winners_[slot];
    if (!w.present || w.tombstone) continue;
    EncodeFixed16(entry, static_cast<uint16_t>(slot));
    EncodeFixed16(entry + 2, w.source);
    EncodeFixed32(entry + 4, offset);
    EncodeFixed32(entry + 8, w.length);
    entry += kCombinedEntrySize;
    if (w.length) std::memcpy(dst + offset, w.data, w.length);
    offset += w.length;
  }
}

CombinedPage::CombinedPage(std::string_view image)
    : image_(image), count_(image.size() >= 4 ? DecodeFixed32(image.data()) : 0) {}

Status CombinedPage::CheckTable(std::string_view image) {
  if (image.size() < 4) return Status::Corruption("combined page shorter than its header");
  const uint64_t count = DecodeFixed32(image.data());
  if (count > (image.size() - 4) / kCombinedEntrySize) {
    return Status::Corruption("combined page: record table past its end");
  }
  return Status::OK();
}

Status CombinedPage::Check(std::string_view image) {
  REVFS_RETURN_IF_ERROR(CheckTable(image));
  const uint64_t count = DecodeFixed32(image.data());
  for (uint64_t i = 0; i < count; ++i) {
    const char* e = image.data() + 4 + i * kCombinedEntrySize;
    const uint64_t offset = DecodeFixed32(e + 4), length = DecodeFixed32(e + 8);
    if (offset > image.size() || length > image.size() - offset) {
      return Status::Corruption("combined page: record " + std::to_string(i) + " past its end");
    }
  }
  return Status::OK();
}

CombinedPage::Record CombinedPage::at(size_t i) const {
  const char* e = image_.data() + 4 + i * kCombinedEntrySize;
  return Record{DecodeFixed16(e), DecodeFixed16(e + 2),
                image_.substr(DecodeFixed32(e + 4), DecodeFixed32(e + 8))};
}

size_t CombinedPage::LowerBound(uint32_t slot) const {
  size_t lo = 0, hi = count_;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (DecodeFixed16(image_.data() + 4 + mid * kCombinedEntrySize) < slot) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

std::optional<CombinedPage::Record> CombinedPage::Find(uint32_t slot) const {
  size_t i = LowerBound(slot);
  if (i < count_) {
    Record r = at(i);
    if (r.slot == slot) return r;
  }
  return std::nullopt;
}

std::string PackRecordPage(std::string_view payload, int level) {
  std::string out;
  if (level > 0 && payload.size() >= 128) {
    out.resize(5 + ZSTD_compressBound(payload.size()));
    size_t n = internal::ThreadCompress(out.data() + 5, out.size() - 5, payload.data(),
                                        payload.size(), level);
    if (!ZSTD_isError(n) && n + 5 < payload.size()) {
      out[0] = 1;
      EncodeFixed32(out.data() + 1, static_cast<uint32_t>(payload.size()));
      out.resize(5 + n);
      return out;
    }
    out.clear();
  }
  out.reserve(1 + payload.size());
  out.push_back(0);
  out.append(payload);
  return out;
}

Result<size_t> PackedPayloadSize(std::string_view packed) {
  if (packed.empty()) return Status::Corruption("record page: empty");
  if (packed[0] == 0) return packed.size() - 1;
  if (packed[0] != 1 || packed.size() < 5) return Status::Corruption("record page: bad packing");
  size_t size = DecodeFixed32(packed.data() + 1);
  if (size > (8u << 20)) return Status::Corruption("record page: impossible size");
  return size;
}

Status UnpackRecordPage(std::string_view packed, char* dst, size_t size) {
  if (packed.empty()) return Status::Corruption("record page: empty");
  if (packed[0] == 0) {
    if (packed.size() - 1 != size) return Status::Corruption("record page: wrong size");
    std::memcpy(dst, packed.data() + 1, size);
    return Status::OK();
  }
  if (packed.size() < 5) return Status::Corruption("record page: bad packing");
  size_t n = internal::ThreadDecompress(dst, size, packed.data() + 5, packed.size() - 5);
  if (ZSTD_isError(n) || n != size) return Status::Corruption("record page: does not decompress");
  return Status::OK();
}

Result<std::string> UnpackRecordPage(std::string_view packed) {
  REVFS_ASSIGN_OR_RETURN(size_t size, PackedPayloadSize(packed));
  std::string out(size, '\0');
  REVFS_RETURN_IF_ERROR(UnpackRecordPage(packed, out.data(), size));
  return out;
}

}  // namespace revfs
