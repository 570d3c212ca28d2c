#include "tree/chunk_index.h"

#include <xxhash.h>

#include <algorithm>
#include <any>
#include <cstring>
#include <mutex>
#include <optional>

#include "records/record_page.h"
#include "revfs/inode.h"
#include "store/page.h"
#include "store/page_log.h"
#include "util/hash.h"

namespace revfs {
namespace {

constexpr uint8_t kManifestMagic = 0xC3;
// An entry: digest 32, PageRef 20, raw size 4, depth 1. 69 fit a record
// after a log record's count byte, and after a bucket record's count and
// `more` (3 bytes).
constexpr size_t kEntrySize = kDigestSize + 20 + 4 + 1;
constexpr size_t kMaxPerRecord = 69;
static_assert(1 + kMaxPerRecord * kEntrySize <= kMaxRecordValue);
static_assert(3 + kMaxPerRecord * kEntrySize <= kMaxRecordValue);
constexpr size_t kMaxRecordsPerBucket = 1024;
constexpr uint64_t kLogRecords = 1024;
constexpr int kRunShift = 38;
constexpr uint32_t kRunIds = uint32_t{1} << (60 - kRunShift);
constexpr uint64_t kFilterFlag = uint64_t{1} << 37;
constexpr size_t kFilterBlockBytes = 64;
constexpr int kFilterProbes = 7;
constexpr size_t kFilterBitsPerEntry = 10;

ChunkIndex::Options g_options;
std::mutex g_options_mu;

uint64_t RunKey(uint32_t id) { return kChunkIndexBase | (uint64_t{id} << kRunShift); }
uint64_t BucketKey(uint32_t id, uint64_t bucket, uint64_t record) {
  return RunKey(id) | bucket << 10 | record;
}
uint64_t FilterKey(uint32_t id, uint64_t i) { return RunKey(id) | kFilterFlag | i; }
uint64_t FilterRecords(uint64_t bytes) { return (bytes + kMaxRecordValue - 1) / kMaxRecordValue; }
uint64_t BucketOf(uint64_t key, uint64_t buckets) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(key) * buckets) >> 64);
}
uint64_t Mix(uint64_t z) {  // splitmix64's finalizer
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Index order: lookup key, then the whole digest.
bool Before(const IndexEntry& a, const IndexEntry& b) {
  const uint64_t ka = LookupKey(a.hash), kb = LookupKey(b.hash);
  if (ka != kb) return ka < kb;
  return a.hash.bytes < b.hash.bytes;
}
bool Same(const IndexEntry& a, const IndexEntry& b) { return a.hash == b.hash && a.page == b.page; }

void PutEntry(std::string* s, const IndexEntry& e) {
  PutHash(s, e.hash);
  EncodePageRef(s, e.page);
  PutFixed32(s, e.raw_size);
  s->push_back(static_cast<char>(e.depth));
}
bool GetEntries(Decoder* in, size_t n, std::vector<IndexEntry>* out) {
  for (size_t i = 0; i < n && in->ok(); ++i) {
    IndexEntry e;
    e.hash = GetHash(in);
    e.page = DecodePageRef(in);
    e.raw_size = in->U32();
    e.depth = in->U8();
    if (in->ok()) out->push_back(e);
  }
  return in->ok() && in->remaining() == 0;
}

std::string EncodeLogRecord(const std::vector<IndexEntry>& entries) {
  std::string s;
  s.push_back(static_cast<char>(entries.size()));
  for (const IndexEntry& e : entries) PutEntry(&s, e);
  return s;
}

// A run's bucket record: count u8 | more u16 | count x entry.
Status DecodeBucketRecord(std::string_view bytes, uint16_t* more, std::vector<IndexEntry>* out) {
  Decoder in(bytes);
  const uint8_t n = in.U8();
  *more = in.U16();
  if (!in.ok() || n > kMaxPerRecord || *more >= kMaxRecordsPerBucket || !GetEntries(&in, n, out)) {
    return Status::Corruption("chunk index: malformed bucket record");
  }
  return Status::OK();
}

}  // namespace

// A blocked Bloom filter: 512-bit blocks, kFilterProbes bits of one block a
// key, block and bits from a mix of the lookup key.
struct ChunkIndex::Filter {
  std::string bits;
  uint64_t checksum = 0;

