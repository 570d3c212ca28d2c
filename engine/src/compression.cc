#include "revfs/compression.h"

#include <zstd.h>

#include <cstring>

namespace revfs {

std::string CompressChunk(const StoreConfig& config, std::string_view raw,
                          ChunkEncoding* encoding) {
  if (config.compression == Compression::kZstd && raw.size() >= 64) {
    std::string out(ZSTD_compressBound(raw.size()), '\0');
    size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(),
                             config.compression_level);
    // Keep the compressed form only if it saves at least 1/64 of the size.
    if (!ZSTD_isError(n) && n < raw.size() - raw.size() / 64) {
      out.resize(n);
      *encoding = ChunkEncoding::kZstd;
      return out;
    }
  }
  *encoding = ChunkEncoding::kRaw;
  return std::string(raw);
}

Status DecompressChunk(ChunkEncoding encoding, std::string_view stored, char* dst,
                       size_t raw_size) {
  switch (encoding) {
    case ChunkEncoding::kRaw:
      if (stored.size() != raw_size) return Status::Corruption("raw chunk has the wrong size");
      if (raw_size) std::memcpy(dst, stored.data(), raw_size);
      return Status::OK();
    case ChunkEncoding::kZstd: {
      unsigned long long frame = ZSTD_getFrameContentSize(stored.data(), stored.size());
      if (frame != raw_size) return Status::Corruption("zstd chunk has the wrong size");
      size_t n = ZSTD_decompress(dst, raw_size, stored.data(), stored.size());
      if (ZSTD_isError(n) || n != raw_size) {
        return Status::Corruption(std::string("zstd chunk does not decode: ") +
                                  (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short"));
      }
      return Status::OK();
    }
  }
  return Status::Corruption("chunk has an unknown encoding");
}

std::string EncodeChunkPage(const ChunkPageHeader& header, std::string_view stored) {
  std::string s;
  s.reserve(kChunkPageHeaderSize + stored.size());
  s.push_back(static_cast<char>(header.encoding));
  PutFixed32(&s, header.raw_size);
  PutHash(&s, header.hash);
  s.append(stored);
  return s;
}

Status DecodeChunkPage(std::string_view payload, ChunkPageHeader* header,
                       std::string_view* body) {
  Decoder in(payload);
  uint8_t enc = in.U8();
  header->raw_size = in.U32();
  header->hash = GetHash(&in);
  if (!in.ok() || enc > 1) return Status::Corruption("chunk page: malformed header");
  header->encoding = static_cast<ChunkEncoding>(enc);
  *body = payload.substr(kChunkPageHeaderSize);
  return Status::OK();
}

}  // namespace revfs
