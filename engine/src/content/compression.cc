#include "content/compression.h"

#include <zstd.h>

#include <cstring>
#include <memory>

#include "content/zstd_context.h"
#include "store/page_log.h"

namespace revfs {

namespace {

// Compresses `raw` with `base` as zstd's reference prefix; empty on failure.
std::string CompressWithPrefix(int level, std::string_view raw, std::string_view base) {
  ZSTD_CCtx* cctx = internal::ThreadCCtx();
  if (cctx == nullptr) return {};
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  // A window that spans the whole base, so matches anywhere in it count.
  int log = 10;
  while ((size_t{1} << log) < base.size() + raw.size() && log < 27) ++log;
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, log);
  if (ZSTD_isError(ZSTD_CCtx_refPrefix(cctx, base.data(), base.size()))) return {};
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  size_t n = ZSTD_compress2(cctx, out.data(), out.size(), raw.data(), raw.size());
  if (ZSTD_isError(n)) return {};
  out.resize(n);
  return out;
}

}  // namespace

std::string CompressChunk(const StoreConfig& config, std::string_view raw,
                          ChunkEncoding* encoding, std::string_view base) {
  if (config.compression == Compression::kZstd && !base.empty() && raw.size() >= 64) {
    std::string out = CompressWithPrefix(config.compression_level, raw, base);
    if (!out.empty() && out.size() < raw.size() - raw.size() / 64) {
      *encoding = ChunkEncoding::kZstdDelta;
      return out;
    }
  }
  if (config.compression == Compression::kZstd && raw.size() >= 64) {
    std::string out(ZSTD_compressBound(raw.size()), '\0');
    size_t n = internal::ThreadCompress(out.data(), out.size(), raw.data(), raw.size(),
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
                       size_t raw_size, std::string_view base) {
  switch (encoding) {
    case ChunkEncoding::kZstdDelta: {
      ZSTD_DCtx* dctx = internal::ThreadDCtx();
      if (dctx == nullptr) return Status::ResourceExhausted("zstd: no decompression context");
      ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 27);
      if (ZSTD_isError(ZSTD_DCtx_refPrefix(dctx, base.data(), base.size()))) {
        return Status::Corruption("delta chunk: bad base");
      }
      unsigned long long frame = ZSTD_getFrameContentSize(stored.data(), stored.size());
      if (frame != raw_size) return Status::Corruption("delta chunk has the wrong size");
      size_t n = ZSTD_decompressDCtx(dctx, dst, raw_size, stored.data(), stored.size());
      if (ZSTD_isError(n) || n != raw_size) {
        return Status::Corruption("delta chunk does not decode");
      }
      return Status::OK();
    }
    case ChunkEncoding::kRaw:
      if (stored.size() != raw_size) return Status::Corruption("raw chunk has the wrong size");
      if (raw_size) std::memcpy(dst, stored.data(), raw_size);
      return Status::OK();
    case ChunkEncoding::kZstd: {
      unsigned long long frame = ZSTD_getFrameContentSize(stored.data(), stored.size());
      if (frame != raw_size) return Status::Corruption("zstd chunk has the wrong size");
      size_t n = internal::ThreadDecompress(dst, raw_size, stored.data(), stored.size());
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
  s.reserve(64 + stored.size());
  s.push_back(static_cast<char>(header.encoding));
  PutFixed32(&s, header.raw_size);
  PutHash(&s, header.hash);
  if (header.encoding == ChunkEncoding::kZstdDelta) {
    PutHash(&s, header.base_hash);
    EncodePageRef(&s, header.base_page);
    PutFixed32(&s, header.base_size);
  }
  s.append(stored);
  return s;
}

Status DecodeChunkPage(std::string_view payload, size_t digest_size, ChunkPageHeader* header,
                       std::string_view* body) {
  Decoder in(payload);
  uint8_t enc = in.U8();
  header->raw_size = in.U32();
  header->hash = GetHash(&in, digest_size);
  if (enc == static_cast<uint8_t>(ChunkEncoding::kZstdDelta)) {
    header->base_hash = GetHash(&in, digest_size);
    header->base_page = DecodePageRef(&in);
    header->base_size = in.U32();
  }
  if (!in.ok() || enc > 2) return Status::Corruption("chunk page: malformed header");
  header->encoding = static_cast<ChunkEncoding>(enc);
  *body = payload.substr(payload.size() - in.remaining());
  return Status::OK();
}

Result<std::optional<ChunkBase>> ChunkBaseOf(const PageLog& pages, const PageRef& page,
                                             size_t digest_size) {
  std::string buf;
  PageView view;
  REVFS_RETURN_IF_ERROR(pages.Read(page, PageKind::kChunk, &buf, &view));
  ChunkPageHeader header;
  std::string_view body;
  REVFS_RETURN_IF_ERROR(DecodeChunkPage(view.payload, digest_size, &header, &body));
  if (header.encoding != ChunkEncoding::kZstdDelta) return std::optional<ChunkBase>();
  return std::optional<ChunkBase>(ChunkBase{header.base_page, DigestSizeOf(header.base_hash)});
}

}  // namespace revfs
