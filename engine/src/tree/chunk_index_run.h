// The runs of the chunk index (tree/chunk_index.h; engine/FORMAT.md, "A
// chunk index without a ceiling"): their record keys and encodings, the
// Bloom filter of a run, and the streaming writer and reader of runs that
// a flush of the log and a merge of runs go through.
//
// Thread safety: the writer thread only (as WriteTrx).
#ifndef REVFS_TREE_CHUNK_INDEX_RUN_H_
#define REVFS_TREE_CHUNK_INDEX_RUN_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "revfs/database.h"
#include "revfs/hash.h"
#include "revfs/store.h"
#include "util/coding.h"

namespace revfs {

struct IndexEntry {
  Digest256 hash;
  PageRef page;
  uint32_t raw_size = 0;
  uint8_t depth = 0;
};

// A run as the manifest lists it.
struct IndexRun {
  uint32_t id = 0;
  uint8_t level = 0;
  uint64_t entries = 0;
  uint64_t buckets = 0;
  uint64_t filter_bytes = 0;
  uint64_t filter_checksum = 0;
};

// The sizes a run is written with (ChunkIndex::Options).
struct RunOptions {
  size_t bucket_target = 48;
  size_t max_bucket_records = 1024;
};

// What writing and reading runs counts (part of the index's IndexStats).
struct RunStats {
  uint64_t runs_written = 0;
  uint64_t entries_written = 0;
  uint64_t entries_dropped = 0;
};

inline constexpr size_t kMaxPerRecord = 69;  // entries in a log or bucket record
inline constexpr size_t kMaxRecordsPerBucket = 1024;
// Keys: 3 << 60 | run id << 44 | (bucket << 10 | record, or 1 << 43 | filter
// record): 16 bits of run id, 33 of bucket.
inline constexpr int kRunShift = 44;
inline constexpr uint32_t kRunIds = uint32_t{1} << (60 - kRunShift);
inline constexpr uint64_t kFilterFlag = uint64_t{1} << 43;
inline constexpr uint64_t kMaxBuckets = kFilterFlag >> 10;
inline constexpr size_t kFilterBlockBytes = 64;

uint64_t BucketKey(uint32_t id, uint64_t bucket, uint64_t record);
uint64_t FilterKey(uint32_t id, uint64_t i);
// The records a filter of `bytes` takes.
uint64_t FilterRecords(uint64_t bytes);
// The bucket of lookup key `key` in a run of `buckets`.
uint64_t BucketOf(uint64_t key, uint64_t buckets);
// Index order: lookup key, then the whole digest.
bool Before(const IndexEntry& a, const IndexEntry& b);
void PutEntry(std::string* s, const IndexEntry& e);
// Appends `n` entries read from `in`; false unless they end `in` exactly.
bool GetEntries(Decoder* in, size_t n, std::vector<IndexEntry>* out);
// Reads bucket `bucket` of run `id` record by record (record 0, then the
// `more` it names): calls fn(key, entries of that record) until it returns
// false. A missing bucket calls nothing.
Status ForEachBucketRecord(
    WriteTrx& trx, uint32_t id, uint64_t bucket,
    const std::function<bool(uint64_t key, const std::vector<IndexEntry>& entries)>& fn);
// A run's bucket record: count u8 | more u16 | count x entry.
Status DecodeBucketRecord(std::string_view bytes, uint16_t* more,
                          std::vector<IndexEntry>* out);

// A blocked Bloom filter of 10 bits an entry: 512-bit blocks, 7 bits of one
// block a key, block and bits from a mix of the lookup key (about 1 % false
// positives).
struct RunFilter {
  std::string bits;
  uint64_t checksum = 0;  // XXH3-64 of bits, as the manifest has it

  // The size of a filter for `entries`.
  static uint64_t BytesFor(uint64_t entries);
  // The most entries a filter of `bytes` is sized for (a run's entries
  // and buckets are at most this: how a damaged manifest is caught before
  // it sizes a loop or an allocation).
  static uint64_t MaxEntries(uint64_t bytes);
  void Add(uint64_t key);
  bool MayContain(uint64_t key) const;
};
// Writes a run from entries given in index order.
class RunWriter {
 public:
  RunWriter(WriteTrx& trx, uint32_t id, uint64_t expected,
            const RunOptions& options);
  // Adds `e` (after every entry added before it in index order; an equal
  // entry is skipped). Corruption if out of order.
  Status Add(const IndexEntry& e, RunStats* stats);
  // Writes the last bucket and the filter (none if the run is empty).
  Result<IndexRun> Finish(uint8_t level, RunStats* stats,
                          std::shared_ptr<const RunFilter>* filter);

 private:
  Status FlushBucket(RunStats* stats);

  WriteTrx& trx_;
  const uint32_t id_;
  const uint64_t buckets_;
  const size_t max_records_;
  RunFilter filter_;
  uint64_t bucket_ = 0;
  std::vector<IndexEntry> pending_;  // bucket_'s entries
  std::optional<IndexEntry> last_;   // the last entry added
  uint64_t entries_ = 0;
};

// Reads a run's entries in index order, deleting each record once read
// (the run is being merged away).
class RunReader {
 public:
  RunReader(WriteTrx& trx, const IndexRun& run) : trx_(trx), run_(run) {}
  // The next entry (valid until the next call), or nullptr at the end.
  Result<const IndexEntry*> Next();
  Status DeleteFilter();

 private:
  WriteTrx& trx_;
  const IndexRun run_;
  uint64_t bucket_ = 0;
  std::vector<IndexEntry> entries_;
  size_t at_ = 0;
};

}  // namespace revfs

#endif  // REVFS_TREE_CHUNK_INDEX_RUN_H_
