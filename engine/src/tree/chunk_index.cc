#include "tree/chunk_index.h"

#include <xxhash.h>

#include <algorithm>
#include <any>
#include <mutex>

#include "revfs/inode.h"
#include "store/page_log.h"
#include "util/hash.h"

namespace revfs {
namespace {

constexpr uint8_t kManifestMagic = 0xC3;
constexpr uint64_t kLogRecords = 1024;

ChunkIndex::Options g_options;
std::mutex g_options_mu;

ChunkIndex::Options CurrentOptions() {
  std::lock_guard lock(g_options_mu);
  return g_options;
}

std::string EncodeLogRecord(const std::vector<IndexEntry>& entries) {
  std::string s;
  s.push_back(static_cast<char>(entries.size()));
  for (const IndexEntry& e : entries) PutEntry(&s, e);
  return s;
}

}  // namespace

// The filters a Database's writer has loaded, by run id.
struct ChunkIndex::State {
  std::unordered_map<uint32_t, std::shared_ptr<const RunFilter>> filters;
};

void ChunkIndex::SetOptionsForTest(const Options& options) {
  std::lock_guard lock(g_options_mu);
  g_options = options;
}

ChunkIndex::ChunkIndex(WriteTrx& trx, Database& db)
    : trx_(trx), db_(db), options_(CurrentOptions()) {}

Result<ChunkIndex*> ChunkIndex::Of(WriteTrx& trx, Database& db) {
  if (auto* index =
          std::any_cast<std::shared_ptr<ChunkIndex>>(&trx.extension())) {
    return index->get();
  }
  std::shared_ptr<ChunkIndex> index(new ChunkIndex(trx, db));
  REVFS_RETURN_IF_ERROR(index->Load());
  trx.extension() = index;
  return index.get();
}

std::vector<std::pair<std::string, uint64_t>> ChunkIndex::Counters(
    WriteTrx& trx) {
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
  auto earlier = [] {
    return Status::NotSupported(
        "chunk index of an earlier development build of format 3; commit its trees into a new "
        "store");
  };
  if (db_.store().superblock().flags & kFlagFormat2Index) {
    // Format 2's buckets and log, which this format would misread
    // (engine/FORMAT.md, "Upgrade from format 2").
    const std::string& store = db_.store().path();
    return Status::NotSupported(store + ": its chunk index is still format 2's; run `revfs "
                                "upgrade " + store + "` to finish the upgrade");
  }
  REVFS_ASSIGN_OR_RETURN(auto manifest, trx_.Get(kChunkIndexBase));
  if (!manifest) {
    // No manifest: the run-0 key range must be empty too (an earlier
    // build's buckets lie there, bucket 0 at the manifest's key or not).
    bool any = false;
    REVFS_RETURN_IF_ERROR(trx_.base().Scan(kChunkIndexBase + 1,
                                           kChunkIndexBase | ((uint64_t{1} << kRunShift) - 1),
                                           [&](uint64_t, std::string_view) {
                                             any = true;
                                             return false;
                                           }));
    if (any) return earlier();
  } else {
    Decoder in(*manifest);
    if (in.U8() != kManifestMagic) return earlier();
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
          run.buckets > kMaxBuckets || run.filter_bytes == 0 ||
          run.filter_bytes % kFilterBlockBytes != 0 ||
          run.entries > RunFilter::MaxEntries(run.filter_bytes) ||
          run.buckets > std::max<uint64_t>(1, RunFilter::MaxEntries(run.filter_bytes))) {
        return Status::Corruption("chunk index: malformed manifest");
      }
      for (const Run& other : runs_) {
        if (other.id == run.id) return Status::Corruption("chunk index: malformed manifest");
      }
      runs_.push_back(run);
    }
    if (!in.ok() || in.remaining() != 0 || next_id_ == 0 ||
        next_id_ >= kRunIds) {
      return Status::Corruption("chunk index: malformed manifest");
    }
  }
  Status decode;
  REVFS_RETURN_IF_ERROR(trx_.base().Scan(
      kChunkLogBase, kChunkLogBase | (kLogRecords - 1),
      [&](uint64_t key, std::string_view v) {
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
  for (size_t i = 0; i < log_.size(); ++i)
    log_by_key_.emplace(LookupKey(log_[i].hash), i);
  if (log_.size() >= options_.log_entries || log_next_ >= kLogRecords)
    return Flush();
  stats_.runs = runs_.size();
  return Status::OK();
}

ChunkIndex::State& ChunkIndex::Filters() {
  std::any& ext = db_.writer_extension();
  if (!std::any_cast<State>(&ext)) ext = State();
  return *std::any_cast<State>(&ext);
}

Result<std::shared_ptr<const RunFilter>> ChunkIndex::FilterOf(const Run& run) {
  State& state = Filters();
  auto it = state.filters.find(run.id);
  if (it != state.filters.end() &&
      it->second->checksum == run.filter_checksum &&
      it->second->bits.size() == run.filter_bytes) {
    return it->second;
  }
  // Read up to the first missing record: a damaged manifest naming a huge
  // filter costs a short loop and a Corruption, not a huge allocation.
  auto filter = std::make_shared<RunFilter>();
  for (uint64_t i = 0; i < FilterRecords(run.filter_bytes); ++i) {
    REVFS_ASSIGN_OR_RETURN(auto record, trx_.Get(FilterKey(run.id, i)));
    if (!record) break;
    filter->bits += *record;
  }
  filter->checksum = XXH3_64bits(filter->bits.data(), filter->bits.size());
  if (filter->bits.size() != run.filter_bytes ||
      filter->checksum != run.filter_checksum) {
    return Status::Corruption("chunk index: the filter of run " +
                              std::to_string(run.id) +
                              " does not match the manifest");
  }
  state.filters[run.id] = filter;
  return std::shared_ptr<const RunFilter>(filter);
}

Status ChunkIndex::Find(const Digest256& hash,
                        const std::function<bool(const IndexEntry&)>& fn) {
  ++stats_.lookups;
  const uint64_t key = LookupKey(hash);
  auto logged = log_by_key_.equal_range(key);
  for (auto it = logged.first; it != logged.second; ++it) {
    if (fn(log_[it->second])) return Status::OK();
  }
  for (auto run = runs_.rbegin(); run != runs_.rend(); ++run) {
    REVFS_ASSIGN_OR_RETURN(std::shared_ptr<const RunFilter> filter,
                           FilterOf(*run));
    if (!filter->MayContain(key)) {
      ++stats_.filter_rejects;
      continue;
    }
    bool found = false;
    REVFS_RETURN_IF_ERROR(ForEachBucketRecord(
        trx_, run->id, BucketOf(key, run->buckets),
        [&](uint64_t, const std::vector<IndexEntry>& entries) {
          ++stats_.records_read;
          for (const IndexEntry& e : entries) {
            if (LookupKey(e.hash) == key && fn(e)) {
              found = true;
              return false;
            }
          }
          return true;
        }));
    if (found) return Status::OK();
  }
  return Status::OK();
}

Status ChunkIndex::Add(const IndexEntry& e) {
  const bool new_record =
      log_open_number_ == UINT64_MAX || log_open_.size() >= kMaxPerRecord;
  if (new_record && log_next_ >= kLogRecords) REVFS_RETURN_IF_ERROR(Flush());
  if (new_record) {
    log_open_.clear();
    log_open_number_ = log_next_++;
    log_records_.push_back(kChunkLogBase | log_open_number_);
  }
  log_open_.push_back(e);
  log_by_key_.emplace(LookupKey(e.hash), log_.size());
  log_.push_back(e);
  REVFS_RETURN_IF_ERROR(
      trx_.Put(kChunkLogBase | log_open_number_, EncodeLogRecord(log_open_)));
  if (log_.size() >= options_.log_entries) return Flush();
  return Status::OK();
}

Status ChunkIndex::Flush() {
  std::vector<IndexEntry> fresh = std::move(log_);
  std::sort(
      fresh.begin(), fresh.end(), [](const IndexEntry& a, const IndexEntry& b) {
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
        // Its filter checked against the store first: the manifest's
        // sizes, which size the merge, are then those of stored records.
        REVFS_RETURN_IF_ERROR(FilterOf(*it).status());
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
  auto advance = [&] { next_id_ = next_id_ + 1 < kRunIds ? next_id_ + 1 : 1; };
  while (in_use(next_id_)) advance();
  const uint32_t id = next_id_;
  advance();

  // One pass in index order over the new entries and the merged runs.
  const PageLog& pages = db_.store().pages();
  RunWriter writer(trx_, id, expected,
                   {options_.bucket_target, options_.max_bucket_records});
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
  State& state = Filters();
  for (size_t i = 0; i < merged.size(); ++i) {
    REVFS_RETURN_IF_ERROR(readers[i].DeleteFilter());
    state.filters.erase(merged[i].id);
  }
  std::shared_ptr<const RunFilter> filter;
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
