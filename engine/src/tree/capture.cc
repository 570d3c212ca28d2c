// CaptureTree: one capture as one commit. Opens the write transaction, has
// a TreeCapture record the source into it (tree/capture_walk.h), then
// commits it as the next revision with the capture's counters.
#include <sys/stat.h>

#include <cerrno>

#include "revfs/tree.h"
#include "env/env.h"
#include "tree/capture_walk.h"

namespace revfs {

Result<CaptureSummary> CaptureTree(Database& db, const std::string& source,
                                   const CaptureOptions& options) {
  struct stat st;
  if (::stat(source.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::NotFound(source + ": no such directory");
    return Status::FromErrno(errno, source);
  }
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(source + ": not a directory");
  REVFS_ASSIGN_OR_RETURN(auto trx, db.BeginWrite());
  TreeMeta meta;
  REVFS_ASSIGN_OR_RETURN(auto meta_record, trx->Get(kMetaKey));
  if (meta_record) {
    REVFS_ASSIGN_OR_RETURN(meta, DecodeTreeMeta(*meta_record));
  }
  CaptureSummary summary;
  TreeCapture capture(db, *trx, options, meta, &summary);
  REVFS_RETURN_IF_ERROR(capture.Run(source));
  const std::string new_meta = EncodeTreeMeta(capture.meta());
  if (!meta_record || *meta_record != new_meta) REVFS_RETURN_IF_ERROR(trx->Put(kMetaKey, new_meta));
  const int64_t time_ns = options.time_ns ? *options.time_ns : db.store().env()->NowNanos();
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
      {"bytes_stored", summary.content.bytes_stored}};
  REVFS_ASSIGN_OR_RETURN(summary.revision,
                         trx->Commit(time_ns, options.message, std::move(counters)));
  return summary;
}

}  // namespace revfs
