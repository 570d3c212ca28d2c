// RevFs: the daemon's counters, served as .revfs/stats.
#include "file_entries.h"
#include "node_table.h"
#include "op_stats.h"
#include "prefetcher.h"
#include "space_cache.h"
#include "revfs/fusefs/fusefs.h"
#include "revfs/json.h"

namespace revfs::fusefs {

void RevFs::CountOp(int op, uint64_t nanos) {
  op_stats_->count[op].fetch_add(1, std::memory_order_relaxed);
  op_stats_->nanos[op].fetch_add(nanos, std::memory_order_relaxed);
}

std::string RevFs::StatsJson() const {
  JsonWriter w;
  w.BeginObject();
  w.Key("store").String(db_->store().path());
  w.Key("latest").Uint(db_->store().latest_revision());
  w.Key("engine").Raw(db_->StatsJson());
  w.Key("nodes").Uint(nodes_->size());
  w.Key("open_files").Uint(handles_open_.load());
  const Prefetcher::Counters ahead = prefetcher_->counters();
  w.Key("chunks_prefetched").Uint(ahead.chunks_prefetched);
  w.Key("dirs_queued").Uint(ahead.dirs_queued);
  w.Key("dirs_read_ahead").Uint(ahead.dirs_read_ahead);
  w.Key("files_read_ahead").Uint(ahead.files_read_ahead);
  w.Key("bytes_read_ahead").Uint(ahead.bytes_read_ahead);
  w.Key("files_decoded_ahead").Uint(ahead.files_decoded_ahead);
  w.Key("files_listed_by_name").Uint(names_only_.load());
  w.Key("file_entry_switches").Uint(file_entries_->switches());
  // Where the store's space goes, as of the generation the daemon last saw.
  w.Key("space").BeginObject();
  auto space = space_cache_->Get(*db_);
  if (!space.ok()) {
    w.Key("error").String(space.status().ToString());
  } else {
    WriteSpaceTotals(w, *space);
    w.Key("revisions").BeginObject();
    for (const RevisionSpace& rev : space->revisions) {
      w.Key(std::to_string(rev.revision)).Uint(rev.alone_bytes);
    }
    w.EndObject();
  }
  w.EndObject();
  w.Key("ops").BeginObject();
  for (int i = 0; i < kOpCount; ++i) {
    w.Key(kOpNames[i]).BeginObject();
    uint64_t n = op_stats_->count[i].load();
    w.Key("count").Uint(n);
    w.Key("mean_us").Double(n ? static_cast<double>(op_stats_->nanos[i].load()) / n / 1000.0 : 0.0);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return w.str();
}

}  // namespace revfs::fusefs
