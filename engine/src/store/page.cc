#include "store/page.h"

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <string>

namespace revfs {
namespace {

uint64_t PageChecksum(std::string_view header16, std::string_view payload) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, header16.data(), header16.size());
  XXH3_64bits_update(&state, payload.data(), payload.size());
  return XXH3_64bits_digest(&state);
}

std::string PageWhere(std::string_view where, uint64_t offset) {
  std::string s(where);
  s += ": page at offset ";
  s += std::to_string(offset);
  return s;
}

}  // namespace

const char* PageKindName(PageKind kind) {
  switch (kind) {
    case PageKind::kRevisionRoot: return "revision-root";
    case PageKind::kIndirect: return "indirect";
    case PageKind::kLeafFragment: return "leaf-fragment";
    case PageKind::kChunk: return "chunk";
    case PageKind::kOpaque: return "opaque";
    case PageKind::kRetention: return "retention";
  }
  return "unknown";
}

void EncodePageRef(std::string* dst, const PageRef& ref) {
  PutFixed64(dst, ref.offset);
  PutFixed32(dst, ref.size);
  PutFixed64(dst, ref.hash);
}

PageRef DecodePageRef(Decoder* in) {
  PageRef ref;
  ref.offset = in->U64();
  ref.size = in->U32();
  ref.hash = in->U64();
  return ref;
}

void EncodeCompactPageRef(std::string* dst, const PageRef& ref) {
  PutVarint64(dst, ref.offset);
  PutVarint64(dst, ref.size);
  PutFixed64(dst, ref.hash);
}

PageRef DecodeCompactPageRef(Decoder* in) {
  PageRef ref;
  ref.offset = in->Varint64();
  ref.size = in->Varint32();
  ref.hash = in->U64();
  return ref;
}

std::string EncodePage(PageKind kind, std::string_view payload, uint64_t* hash) {
  std::string page;
  page.reserve(kPageHeaderSize + payload.size());
  PutFixed32(&page, kPageMagic);
  page.push_back(static_cast<char>(kind));
  page.push_back(static_cast<char>(kPageFormatVersion));
  PutFixed16(&page, 0);  // flags
  PutFixed32(&page, static_cast<uint32_t>(payload.size()));
  PutFixed32(&page, 0);  // reserved
  *hash = PageChecksum(page, payload);
  PutFixed64(&page, *hash);
  page.append(payload);
  return page;
}

Status CheckPage(const PageRef& ref, std::string_view bytes,
                 std::string_view where, PageView* out) {
  if (ref.size < kPageHeaderSize || bytes.size() != ref.size) {
    return Status::Corruption(PageWhere(where, ref.offset) + ": truncated");
  }
  const char* h = bytes.data();
  if (DecodeFixed32(h) != kPageMagic) {
    return Status::Corruption(PageWhere(where, ref.offset) + ": bad magic");
  }
  uint8_t kind = static_cast<uint8_t>(h[4]);
  uint8_t version = static_cast<uint8_t>(h[5]);
  uint32_t len = DecodeFixed32(h + 8);
  uint64_t stored = DecodeFixed64(h + 16);
  std::string_view payload = bytes.substr(kPageHeaderSize);
  uint64_t actual = PageChecksum(bytes.substr(0, 16), payload);
  if (actual != stored || len != payload.size()) {
    return Status::Corruption(PageWhere(where, ref.offset) + ": checksum mismatch");
  }
  if (stored != ref.hash) {
    return Status::Corruption(PageWhere(where, ref.offset) +
                              ": not the page referenced (hash differs)");
  }
  if (version != kPageFormatVersion || kind == 0 || kind > kMaxPageKind) {
    return Status::Corruption(PageWhere(where, ref.offset) +
                              ": unknown page kind or version");
  }
  out->kind = static_cast<PageKind>(kind);
  out->payload = payload;
  return Status::OK();
}

}  // namespace revfs