  static uint64_t BytesFor(uint64_t entries) {
    const uint64_t blocks = std::max<uint64_t>(1, (entries * kFilterBitsPerEntry + 511) / 512);
    return blocks * kFilterBlockBytes;
  }
  template <typename Fn>
  void Probe(uint64_t key, Fn&& fn) const {
    const uint64_t h = Mix(key + 0x9E3779B97F4A7C15ULL);
    const uint64_t block = BucketOf(h, bits.size() / kFilterBlockBytes);
    const uint64_t g = Mix(h);
    for (int i = 0; i < kFilterProbes; ++i) {
      const uint64_t bit = (g >> (9 * i)) & 511;
      fn(block * kFilterBlockBytes + bit / 8, static_cast<uint8_t>(1u << (bit % 8)));
    }
  }
  void Add(uint64_t key) {
    Probe(key, [&](uint64_t byte, uint8_t mask) { bits[byte] = static_cast<char>(bits[byte] | mask); });
  }
  bool MayContain(uint64_t key) const {
    bool all = true;
    Probe(key, [&](uint64_t byte, uint8_t mask) {
      all = all && (static_cast<uint8_t>(bits[byte]) & mask);
    });
    return all;
  }
};

// The filters a Database's writer has loaded, by run id.
struct ChunkIndex::State {
  std::unordered_map<uint32_t, std::shared_ptr<const Filter>> filters;
};

namespace {

using Filter = ChunkIndex::Filter;

// Writes a run from entries given in index order.
class RunWriter {
 public:
  RunWriter(WriteTrx& trx, uint32_t id, uint64_t expected, const ChunkIndex::Options& options)
      : trx_(trx), id_(id),
        buckets_(std::max<uint64_t>(
            1, (expected + options.bucket_target - 1) / options.bucket_target)),
        max_records_(std::clamp<size_t>(options.max_bucket_records, 1, kMaxRecordsPerBucket)) {
    filter_.bits.assign(Filter::BytesFor(expected), '\0');
  }

  Status Add(const IndexEntry& e, IndexStats* stats) {
    const uint64_t key = LookupKey(e.hash);
    const uint64_t b = BucketOf(key, buckets_);
    if (last_) {
      if (b < bucket_ || Before(e, *last_)) {
        return Status::Corruption("chunk index: run entries out of order");
      }
      if (Same(e, *last_)) return Status::OK();
    }
    if (b != bucket_) REVFS_RETURN_IF_ERROR(FlushBucket(stats));
    bucket_ = b;
    pending_.push_back(e);
    last_ = e;
    filter_.Add(key);
    return Status::OK();
  }

  Result<ChunkIndex::Run> Finish(uint8_t level, IndexStats* stats,
                                 std::shared_ptr<const Filter>* filter) {
    REVFS_RETURN_IF_ERROR(FlushBucket(stats));
    for (uint64_t i = 0, pos = 0; entries_ && pos < filter_.bits.size();
         ++i, pos += kMaxRecordValue) {
      REVFS_RETURN_IF_ERROR(
          trx_.Put(FilterKey(id_, i), std::string_view(filter_.bits).substr(pos, kMaxRecordValue)));
    }
    filter_.checksum = XXH3_64bits(filter_.bits.data(), filter_.bits.size());
    ChunkIndex::Run run;
    run.id = id_;
    run.level = level;
    run.entries = entries_;
    run.buckets = buckets_;
    run.filter_bytes = filter_.bits.size();
    run.filter_checksum = filter_.checksum;
    *filter = std::make_shared<const Filter>(std::move(filter_));
    ++stats->runs_written;
    stats->entries_written += entries_;
    return run;
  }

 private:
  Status FlushBucket(IndexStats* stats) {
    if (pending_.empty()) return Status::OK();
    size_t records = (pending_.size() + kMaxPerRecord - 1) / kMaxPerRecord;
    if (records > max_records_) {
      stats->entries_dropped += pending_.size() - max_records_ * kMaxPerRecord;
      records = max_records_;
    }
    for (size_t r = 0; r < records; ++r) {
      const size_t first = r * kMaxPerRecord;
      const size_t n = std::min(kMaxPerRecord, pending_.size() - first);
      std::string s;
      s.push_back(static_cast<char>(n));
      PutFixed16(&s, static_cast<uint16_t>(r == 0 ? records - 1 : 0));
      for (size_t i = first; i < first + n; ++i) PutEntry(&s, pending_[i]);
      REVFS_RETURN_IF_ERROR(trx_.Put(BucketKey(id_, bucket_, r), s));
      entries_ += n;
    }
    pending_.clear();
    return Status::OK();
  }

