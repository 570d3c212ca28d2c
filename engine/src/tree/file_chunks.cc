#include "tree/file_chunks.h"

#include <algorithm>
#include <any>
#include <unordered_map>

#include "content/chunk_loader.h"
#include "records/record_page.h"
#include "store/page_log.h"
#include "tree/sorted_map.h"
#include "util/hash.h"

namespace revfs {
namespace {

// The chunk index is bucketed by the top 16 bits of the hash, so that the
// buckets are dense keys: a commit's new chunks touch at most 64 leaves and
// one short path of indirect pages, instead of a path per chunk.
constexpr int kBucketBits = 16;
// An entry is 57 bytes (digest 32, PageRef 20, raw size 4, depth 1); after
// the count byte, 69 fit one record of kMaxRecordValue (3,968) bytes.
constexpr size_t kIndexEntrySize = kDigestSize + 20 + 4 + 1;
constexpr size_t kMaxBucketEntries = (kMaxRecordValue - 1) / kIndexEntrySize;
static_assert(kMaxBucketEntries == 69);
uint64_t ChunkBucket(const Digest256& h) { return LookupKey(h) >> (64 - kBucketBits); }

struct IndexEntry {
  Digest256 hash;
  PageRef page;
  uint32_t raw_size = 0;
  uint8_t depth = 0;
};

std::vector<IndexEntry> DecodeIndex(std::string_view bytes) {
  std::vector<IndexEntry> out;
  Decoder in(bytes);
  uint8_t n = in.U8();
  for (uint8_t i = 0; i < n && in.ok(); ++i) {
    IndexEntry e;
    e.hash = GetHash(&in);
    e.page = DecodePageRef(&in);
    e.raw_size = in.U32();
    e.depth = in.U8();
    if (in.ok()) out.push_back(e);
  }
  return out;
}

std::string EncodeIndex(const std::vector<IndexEntry>& entries) {
  std::string s;
  s.push_back(static_cast<char>(entries.size()));
  for (const IndexEntry& e : entries) {
    PutHash(&s, e.hash);
    EncodePageRef(&s, e.page);
    PutFixed32(&s, e.raw_size);
    s.push_back(static_cast<char>(e.depth));
  }
  return s;
}

// The recent-chunk log (engine/FORMAT.md, format 2): the chunks stored by
// the last commits, listed in records 4 << 60 | n (one leaf) rather than in
// their buckets, so that a small commit writes one small record instead of a
// fragment in each of several bucket leaves. When it holds kLogMaxEntries,
// the next commit moves it into the buckets.
constexpr size_t kLogMaxEntries = 128;
constexpr uint64_t kLogRecords = 1024;

struct ChunkLog {
  std::vector<IndexEntry> entries;              // every logged entry
  std::unordered_multimap<uint64_t, size_t> by_hash;  // LookupKey -> entries index
  uint64_t next = 0;                 // the next record number
  std::vector<IndexEntry> open;      // this transaction's last record
  uint64_t open_number = UINT64_MAX; // its number
};

// Adds `e` to its bucket unless the bucket is full or holds it already.
Status AddToBucket(WriteTrx& trx, const IndexEntry& e) {
  const uint64_t key = kChunkIndexBase | ChunkBucket(e.hash);
  REVFS_ASSIGN_OR_RETURN(auto existing, trx.Get(key));
  std::vector<IndexEntry> entries = existing ? DecodeIndex(*existing) : std::vector<IndexEntry>();
  if (entries.size() >= kMaxBucketEntries) return Status::OK();
  for (const IndexEntry& old : entries) {
    if (old.hash == e.hash && old.page == e.page) return Status::OK();
  }
  entries.push_back(e);
  return trx.Put(key, EncodeIndex(entries));
}

// Returns this transaction's view of the log: read once, and emptied into
// the buckets first when it is full.
Result<ChunkLog*> LoadLog(WriteTrx& trx) {
  if (auto* log = std::any_cast<ChunkLog>(&trx.extension())) return log;
  ChunkLog log;
  std::vector<uint64_t> numbers;
  Status decode;
  REVFS_RETURN_IF_ERROR(trx.base().Scan(
      kChunkLogBase, kChunkLogBase | (kLogRecords - 1), [&](uint64_t key, std::string_view v) {
        for (const IndexEntry& e : DecodeIndex(v)) log.entries.push_back(e);
        numbers.push_back(key);
        log.next = (key & (kLogRecords - 1)) + 1;
        return true;
      }));
  if (log.entries.size() >= kLogMaxEntries || log.next >= kLogRecords) {
    for (const IndexEntry& e : log.entries) REVFS_RETURN_IF_ERROR(AddToBucket(trx, e));
    for (uint64_t key : numbers) REVFS_RETURN_IF_ERROR(trx.Delete(key));
    log.entries.clear();
    log.next = 0;
  }
  for (size_t i = 0; i < log.entries.size(); ++i) {
    log.by_hash.emplace(LookupKey(log.entries[i].hash), i);
  }
  trx.extension() = std::move(log);
  return std::any_cast<ChunkLog>(&trx.extension());
}

// Lists `e` in the log, or in its bucket while the log is full.
Status IndexNewChunk(WriteTrx& trx, ChunkLog* log, const IndexEntry& e) {
  const bool new_record = log->open_number == UINT64_MAX || log->open.size() >= kMaxBucketEntries;
  if (log->entries.size() >= kLogMaxEntries || (new_record && log->next >= kLogRecords)) {
    return AddToBucket(trx, e);
  }
  if (new_record) {
    log->open.clear();
    log->open_number = log->next++;
  }
  log->open.push_back(e);
  log->by_hash.emplace(LookupKey(e.hash), log->entries.size());
  log->entries.push_back(e);
  return trx.Put(kChunkLogBase | log->open_number, EncodeIndex(log->open));
}

}  // namespace

bool ChunkPresent(Database& rs, const PageRef& page, uint8_t depth) {
  const PageLog& pages = rs.store().pages();
  PageRef at = page;
  for (int i = 0; i <= depth; ++i) {
    if (!pages.Contains(at)) return false;
    if (i == depth) break;
    // A delta: its page names its base. Any failure to read it is a miss.
    std::string buf;
    PageView view;
    ChunkPageHeader header;
    std::string_view body;
    if (!pages.Read(at, PageKind::kChunk, &buf, &view).ok() ||
        !DecodeChunkPage(view.payload, &header, &body).ok() ||
        header.encoding != ChunkEncoding::kZstdDelta) {
      return false;
    }
    at = header.base_page;
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
  const uint64_t key = kChunkIndexBase | ChunkBucket(ref.hash);
  REVFS_ASSIGN_OR_RETURN(ChunkLog* log, LoadLog(trx));
  REVFS_ASSIGN_OR_RETURN(auto existing, trx.Get(key));
  std::vector<IndexEntry> entries = existing ? DecodeIndex(*existing) : std::vector<IndexEntry>();
  auto logged = log->by_hash.equal_range(LookupKey(ref.hash));
  for (auto it = logged.first; it != logged.second; ++it) entries.push_back(log->entries[it->second]);
  // The lookup found candidates; the whole SHA-256 decides, and the bytes
  // are not read back. An entry is a hint: it may name a page prune has
  // removed (or a delta whose base it removed), which is a miss.
  for (const IndexEntry& e : entries) {
    if (e.hash == ref.hash && e.raw_size == chunk.raw.size() &&
        e.depth <= kMaxDeltaDepth && ChunkPresent(rs, e.page, e.depth)) {
      ref.page = e.page;
      ref.depth = e.depth;
      ++stats->chunks_reused;
      return ref;
    }
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
  REVFS_RETURN_IF_ERROR(IndexNewChunk(trx, log, {ref.hash, ref.page, ref.length, ref.depth}));
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
