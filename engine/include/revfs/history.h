// The history of every path (engine/FORMAT.md, "The history of every
// path"): each commit appends, for each path it changed, a version entry
// (the revision, what changed, and the entry as that revision has it), so
// the versions of one path are listed in time proportional to their number,
// not to the length of the history. Paths are known by ids; a path's
// record keeps the names that ever existed below it.
//
// Thread safety: RecordHistory and Reindex use the store's single writer;
// the reading functions may run on any number of ReadTrx at once.
#ifndef REVFS_HISTORY_H_
#define REVFS_HISTORY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "revfs/database.h"
#include "revfs/inode.h"

namespace revfs {

enum class HistoryChange : uint8_t {
  kAdded = 1,
  kModified = 2,  // content, and maybe metadata
  kMetadata = 3,  // metadata only
  kTypeChanged = 4,
  kDeleted = 5,
};
// "added", "modified", "metadata", "type", "deleted".
const char* HistoryChangeName(HistoryChange c);

// One version of a path: as revision `revision` has it (type, inode,
// identity, size, mtime), or its deletion there (ino 0).
struct PathVersion {
  uint64_t revision = 0;
  HistoryChange change = HistoryChange::kAdded;
  FileType type = FileType::kRegular;
  uint64_t ino = 0;
  Digest256 identity;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const PathVersion&) const = default;
};

// The id of the root path. Every path has an id, the same in every
// revision whose index knows it (Reindex hands them out anew).
inline constexpr uint64_t kHistoryRootPath = 1;

// Whether revision `trx` carries the history index (a store whose earlier
// revisions were made without it has none until Reindex).
Result<bool> HasHistory(ReadTrx& trx);

// Calls fn(version) for each version of `path` ("" or "/" the root; '/'
// separated) up to revision `trx`, oldest first, until it returns false.
// A version made by a forgotten revision is given as made by the first kept
// revision after it, when it was still the path's version there, and left
// out otherwise. NotFound when the path never existed; NotSupported when
// the revision has no history index.
Status ListVersions(ReadTrx& trx, std::string_view path,
                    const std::function<bool(const PathVersion&)>& fn);

// Calls fn(name) for each name that ever existed in directory `path` up to
// revision `trx`, in byte order, until it returns false. Errors as
// ListVersions.
Status ListHistoryNames(ReadTrx& trx, std::string_view path,
                        const std::function<bool(std::string_view)>& fn);

// By path id, for readers that walk the index (the mount's history/):

// The id of `path`. Errors as ListVersions.
Result<uint64_t> HistoryPathId(ReadTrx& trx, std::string_view path);
// The id of `name` in directory path `dir`, when it ever existed there.
Result<std::optional<uint64_t>> HistoryChild(ReadTrx& trx, uint64_t dir,
                                             std::string_view name);
// Calls fn(name, id) for each name that ever existed in directory path
// `dir`, in byte order after `after` (from the first when empty), until it
// returns false.
Status ListHistoryChildren(ReadTrx& trx, uint64_t dir, std::string_view after,
                           const std::function<bool(std::string_view, uint64_t)>& fn);
// Calls fn(n, version) for the versions of path `id` that ListVersions
// gives, from its n-th entry on (resume from n + 1), until it returns
// false. Each keeps the change recorded (ListVersions says it against the
// version shown before it) and deletions are all given.
Status ListVersionsFrom(ReadTrx& trx, uint64_t id, uint64_t from,
                        const std::function<bool(uint64_t, const PathVersion&)>& fn);
// The version of path `id` given at kept revision `rev` (at most trx's),
// or nullopt when none is: O(log versions) reads.
Result<std::optional<PathVersion>> VersionAt(ReadTrx& trx, uint64_t id, uint64_t rev);
// The last version of path `id` up to revision `trx` (a deletion when the
// path is gone), or nullopt when it has none.
Result<std::optional<PathVersion>> LastVersion(ReadTrx& trx, uint64_t id);

// Reads the path records and names maps of `trx`'s history index, in key
// order, until `budget` bytes of records have been read, so that their
// leaves are in the page cache: a writer that records revision after
// revision (revfs watch) looks each changed path up there, and 100 edits
// scattered over a big tree otherwise read about 200 of those leaves cold
// a revision. The version entries, four paths to a small leaf, are left
// out. Returns the bytes read; 0 when the revision has no history index.
Result<uint64_t> WarmHistoryLookups(ReadTrx& trx, uint64_t budget);

// What RecordHistory wrote.
struct HistoryStats {
  uint64_t entries = 0;    // version entries appended
  uint64_t new_paths = 0;  // path ids handed out
  // Batches written: the writer holds at most 8,192 changed paths at once
  // (their records and names), whatever the number of changes.
  uint64_t batches = 0;
};

// Appends to `trx` the version entries of every path whose entry differs
// between its base revision and what `trx` holds (the commit's last step
// before Commit). Writes nothing when the base revision has no history
// index and is not revision 0 (see Reindex).
Status RecordHistory(WriteTrx& trx, HistoryStats* stats);

// Builds the history index of every kept revision (`revfs reindex`):
// rewrites them all, each given the entries of its differences from the
// kept revision before it. Returns the entries written.
Result<uint64_t> Reindex(Database& db);

}  // namespace revfs

#endif  // REVFS_HISTORY_H_