  WriteTrx& trx_;
  const uint32_t id_;
  const uint64_t buckets_;
  const size_t max_records_;
  Filter filter_;
  uint64_t bucket_ = 0;
  std::vector<IndexEntry> pending_;  // bucket_'s entries
  std::optional<IndexEntry> last_;   // the last entry added
  uint64_t entries_ = 0;
};

// Reads a run's entries in index order, deleting each record once read
// (the run is being merged away).
class RunReader {
 public:
  RunReader(WriteTrx& trx, const ChunkIndex::Run& run) : trx_(trx), run_(run) {}

  // The next entry, or nullptr at the end.
  Result<const IndexEntry*> Next() {
    while (at_ == entries_.size()) {
      if (bucket_ == run_.buckets) return static_cast<const IndexEntry*>(nullptr);
      entries_.clear();
      at_ = 0;
      uint16_t more = 0;
      for (uint64_t r = 0; r <= more; ++r) {
        const uint64_t key = BucketKey(run_.id, bucket_, r);
        REVFS_ASSIGN_OR_RETURN(auto record, trx_.Get(key));
        if (!record) break;
        uint16_t m = 0;
        REVFS_RETURN_IF_ERROR(DecodeBucketRecord(*record, &m, &entries_));
        if (r == 0) more = m;
        REVFS_RETURN_IF_ERROR(trx_.Delete(key));
      }
      ++bucket_;
    }
    return &entries_[at_++];
  }

  Status DeleteFilter() {
    for (uint64_t i = 0; i < FilterRecords(run_.filter_bytes); ++i) {
      REVFS_RETURN_IF_ERROR(trx_.Delete(FilterKey(run_.id, i)));
    }
    return Status::OK();
  }

 private:
  WriteTrx& trx_;
  const ChunkIndex::Run run_;
  uint64_t bucket_ = 0;
  std::vector<IndexEntry> entries_;
  size_t at_ = 0;
};

}  // namespace

void ChunkIndex::SetOptionsForTest(const Options& options) {
  std::lock_guard lock(g_options_mu);
  g_options = options;
}

static ChunkIndex::Options CurrentOptions() {
  std::lock_guard lock(g_options_mu);
  return g_options;
}

ChunkIndex::ChunkIndex(WriteTrx& trx, Database& db)
    : trx_(trx), db_(db), options_(CurrentOptions()) {}

Result<ChunkIndex*> ChunkIndex::Of(WriteTrx& trx, Database& db) {
  if (auto* index = std::any_cast<std::shared_ptr<ChunkIndex>>(&trx.extension())) {
    return index->get();
  }
  std::shared_ptr<ChunkIndex> index(new ChunkIndex(trx, db));
  REVFS_RETURN_IF_ERROR(index->Load());
  trx.extension() = index;
  return index.get();
}

std::vector<std::pair<std::string, uint64_t>> ChunkIndex::Counters(WriteTrx& trx) {
  auto* index = std::any_cast<std::shared_ptr<ChunkIndex>>(&trx.extension());
  if (!index) return {};
  const IndexStats& s = (*index)->stats_;
  std::vector<std::pair<std::string, uint64_t>> out;
  for (auto [name, value] : {std::pair{"index_lookups", s.lookups},
                             {"index_records_read", s.records_read},
                             {"index_filter_rejects", s.filter_rejects},
                             {"index_runs", s.runs},
                             {"index_runs_written", s.runs_written},
                             {"index_entries_written", s.entries_written},
                             {"index_entries_dropped", s.entries_dropped}}) {
    if (value) out.emplace_back(name, value);  // a revision root stays small: 0 is absent
  }
  return out;
}

