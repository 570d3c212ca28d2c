// Fuzzes page decoding: a page checked and unpacked as the read path does —
// chunk pages (header, raw / zstd / delta decode), record page unpacking and
// indirect page parsing. The first input byte picks the decoder; the rest is
// the payload, wrapped in a page whose checksum is right, so the fuzzer gets
// past the checksum to the decoders behind it (as a damaged page that
// happened to match its checksum would).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "content/compression.h"
#include "records/indirect_page.h"
#include "store/page.h"
#include "records/record_page.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace revfs;
  if (size < 1) return 0;
  const uint8_t mode = data[0] % 3;
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  const PageKind kind = mode == 0 ? PageKind::kChunk : mode == 1 ? PageKind::kLeafFragment
                                                                  : PageKind::kIndirect;
  PageRef ref;
  const std::string page = EncodePage(kind, payload, &ref.hash);
  ref.size = static_cast<uint32_t>(page.size());
  PageView view;
  if (!CheckPage(ref, page, "fuzz", &view).ok()) return 0;
  switch (mode) {
    case 0: {
      ChunkPageHeader header;
      std::string_view body;
      if (!DecodeChunkPage(view.payload, kDigestSize, &header, &body).ok()) return 0;
      if (header.raw_size > (8u << 20)) return 0;
      std::string out(header.raw_size, '\0');
      std::string base(header.encoding == ChunkEncoding::kZstdDelta ? header.base_size % 4096 : 0,
                       'b');
      (void)DecompressChunk(header.encoding, body, out.data(), out.size(), base);
      break;
    }
    case 1: {
      auto size_or = PackedPayloadSize(view.payload);
      if (!size_or.ok()) return 0;
      std::string out(*size_or, '\0');
      (void)UnpackRecordPage(view.payload, out.data(), out.size());
      break;
    }
    case 2: {
      auto ip = IndirectPage::Parse(view.payload);
      if (!ip.ok()) return 0;
      for (size_t i = 0; i < ip->size(); ++i) {
        (void)ip->slot_at(i);
        (void)ip->child_at(i);
      }
      (void)ip->Find(0);
      (void)ip->Find(127);
      break;
    }
  }
  return 0;
}
