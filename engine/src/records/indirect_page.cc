#include "records/indirect_page.h"

#include "util/coding.h"

namespace revfs {
namespace {
constexpr size_t kHeaderSize = 3;
constexpr size_t kSlotEntrySize = 6;
constexpr uint8_t kTailInHead = 0x80;  // the chain length byte's flag
}  // namespace

void EncodeFragmentRef(std::string* dst, const FragmentRef& f) {
  EncodeCompactPageRef(dst, f.page);
  PutVarint64(dst, f.revision);
}

FragmentRef DecodeFragmentRef(Decoder* in) {
  FragmentRef f;
  f.page = DecodeCompactPageRef(in);
  f.revision = in->Varint64();
  return f;
}

Status LeafRef::AppendTail(const std::vector<FragmentRef>* tail) {
  if (resolved()) return Status::OK();
  if (chain.size() != 1) return Status::Corruption("leaf reference half resolved");
  if (tail == nullptr || tail->size() + 1 != length) {
    return Status::Corruption("leaf fragment: its tail names " +
                              (tail ? std::to_string(tail->size()) : std::string("no")) +
                              " older fragments, its reference " + std::to_string(length - 1));
  }
  chain.insert(chain.end(), tail->begin(), tail->end());
  return Status::OK();
}

void IndirectPageBuilder::Add(uint32_t slot, const IndirectChild& child) {
  std::string c;
  if (const auto* ref = std::get_if<PageRef>(&child)) {
    EncodeCompactPageRef(&c, *ref);
  } else {
    const LeafRef& leaf = std::get<LeafRef>(child);
    PutVarint64(&c, leaf.versions);
    if (leaf.tail_in_head) {
      c.push_back(static_cast<char>(kTailInHead | leaf.length));
      EncodeFragmentRef(&c, leaf.chain.front());
    } else {
      c.push_back(static_cast<char>(leaf.chain.size()));
      for (const FragmentRef& f : leaf.chain) EncodeFragmentRef(&c, f);
    }
  }
  slots_.push_back(slot);
  children_.push_back(std::move(c));
}

std::string IndirectPageBuilder::Finish() const {
  std::string s;
  s.push_back(static_cast<char>(level_));
  PutFixed16(&s, static_cast<uint16_t>(slots_.size()));
  uint32_t offset = static_cast<uint32_t>(kHeaderSize + slots_.size() * kSlotEntrySize);
  for (size_t i = 0; i < slots_.size(); ++i) {
    PutFixed16(&s, static_cast<uint16_t>(slots_[i]));
    PutFixed32(&s, offset);
    offset += static_cast<uint32_t>(children_[i].size());
  }
  for (const std::string& c : children_) s += c;
  return s;
}

Result<IndirectPage> IndirectPage::Parse(std::string_view payload) {
  IndirectPage page;
  if (payload.size() < kHeaderSize) return Status::Corruption("indirect page: truncated");
  page.payload_ = payload;
  page.level_ = static_cast<uint8_t>(payload[0]);
  page.count_ = DecodeFixed16(payload.data() + 1);
  if (page.level_ < 1 || page.level_ > kMaxTrieHeight || page.count_ > kIndirectFanout ||
      payload.size() < kHeaderSize + page.count_ * kSlotEntrySize) {
    return Status::Corruption("indirect page: malformed header");
  }
  uint32_t prev_slot = 0;
  uint32_t prev_offset = 0;
  for (size_t i = 0; i < page.count_; ++i) {
    const char* e = payload.data() + kHeaderSize + i * kSlotEntrySize;
    uint32_t slot = DecodeFixed16(e);
    uint32_t offset = DecodeFixed32(e + 2);
    if (slot >= kIndirectFanout || (i > 0 && slot <= prev_slot) || offset > payload.size() ||
        offset < kHeaderSize + page.count_ * kSlotEntrySize || offset < prev_offset) {
      return Status::Corruption("indirect page: malformed slot table");
    }
    prev_slot = slot;
    prev_offset = offset;
  }
  return page;
}

uint32_t IndirectPage::slot_at(size_t i) const {
  return DecodeFixed16(payload_.data() + kHeaderSize + i * kSlotEntrySize);
}

Result<IndirectChild> IndirectPage::child_at(size_t i) const {
  size_t offset = DecodeFixed32(payload_.data() + kHeaderSize + i * kSlotEntrySize + 2);
  Decoder in(payload_.substr(offset));
  if (level_ > 1) {
    PageRef ref = DecodeCompactPageRef(&in);
    if (!in.ok() || ref.IsNull()) return Status::Corruption("indirect page: bad child");
    return IndirectChild(ref);
  }
  LeafRef leaf;
  leaf.versions = in.Varint32();
  if (!in.ok()) return Status::Corruption("indirect page: bad version count");
  uint8_t n = in.U8();
  if (n & kTailInHead) {
    leaf.tail_in_head = true;
    leaf.length = n & ~kTailInHead;
    n = 1;
    if (leaf.length == 0 || leaf.length > kMaxChain) {
      return Status::Corruption("indirect page: bad fragment chain");
    }
  }
  if (n == 0 || n > kMaxChain) return Status::Corruption("indirect page: bad fragment chain");
  leaf.chain.resize(n);
  for (FragmentRef& f : leaf.chain) {
    f = DecodeFragmentRef(&in);
    if (in.ok() && f.page.IsNull()) return Status::Corruption("indirect page: bad fragment chain");
  }
  if (!in.ok()) return Status::Corruption("indirect page: truncated fragment chain");
  return IndirectChild(std::move(leaf));
}

std::optional<size_t> IndirectPage::Find(uint32_t slot) const {
  size_t lo = 0, hi = count_;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    uint32_t s = slot_at(mid);
    if (s == slot) return mid;
    if (s < slot) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return std::nullopt;
}

}  // namespace revfs
