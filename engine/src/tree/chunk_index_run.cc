#include "tree/chunk_index_run.h"

#include <xxhash.h>

#include <algorithm>

#include "records/record_page.h"
#include "revfs/inode.h"
#include "store/page.h"
#include "util/hash.h"

namespace revfs {
namespace {

// An entry: digest 32, PageRef 20, raw size 4, depth 1. 69 fit a record
// after a log record's count byte, and after a bucket record's count and
// `more` (3 bytes).
constexpr size_t kEntrySize = kDigestSize + 20 + 4 + 1;
static_assert(1 + kMaxPerRecord * kEntrySize <= kMaxRecordValue);
static_assert(3 + kMaxPerRecord * kEntrySize <= kMaxRecordValue);
constexpr int kFilterProbes = 7;
constexpr size_t kFilterBitsPerEntry = 10;

uint64_t RunKey(uint32_t id) {
  return kChunkIndexBase | (uint64_t{id} << kRunShift);
}
uint64_t Mix(uint64_t z) {  // splitmix64's finalizer
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
bool Same(const IndexEntry& a, const IndexEntry& b) {
  return a.hash == b.hash && a.page == b.page;
}

// Calls fn(byte, mask) for each bit of `key` in a filter of `size` bytes.
template <typename Fn>
void Probe(size_t size, uint64_t key, Fn&& fn) {
  const uint64_t h = Mix(key + 0x9E3779B97F4A7C15ULL);
  const uint64_t block = BucketOf(h, size / kFilterBlockBytes);
  const uint64_t g = Mix(h);
  for (int i = 0; i < kFilterProbes; ++i) {
    const uint64_t bit = (g >> (9 * i)) & 511;
    fn(block * kFilterBlockBytes + bit / 8,
       static_cast<uint8_t>(1u << (bit % 8)));
  }
}

}  // namespace

uint64_t BucketKey(uint32_t id, uint64_t bucket, uint64_t record) {
  return RunKey(id) | bucket << 10 | record;
}

uint64_t FilterKey(uint32_t id, uint64_t i) {
  return RunKey(id) | kFilterFlag | i;
}

uint64_t FilterRecords(uint64_t bytes) {
  return (bytes + kMaxRecordValue - 1) / kMaxRecordValue;
}

uint64_t BucketOf(uint64_t key, uint64_t buckets) {
  return static_cast<uint64_t>(
      (static_cast<unsigned __int128>(key) * buckets) >> 64);
}

bool Before(const IndexEntry& a, const IndexEntry& b) {
  const uint64_t ka = LookupKey(a.hash), kb = LookupKey(b.hash);
  if (ka != kb) return ka < kb;
  return a.hash.bytes < b.hash.bytes;
}

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

Status DecodeBucketRecord(std::string_view bytes, uint16_t* more,
                          std::vector<IndexEntry>* out) {
  Decoder in(bytes);
  const uint8_t n = in.U8();
  *more = in.U16();
  if (!in.ok() || n > kMaxPerRecord || *more >= kMaxRecordsPerBucket ||
      !GetEntries(&in, n, out)) {
    return Status::Corruption("chunk index: malformed bucket record");
  }
  return Status::OK();
}

Status ForEachBucketRecord(
    WriteTrx& trx, uint32_t id, uint64_t bucket,
    const std::function<bool(uint64_t key, const std::vector<IndexEntry>& entries)>& fn) {
  std::vector<IndexEntry> entries;
  uint16_t more = 0;
  for (uint64_t r = 0; r <= more; ++r) {
    const uint64_t key = BucketKey(id, bucket, r);
    REVFS_ASSIGN_OR_RETURN(auto record, trx.Get(key));
    if (!record) break;
    entries.clear();
    uint16_t m = 0;
    REVFS_RETURN_IF_ERROR(DecodeBucketRecord(*record, &m, &entries));
    if (r == 0) more = m;
    if (!fn(key, entries)) break;
  }
  return Status::OK();
}

uint64_t RunFilter::BytesFor(uint64_t entries) {
  const uint64_t blocks =
      std::max<uint64_t>(1, (entries * kFilterBitsPerEntry + 511) / 512);
  return blocks * kFilterBlockBytes;
}

uint64_t RunFilter::MaxEntries(uint64_t bytes) { return bytes * 8 / kFilterBitsPerEntry; }

void RunFilter::Add(uint64_t key) {
  Probe(bits.size(), key, [&](uint64_t byte, uint8_t mask) {
    bits[byte] = static_cast<char>(bits[byte] | mask);
  });
}

bool RunFilter::MayContain(uint64_t key) const {
  bool all = true;
  Probe(bits.size(), key, [&](uint64_t byte, uint8_t mask) {
    all = all && (static_cast<uint8_t>(bits[byte]) & mask);
  });
  return all;
}

RunWriter::RunWriter(WriteTrx& trx, uint32_t id, uint64_t expected,
                     const RunOptions& options)
    : trx_(trx),
      id_(id),
      // Past kMaxBuckets (2^33: about 4 * 10^11 entries) buckets fill up
      // toward their 1,024 records instead.
      buckets_(std::clamp<uint64_t>(
          (expected + options.bucket_target - 1) / options.bucket_target, 1, kMaxBuckets)),
      max_records_(std::clamp<size_t>(options.max_bucket_records, 1,
                                      kMaxRecordsPerBucket)) {
  filter_.bits.assign(RunFilter::BytesFor(expected), '\0');
}

Status RunWriter::Add(const IndexEntry& e, RunStats* stats) {
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

Result<IndexRun> RunWriter::Finish(uint8_t level, RunStats* stats,
                                   std::shared_ptr<const RunFilter>* filter) {
  REVFS_RETURN_IF_ERROR(FlushBucket(stats));
  for (uint64_t i = 0, pos = 0; entries_ && pos < filter_.bits.size();
       ++i, pos += kMaxRecordValue) {
    REVFS_RETURN_IF_ERROR(
        trx_.Put(FilterKey(id_, i),
                 std::string_view(filter_.bits).substr(pos, kMaxRecordValue)));
  }
  filter_.checksum = XXH3_64bits(filter_.bits.data(), filter_.bits.size());
  IndexRun run;
  run.id = id_;
  run.level = level;
  run.entries = entries_;
  run.buckets = buckets_;
  run.filter_bytes = filter_.bits.size();
  run.filter_checksum = filter_.checksum;
  *filter = std::make_shared<const RunFilter>(std::move(filter_));
  stats->runs_written += entries_ > 0;
  stats->entries_written += entries_;
  return run;
}

Status RunWriter::FlushBucket(RunStats* stats) {
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

Result<const IndexEntry*> RunReader::Next() {
  while (at_ == entries_.size()) {
    if (bucket_ == run_.buckets) return static_cast<const IndexEntry*>(nullptr);
    entries_.clear();
    at_ = 0;
    std::vector<uint64_t> read;
    REVFS_RETURN_IF_ERROR(ForEachBucketRecord(
        trx_, run_.id, bucket_, [&](uint64_t key, const std::vector<IndexEntry>& entries) {
          entries_.insert(entries_.end(), entries.begin(), entries.end());
          read.push_back(key);
          return true;
        }));
    for (uint64_t key : read) REVFS_RETURN_IF_ERROR(trx_.Delete(key));
    ++bucket_;
  }
  return &entries_[at_++];
}

Status RunReader::DeleteFilter() {
  for (uint64_t i = 0; i < FilterRecords(run_.filter_bytes); ++i) {
    REVFS_RETURN_IF_ERROR(trx_.Delete(FilterKey(run_.id, i)));
  }
  return Status::OK();
}

}  // namespace revfs
