// The chunk index of a write transaction: which stored chunk has which
// SHA-256 (engine/FORMAT.md, "A chunk index without a ceiling"). New
// entries go to the recent-chunk log (records 4 << 60 | n); a full log
// becomes a run, an immutable hash table of one-leaf buckets with a Bloom
// filter; runs are merged in tiers of four. A lookup reads the log and the
// bucket of each run whose filter admits the key.
//
// Entries are hints: a caller confirms a candidate by its whole digest and
// raw size and checks that its page is still stored.
//
// Thread safety: the writer thread only (as WriteTrx). Filters are kept in
// the Database's writer extension across transactions.
#ifndef REVFS_TREE_CHUNK_INDEX_H_
#define REVFS_TREE_CHUNK_INDEX_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "revfs/database.h"
#include "revfs/hash.h"
#include "tree/chunk_index_run.h"

namespace revfs {

// What the index did in one transaction (revision counters index_*;
// RunStats: runs written, entries written, entries dropped).
struct IndexStats : RunStats {
  uint64_t lookups = 0;         // Find calls
  uint64_t records_read = 0;    // run bucket records read by lookups
  uint64_t filter_rejects = 0;  // runs a lookup skipped on their filter
  uint64_t runs = 0;            // runs after the transaction's last change
};

class ChunkIndex {
 public:
  // Tunables; tests shrink them to reach many runs and merges quickly.
  struct Options {
    size_t log_entries = 128;   // the log becomes a run at this many entries
    size_t bucket_target = 48;  // entries per bucket a run is sized for
    size_t fanout = 4;          // runs of one level merged together
    size_t max_bucket_records = 1024;  // records a bucket keeps (<= 1024)
  };
  static void SetOptionsForTest(const Options& options);
  static Options DefaultOptions() { return Options(); }

  // This transaction's index (made at the first call, kept in the
  // transaction's extension). Fails on an index of an earlier development
  // build of format 3 (no manifest).
  static Result<ChunkIndex*> Of(WriteTrx& trx, Database& db);

  // Calls `fn` with every entry whose lookup key equals `hash`'s (log
  // first, then runs newest first) until `fn` returns true.
  Status Find(const Digest256& hash,
              const std::function<bool(const IndexEntry&)>& fn);
  // Lists a newly stored chunk.
  Status Add(const IndexEntry& e);

  const IndexStats& stats() const { return stats_; }
  // The revision counters index_* of `trx`'s index (those not 0); none if
  // the transaction never used it.
  static std::vector<std::pair<std::string, uint64_t>> Counters(WriteTrx& trx);

  using Run = IndexRun;
  // The runs, oldest first (tests).
  const std::vector<Run>& runs() const { return runs_; }

  struct State;

 private:
  ChunkIndex(WriteTrx& trx, Database& db);
  Status Load();
  // The log's entries become a run, merged with the runs it completes a
  // tier of.
  Status Flush();
  // The filters this Database's writer holds (its writer extension).
  State& Filters();
  // `run`'s filter: held, or read and checked against the manifest.
  Result<std::shared_ptr<const RunFilter>> FilterOf(const Run& run);
  Status WriteManifest();

  WriteTrx& trx_;
  Database& db_;
  const Options options_;
  uint32_t next_id_ = 1;
  std::vector<Run> runs_;  // oldest first
  // The recent-chunk log.
  std::vector<IndexEntry> log_;
  std::unordered_multimap<uint64_t, size_t>
      log_by_key_;                    // LookupKey -> log_ index
  uint64_t log_next_ = 0;             // the next log record number
  std::vector<IndexEntry> log_open_;  // this transaction's last log record
  uint64_t log_open_number_ = UINT64_MAX;
  std::vector<uint64_t> log_records_;  // record keys the log holds
  IndexStats stats_;
};

}  // namespace revfs

#endif  // REVFS_TREE_CHUNK_INDEX_H_
