#include "tree/file_chunks.h"

#include <algorithm>

#include "content/chunk_loader.h"
#include "records/record_page.h"
#include "store/page_log.h"
#include "tree/chunk_index.h"
#include "tree/sorted_map.h"
#include "util/hash.h"

namespace revfs {

bool ChunkPresent(Database& rs, const Digest256& hash, const PageRef& page, uint8_t depth) {
  const PageLog& pages = rs.store().pages();
  PageRef at = page;
  size_t digest_size = DigestSizeOf(hash);
  for (int i = 0; i <= depth; ++i) {
    if (!pages.Contains(at)) return false;
    if (i == depth) break;
    // A delta: its page names its base. Any failure to read it is a miss.
    auto base = ChunkBaseOf(pages, at, digest_size);
    if (!base.ok() || !*base) return false;
    at = (*base)->page;
    digest_size = (*base)->digest_size;
  }
  return true;
}

PreparedChunk PrepareChunk(Database& rs, std::string raw, const std::optional<ChunkRef>& base) {
  PreparedChunk c;
  c.hash = HashBytes(raw);
  std::optional<PinnedView> base_bytes;
  if (base && !base->hole && base->depth < kMaxDeltaDepth) {
    auto loaded = rs.chunk_loader().Chunk(base->hash, base->page, base->length);
    if (loaded.ok()) base_bytes = std::move(loaded).value();  // else: store it whole
  }
  c.stored = CompressChunk(rs.store().config(), raw, &c.encoding,
                           base_bytes ? base_bytes->bytes() : std::string_view());
  if (c.encoding == ChunkEncoding::kZstdDelta) c.base = base;
  c.raw = std::move(raw);
  return c;
}

Result<ChunkRef> StorePrepared(WriteTrx& trx, Database& rs, PreparedChunk& chunk,
                               uint64_t offset, ContentStats* stats) {
  ChunkRef ref;
  ref.offset = offset;
  ref.length = static_cast<uint32_t>(chunk.raw.size());
  ref.hash = chunk.hash;
  REVFS_ASSIGN_OR_RETURN(ChunkIndex* index, ChunkIndex::Of(trx, rs));
  // The lookup finds candidates; the whole SHA-256 decides, and the bytes
  // are not read back. An entry is a hint: it may name a page prune has
  // removed (or a delta whose base it removed), which is a miss.
  bool found = false;
  REVFS_RETURN_IF_ERROR(index->Find(ref.hash, [&](const IndexEntry& e) {
    if (e.hash != ref.hash || e.raw_size != chunk.raw.size() || e.depth > kMaxDeltaDepth ||
        !ChunkPresent(rs, e.hash, e.page, e.depth)) {
      return false;
    }
    ref.page = e.page;
    ref.depth = e.depth;
    return found = true;
  }));
  if (found) {
    ++stats->chunks_reused;
    return ref;
  }
  ChunkPageHeader header;
  header.raw_size = ref.length;
  header.hash = ref.hash;
  header.encoding = chunk.encoding;
  if (chunk.base) {
    header.base_hash = chunk.base->hash;
    header.base_page = chunk.base->page;
    header.base_size = chunk.base->length;
    ref.depth = static_cast<uint8_t>(chunk.base->depth + 1);
  }
  REVFS_ASSIGN_OR_RETURN(ref.page,
                         trx.AppendPage(PageKind::kChunk, EncodeChunkPage(header, chunk.stored)));
  ++stats->chunks_new;
  stats->bytes_new += chunk.raw.size();
  stats->bytes_stored += chunk.stored.size();
  REVFS_RETURN_IF_ERROR(index->Add({ref.hash, ref.page, ref.length, ref.depth}));
  return ref;
}

Result<ChunkRef> StoreChunk(WriteTrx& trx, Database& rs, std::string_view raw,
                            uint64_t offset, ContentStats* stats) {
  PreparedChunk chunk = PrepareChunk(rs, std::string(raw));
  return StorePrepared(trx, rs, chunk, offset, stats);
}

Status ForEachChunk(ReadTrx& trx, const Inode& file, uint64_t from,
                    const std::function<bool(const ChunkRef&)>& fn) {
  // Every chunk passed to `fn` has passed CheckChunkGeometry against the one
  // before it, so callers may slice by offset and length without checks. An
  // inline list (at most 16 entries; DecodeInode checked it, but an Inode may
  // be made in memory) is checked whole, which the binary search needs. A
  // long list is checked from the floor entry on, as it is read: a read
  // starting inside an entry that overlaps the one before it is not caught
  // here (that would cost a second descent of the map per read), but it still
  // slices within the chunk's bytes.
  uint64_t prev_end = 0;
  if (file.map.empty()) {
    for (const ChunkRef& c : file.chunks) {
      REVFS_RETURN_IF_ERROR(CheckChunkGeometry(c, prev_end, file.size));
      prev_end = c.offset + c.length;
    }
    auto it = std::upper_bound(file.chunks.begin(), file.chunks.end(), from,
                               [](uint64_t off, const ChunkRef& c) { return off < c.offset; });
    if (it != file.chunks.begin()) --it;
    for (; it != file.chunks.end(); ++it) {
      if (it->offset + it->length <= from) continue;
      if (!fn(*it)) break;
    }
    return Status::OK();
  }
  REVFS_ASSIGN_OR_RETURN(auto floor, MapFloor(trx, kMapBlockBase, file.map, OffsetKey(from)));
  std::string start = floor ? floor->first : OffsetKey(0);
  Status decode_error;
  REVFS_RETURN_IF_ERROR(MapScan(trx, kMapBlockBase, file.map, start,
                                [&](std::string_view key, std::string_view value) {
                                  Decoder in(value);
                                  ChunkRef c = DecodeChunkRef(&in, OffsetFromKey(key));
                                  if (!in.ok()) {
                                    decode_error = Status::Corruption("chunk list: malformed entry");
                                    return false;
                                  }
                                  decode_error = CheckChunkGeometry(c, prev_end, file.size);
                                  if (!decode_error.ok()) return false;
                                  prev_end = c.offset + c.length;
                                  if (prev_end <= from) return true;
                                  return fn(c);
                                }));
  return decode_error;
}

Status ReadFilePinned(Database& rs, ReadTrx& trx, const Inode& file, uint64_t offset,
                      uint64_t length, std::vector<PinnedView>* pins,
                      std::vector<std::string_view>* pieces) {
  if (offset >= file.size || length == 0) return Status::OK();
  const uint64_t end = std::min(file.size, offset + length);
  static const std::string kZeros(256 * 1024, '\0');
  uint64_t pos = offset;
  Status status;
  auto zeros = [&](uint64_t upto) {
    while (pos < upto) {
      uint64_t n = std::min<uint64_t>(upto - pos, kZeros.size());
      pieces->emplace_back(kZeros.data(), n);
      pos += n;
    }
  };
  REVFS_RETURN_IF_ERROR(ForEachChunk(trx, file, offset, [&](const ChunkRef& c) {
    if (c.offset >= end) return false;
    if (c.offset > pos) zeros(std::min(c.offset, end));  // a gap is a hole
    const uint64_t upto = std::min<uint64_t>(c.offset + c.length, end);
    if (c.hole) {
      zeros(upto);
      return pos < end;
    }
    auto chunk = rs.chunk_loader().Chunk(c.hash, c.page, c.length);
    if (!chunk.ok()) {
      status = chunk.status();
      return false;
    }
    if (chunk->bytes().size() != c.length) {  // never slice past a chunk's bytes
      status = Status::Corruption("chunk at offset " + std::to_string(c.offset) + " holds " +
                                  std::to_string(chunk->bytes().size()) + " bytes, not " +
                                  std::to_string(c.length));
      return false;
    }
    pieces->push_back(chunk->bytes().substr(pos - c.offset, upto - pos));
    pins->push_back(std::move(chunk).value());
    pos = upto;
    return pos < end;
  }));
  REVFS_RETURN_IF_ERROR(status);
  zeros(end);  // a file whose tail is a hole
  return Status::OK();
}

Status ReadFile(Database& rs, ReadTrx& trx, const Inode& file, uint64_t offset,
                uint64_t length, const std::function<Status(std::string_view)>& sink) {
  // Bounded pieces at a time, so that a huge read does not pin every chunk.
  constexpr uint64_t kStep = 8u << 20;
  const uint64_t end = std::min(file.size, offset + length);
  for (uint64_t pos = offset; pos < end; pos += kStep) {
    std::vector<PinnedView> pins;
    std::vector<std::string_view> pieces;
    REVFS_RETURN_IF_ERROR(
        ReadFilePinned(rs, trx, file, pos, std::min(kStep, end - pos), &pins, &pieces));
    for (std::string_view piece : pieces) REVFS_RETURN_IF_ERROR(sink(piece));
  }
  return Status::OK();
}

}  // namespace revfs