Status ChunkIndex::Load() {
  REVFS_ASSIGN_OR_RETURN(auto manifest, trx_.Get(kChunkIndexBase));
  if (manifest) {
    Decoder in(*manifest);
    if (in.U8() != kManifestMagic) {
      return Status::NotSupported(
          "chunk index of an earlier development build of format 3; commit its trees into a "
          "new store");
    }
    next_id_ = in.Varint32();
    const uint64_t n = in.Varint64();
    for (uint64_t i = 0; i < n && in.ok(); ++i) {
      Run run;
      run.id = in.Varint32();
      run.level = in.U8();
      run.entries = in.Varint64();
      run.buckets = in.Varint64();
      run.filter_bytes = in.Varint64();
      run.filter_checksum = in.U64();
      if (run.id == 0 || run.id >= kRunIds || run.buckets == 0 ||
          run.buckets > (kFilterFlag >> 10) || run.filter_bytes == 0 ||
          run.filter_bytes % kFilterBlockBytes != 0) {
        return Status::Corruption("chunk index: malformed manifest");
      }
      runs_.push_back(run);
    }
    if (!in.ok() || in.remaining() != 0 || next_id_ == 0 || next_id_ >= kRunIds) {
      return Status::Corruption("chunk index: malformed manifest");
    }
  }
  Status decode;
  REVFS_RETURN_IF_ERROR(trx_.base().Scan(
      kChunkLogBase, kChunkLogBase | (kLogRecords - 1), [&](uint64_t key, std::string_view v) {
        Decoder in(v);
        const uint8_t n = in.U8();
        if (n > kMaxPerRecord || !GetEntries(&in, n, &log_)) {
          decode = Status::Corruption("chunk index: malformed log record");
          return false;
        }
        log_records_.push_back(key);
        log_next_ = (key & (kLogRecords - 1)) + 1;
        return true;
      }));
  REVFS_RETURN_IF_ERROR(decode);
  for (size_t i = 0; i < log_.size(); ++i) log_by_key_.emplace(LookupKey(log_[i].hash), i);
  if (log_.size() >= options_.log_entries || log_next_ >= kLogRecords) return Flush();
  stats_.runs = runs_.size();
  return Status::OK();
}

Result<std::shared_ptr<const ChunkIndex::Filter>> ChunkIndex::FilterOf(const Run& run) {
  std::any& ext = db_.writer_extension();
  if (!std::any_cast<State>(&ext)) ext = State();
  State& state = *std::any_cast<State>(&ext);
  auto it = state.filters.find(run.id);
  if (it != state.filters.end() && it->second->checksum == run.filter_checksum &&
      it->second->bits.size() == run.filter_bytes) {
    return it->second;
  }
  auto filter = std::make_shared<Filter>();
  filter->bits.reserve(run.filter_bytes);
  for (uint64_t i = 0; i < FilterRecords(run.filter_bytes); ++i) {
    REVFS_ASSIGN_OR_RETURN(auto record, trx_.Get(FilterKey(run.id, i)));
    if (record) filter->bits += *record;
  }
  filter->checksum = XXH3_64bits(filter->bits.data(), filter->bits.size());
  if (filter->bits.size() != run.filter_bytes || filter->checksum != run.filter_checksum) {
    return Status::Corruption("chunk index: the filter of run " + std::to_string(run.id) +
                              " does not match the manifest");
  }
  state.filters[run.id] = filter;
  return std::shared_ptr<const Filter>(filter);
}

Status ChunkIndex::Find(const Digest256& hash, const std::function<bool(const IndexEntry&)>& fn) {
  ++stats_.lookups;
  const uint64_t key = LookupKey(hash);
  auto logged = log_by_key_.equal_range(key);
  for (auto it = logged.first; it != logged.second; ++it) {
    if (fn(log_[it->second])) return Status::OK();
  }
  std::vector<IndexEntry> entries;
  for (auto run = runs_.rbegin(); run != runs_.rend(); ++run) {
    REVFS_ASSIGN_OR_RETURN(std::shared_ptr<const Filter> filter, FilterOf(*run));
    if (!filter->MayContain(key)) {
      ++stats_.filter_rejects;
      continue;
    }
    const uint64_t bucket = BucketOf(key, run->buckets);
    uint16_t more = 0;
    for (uint64_t r = 0; r <= more; ++r) {
      REVFS_ASSIGN_OR_RETURN(auto record, trx_.Get(BucketKey(run->id, bucket, r)));
      if (!record) break;
      ++stats_.records_read;
      entries.clear();
      uint16_t m = 0;
      REVFS_RETURN_IF_ERROR(DecodeBucketRecord(*record, &m, &entries));
      if (r == 0) more = m;
      for (const IndexEntry& e : entries) {
        if (LookupKey(e.hash) == key && fn(e)) return Status::OK();
      }
    }
  }
  return Status::OK();
}

Status ChunkIndex::Add(const IndexEntry& e) {
  const bool new_record = log_open_number_ == UINT64_MAX || log_open_.size() >= kMaxPerRecord;
  if (new_record && log_next_ >= kLogRecords) REVFS_RETURN_IF_ERROR(Flush());
  if (new_record) {
    log_open_.clear();
    log_open_number_ = log_next_++;
    log_records_.push_back(kChunkLogBase | log_open_number_);
  }
  log_open_.push_back(e);
  log_by_key_.emplace(LookupKey(e.hash), log_.size());
  log_.push_back(e);
  REVFS_RETURN_IF_ERROR(trx_.Put(kChunkLogBase | log_open_number_, EncodeLogRecord(log_open_)));
  if (log_.size() >= options_.log_entries) return Flush();
  return Status::OK();
}

