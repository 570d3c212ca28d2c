// CaptureTree: one capture as one commit. Opens the write transaction, has
// a TreeCapture record the source into it (tree/capture_walk.h), then
// commits it as the next revision with the capture's counters, its
// exclusion patterns (record kExcludeKey) and how it was made.
//
// A watched capture (CaptureOptions::changed) that cannot be done as one —
// no base revision, other exclusions than the base revision's, or hard
// links met where other names may lie unexamined — is done as a full walk
// in a fresh transaction, recorded as kFallback.
#include <sys/stat.h>

#include <cerrno>
#include <chrono>

#include "revfs/history.h"
#include "revfs/time_util.h"
#include "revfs/tree.h"
#include "env/env.h"
#include "tree/capture_walk.h"
#include "tree/chunk_index.h"
#include "tree/exclude.h"
#include "records/record_page.h"
#include "util/coding.h"

namespace revfs {
namespace {

std::string EncodeExclusions(const std::vector<std::string>& patterns) {
  std::string s;
  PutFixed32(&s, static_cast<uint32_t>(patterns.size()));
  for (const std::string& p : patterns) PutBytes(&s, p);
  return s;
}

Result<std::vector<std::string>> DecodeExclusions(std::string_view bytes) {
  Decoder in(bytes);
  std::vector<std::string> out;
  const uint32_t n = in.U32();
  for (uint32_t i = 0; i < n && in.ok(); ++i) out.emplace_back(in.Bytes(kMaxRecordValue));
  if (!in.ok() || in.remaining() != 0) return Status::Corruption("exclusion record: malformed");
  return out;
}

// One capture in one transaction; Aborted with `*full_walk_reason` set if a
// watched capture must walk everything instead.
Result<CaptureSummary> CaptureOnce(Database& db, const std::string& source,
                                   const CaptureOptions& options,
                                   const std::vector<std::string>& exclusions,
                                   std::string* full_walk_reason) {
  const auto start = std::chrono::steady_clock::now();
  REVFS_ASSIGN_OR_RETURN(auto trx, db.BeginWrite());
  TreeMeta meta;
  REVFS_ASSIGN_OR_RETURN(auto meta_record, trx->Get(kMetaKey));
  if (meta_record) {
    REVFS_ASSIGN_OR_RETURN(meta, DecodeTreeMeta(*meta_record));
  }
  if (options.changed) {
    std::string why;
    if (trx->base().revision() == 0) why = "no revision to start from";
    if (why.empty()) {
      auto base_exclusions = ReadExclusions(trx->base());
      if (!base_exclusions.ok() || *base_exclusions != exclusions) {
        why = "the exclusions differ from the last revision's";
      }
    }
    if (!why.empty()) {
      *full_walk_reason = why;
      return Status::Aborted(why);
    }
  }
  CaptureSummary summary;
  summary.mode = options.changed ? CaptureMode::kWatched : options.mode;
  summary.started_ns = NowNanos();  // the wall clock, which file times are taken from
  TreeCapture capture(db, *trx, options, meta, &summary);
  Status run = capture.Run(source);
  if (!run.ok()) {
    if (!capture.needs_full_walk().empty()) *full_walk_reason = capture.needs_full_walk();
    return run;
  }
  const std::string new_meta = EncodeTreeMeta(capture.meta());
  if (!meta_record || *meta_record != new_meta) REVFS_RETURN_IF_ERROR(trx->Put(kMetaKey, new_meta));
  REVFS_ASSIGN_OR_RETURN(auto old_exclusions, trx->Get(kExcludeKey));
  if (exclusions.empty()) {
    if (old_exclusions) REVFS_RETURN_IF_ERROR(trx->Delete(kExcludeKey));
  } else {
    const std::string bytes = EncodeExclusions(exclusions);
    if (bytes.size() > kMaxRecordValue) {
      return Status::InvalidArgument("exclusion patterns: " + std::to_string(bytes.size()) +
                                     " bytes, more than a record holds (" +
                                     std::to_string(kMaxRecordValue) + ")");
    }
    if (!old_exclusions || *old_exclusions != bytes) {
      REVFS_RETURN_IF_ERROR(trx->Put(kExcludeKey, bytes));
    }
  }
  // The version entries of what changed (engine/FORMAT.md, "The history
  // of every path"); nothing when nothing changed.
  HistoryStats history;
  REVFS_RETURN_IF_ERROR(RecordHistory(*trx, &history));
  if (options.skip_unchanged && trx->pending() == 0) {
    summary.committed = false;
    summary.revision = trx->base().revision();
    return summary;
  }
  const int64_t time_ns = options.time_ns ? *options.time_ns : db.store().env()->NowNanos();
  summary.milliseconds = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
          .count());
  std::vector<std::pair<std::string, uint64_t>> counters = {
      {"files", summary.files},
      {"directories", summary.directories},
      {"other_entries", summary.others},
      {"files_unchanged", summary.unchanged},
      {"entries_skipped", summary.skipped},
      {"bytes_read", summary.bytes_read},
      {"bytes_in_flight_peak", summary.bytes_in_flight_peak},
      {"chunks_new", summary.content.chunks_new},
      {"chunks_reused", summary.content.chunks_reused},
      {"bytes_added", summary.content.bytes_new},
      {"bytes_stored", summary.content.bytes_stored},
      {"capture_mode", static_cast<uint64_t>(summary.mode)},
      {"entries_stated", summary.entries_stated},
      {"files_read", summary.files - summary.unchanged},
      {"directories_reused", summary.directories_reused},
      {"capture_ms", summary.milliseconds}};
  for (auto& c : ChunkIndex::Counters(*trx)) counters.push_back(std::move(c));
  if (history.entries) counters.emplace_back("history_entries", history.entries);
  if (history.new_paths) counters.emplace_back("history_paths", history.new_paths);
  if (history.batches > 1) counters.emplace_back("history_batches", history.batches);
  REVFS_ASSIGN_OR_RETURN(summary.revision,
                         trx->Commit(time_ns, options.message, std::move(counters)));
  return summary;
}

}  // namespace

const char* CaptureModeName(uint64_t mode) {
  switch (mode) {
    case static_cast<uint64_t>(CaptureMode::kFullScan): return "full_scan";
    case static_cast<uint64_t>(CaptureMode::kWatched): return "watched";
    case static_cast<uint64_t>(CaptureMode::kFallback): return "fallback";
    default: return "";
  }
}

Result<std::vector<std::string>> ReadExclusions(ReadTrx& trx) {
  REVFS_ASSIGN_OR_RETURN(auto record, trx.Get(kExcludeKey));
  if (!record) return std::vector<std::string>();
  return DecodeExclusions(record->value());
}

Result<CaptureSummary> CaptureTree(Database& db, const std::string& source,
                                   const CaptureOptions& options) {
  struct stat st;
  if (::stat(source.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::NotFound(source + ": no such directory");
    return Status::FromErrno(errno, source);
  }
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(source + ": not a directory");
  const std::vector<std::string> exclusions = ExcludeMatcher::Normalize(options.exclude);
  std::string reason;
  auto summary = CaptureOnce(db, source, options, exclusions, &reason);
  if (summary.ok() || reason.empty()) return summary;
  // The watched capture's transaction is gone, unwritten: walk everything.
  CaptureOptions full = options;
  full.changed.reset();
  full.mode = CaptureMode::kFallback;
  std::string unused;
  summary = CaptureOnce(db, source, full, exclusions, &unused);
  if (summary.ok()) summary->fallback_reason = reason;
  return summary;
}

}  // namespace revfs