Status ChunkIndex::Flush() {
  std::vector<IndexEntry> fresh = std::move(log_);
  std::sort(fresh.begin(), fresh.end(), [](const IndexEntry& a, const IndexEntry& b) {
    return Before(a, b) || (!Before(b, a) && a.page.offset < b.page.offset);
  });
  for (uint64_t key : log_records_) REVFS_RETURN_IF_ERROR(trx_.Delete(key));
  log_.clear();
  log_by_key_.clear();
  log_records_.clear();
  log_open_.clear();
  log_open_number_ = UINT64_MAX;
  log_next_ = 0;

  // The tiers the new run completes: four runs of level 0 make one of
  // level 1, and so on up.
  std::vector<Run> merged;
  uint64_t expected = fresh.size();
  uint8_t level = 0;
  while (true) {
    size_t same = 0;
    for (const Run& r : runs_) same += r.level == level;
    if (same + 1 < options_.fanout) break;
    for (auto it = runs_.begin(); it != runs_.end();) {
      if (it->level == level) {
        expected += it->entries;
        merged.push_back(*it);
        it = runs_.erase(it);
      } else {
        ++it;
      }
    }
    ++level;
  }
  if (expected == 0) return WriteManifest();

  // A run id not in use (merged runs' ids included: their records are
  // being deleted in this transaction).
  auto in_use = [&](uint32_t id) {
    auto has = [id](const Run& r) { return r.id == id; };
    return std::any_of(runs_.begin(), runs_.end(), has) ||
           std::any_of(merged.begin(), merged.end(), has);
  };
  while (in_use(next_id_)) next_id_ = next_id_ + 1 < kRunIds ? next_id_ + 1 : 1;
  const uint32_t id = next_id_;
  next_id_ = next_id_ + 1 < kRunIds ? next_id_ + 1 : 1;

  // One pass in index order over the new entries and the merged runs.
  const PageLog& pages = db_.store().pages();
  RunWriter writer(trx_, id, expected, options_);
  std::vector<RunReader> readers;
  std::vector<const IndexEntry*> heads;
  for (const Run& r : merged) {
    readers.emplace_back(trx_, r);
    REVFS_ASSIGN_OR_RETURN(const IndexEntry* head, readers.back().Next());
    heads.push_back(head);
  }
  size_t at = 0;
  while (true) {
    const IndexEntry* best = at < fresh.size() ? &fresh[at] : nullptr;
    size_t from = readers.size();  // the fresh entries
    for (size_t i = 0; i < readers.size(); ++i) {
      if (heads[i] && (!best || Before(*heads[i], *best))) {
        best = heads[i];
        from = i;
      }
    }
    if (!best) break;
    if (pages.Contains(best->page)) {
      REVFS_RETURN_IF_ERROR(writer.Add(*best, &stats_));
    } else {
      ++stats_.entries_dropped;  // prune removed its page
    }
    if (from == readers.size()) {
      ++at;
    } else {
      REVFS_ASSIGN_OR_RETURN(heads[from], readers[from].Next());
    }
  }
  std::any& ext = db_.writer_extension();
  if (!std::any_cast<State>(&ext)) ext = State();
  State& state = *std::any_cast<State>(&ext);
  for (size_t i = 0; i < merged.size(); ++i) {
    REVFS_RETURN_IF_ERROR(readers[i].DeleteFilter());
    state.filters.erase(merged[i].id);
  }
  std::shared_ptr<const Filter> filter;
  REVFS_ASSIGN_OR_RETURN(Run run, writer.Finish(level, &stats_, &filter));
  if (run.entries > 0) {  // else every entry was stale: no run, no filter written
    state.filters[run.id] = std::move(filter);
    runs_.push_back(run);
  }
  return WriteManifest();
}

Status ChunkIndex::WriteManifest() {
  std::string s;
  s.push_back(static_cast<char>(kManifestMagic));
  PutVarint64(&s, next_id_);
  PutVarint64(&s, runs_.size());
  for (const Run& r : runs_) {
    PutVarint64(&s, r.id);
    s.push_back(static_cast<char>(r.level));
    PutVarint64(&s, r.entries);
    PutVarint64(&s, r.buckets);
    PutVarint64(&s, r.filter_bytes);
    PutFixed64(&s, r.filter_checksum);
  }
  stats_.runs = runs_.size();
  return trx_.Put(kChunkIndexBase, s);
}

}  // namespace revfs
