// A revision's directory tree: captured from a source directory as the next
// revision, and read back.
//
// CaptureTree walks a source directory and records it exactly — regular files
// (sparse ones with their holes), directories, symlinks, hard links, FIFOs,
// devices and sockets, with modes, owners, nanosecond times and extended
// attributes — costing only what changed: a file whose size, mtime, ctime
// and inode number match the previous revision's is not read again, and
// content already stored (anywhere in the store) is not stored twice.
//
// The reading side resolves paths, lists directories in name order and reads
// byte ranges of files (their chunks through the Database's ChunkLoader),
// all through a ReadTrx.
//
// Thread safety: CaptureTree uses the store's single writer; reading functions
// may run on any number of ReadTrx at once.
#ifndef REVFS_TREE_H_
#define REVFS_TREE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "revfs/database.h"
#include "revfs/inode.h"
#include "revfs/memory.h"

namespace revfs {

// What a capture stored of file content.
struct ContentStats {
  uint64_t chunks_new = 0;
  uint64_t chunks_reused = 0;
  uint64_t bytes_new = 0;     // raw bytes of new chunks
  uint64_t bytes_stored = 0;  // their stored (compressed) size
};

struct CaptureProgress {
  uint64_t files = 0;        // entries recorded so far
  uint64_t bytes_read = 0;   // file bytes read
  double seconds = 0;
};

// How a revision was made, recorded as its counter "capture_mode".
enum class CaptureMode : uint8_t {
  kFullScan = 1,  // every directory walked (revfs commit)
  kWatched = 2,   // only the directories a watcher saw change
  kFallback = 3,  // a watcher's full walk: at its start, after lost events,
                  // or when a watched capture could not be done (see below)
};
// "full_scan", "watched", "fallback"; "" for another value.
const char* CaptureModeName(uint64_t mode);

// The directories that changed since the base revision, as a watcher saw
// them: relative to the captured root, '/'-separated, "" the root itself.
struct ChangedDirs {
  // Directories whose entries changed (created, deleted, renamed, written,
  // attributes): each of their entries is examined again.
  std::set<std::string> dirs;
  // Directories new or moved in: everything below them is examined.
  std::set<std::string> subtrees;
  // Entries whose content or metadata changed, in directories whose names
  // did not: only they are examined there (the directory's names are still
  // read and compared with the base revision's, unless base_walk below
  // lets them be kept).
  std::set<std::string> entries;
};

struct CaptureOptions {
  std::string message;
  std::optional<int64_t> time_ns;  // default: now
  bool full_scan = false;          // read every file, even unchanged ones
  // Exclusion patterns, gitignore-style (one line each; see
  // engine/src/tree/exclude.h). Recorded with the revision (ReadExclusions).
  std::vector<std::string> exclude;
  // When set, only these directories are examined: the walk goes down only
  // along the paths to them, and every other directory is taken from the
  // base revision as it is, unread. The whole tree is walked instead
  // (recorded as kFallback, the reason in CaptureSummary::fallback_reason)
  // when there is no base revision, when the exclusions differ from the base
  // revision's, or when a file with several hard links is met in a changed
  // directory or removed from one (its other names may lie in directories
  // not examined).
  std::optional<ChangedDirs> changed;
  // With `changed`: the capture that made revision `revision` began at
  // `started_ns` (wall clock; CaptureSummary::started_ns). When that
  // revision is the base, a directory whose events named entries only, not
  // names, and whose metadata equals the base's, ctime included, with that
  // ctime more than kNamesTrustMarginNs before `started_ns`, keeps the
  // base's names unread: a name created, removed or renamed in it since
  // would have moved its ctime to a time after the start (the margin covers
  // coarse timestamps). Otherwise its names are read and compared.
  struct BaseWalk {
    uint64_t revision = 0;
    int64_t started_ns = 0;
  };
  std::optional<BaseWalk> base_walk;
  // Recorded for a capture without `changed` (kFullScan or kFallback).
  CaptureMode mode = CaptureMode::kFullScan;
  // Makes no revision if no record would change (CaptureSummary::committed
  // false): a watcher woken by changes that were undone or excluded.
  bool skip_unchanged = false;
  // Called for each entry that could not be recorded (it is skipped).
  std::function<void(const std::string& path, const Status& why)> on_skip;
  // Called now and then while the capture runs.
  std::function<void(const CaptureProgress&)> on_progress;
};

struct CaptureSummary {
  uint64_t revision = 0;
  uint64_t files = 0, directories = 0, others = 0;
  uint64_t unchanged = 0;  // files not read again
  uint64_t skipped = 0;    // entries that could not be recorded
  uint64_t bytes_read = 0;
  // The most raw content bytes read and not yet stored at any moment (the
  // capture's bound on them: engine/src/tree/chunk_pipeline.h).
  uint64_t bytes_in_flight_peak = 0;
  ContentStats content;
  // With `changed`, files/directories/others count the entries examined.
  CaptureMode mode = CaptureMode::kFullScan;
  uint64_t entries_stated = 0;      // lstat calls on source entries
  uint64_t directories_reused = 0;  // taken from the base revision, not walked
  uint64_t milliseconds = 0;        // walk and records, before the commit
  std::string fallback_reason;      // why a watched capture walked everything
  bool committed = true;            // false: skip_unchanged and nothing changed
  int64_t started_ns = 0;           // wall clock before the walk's first lstat
  uint64_t names_read = 0;          // directories whose names were read
};
inline constexpr int64_t kNamesTrustMarginNs = int64_t{3'000'000'000};

class ExcludeMatcher;  // engine/src/tree/exclude.h

// Exclusion patterns (as CaptureOptions::exclude) for callers that filter
// paths themselves (a watcher ignoring excluded directories).
class PathExclusions {
 public:
  explicit PathExclusions(const std::vector<std::string>& patterns);
  ~PathExclusions();
  PathExclusions(const PathExclusions&) = delete;
  PathExclusions& operator=(const PathExclusions&) = delete;
  // Whether the directory `rel` (relative to the root, '/'-separated), or
  // one above it, is excluded: a capture never enters it.
  bool DirExcluded(std::string_view rel) const;

 private:
  std::unique_ptr<const ExcludeMatcher> matcher_;
};

// Records the tree at `source` as the next revision of `db`.
Result<CaptureSummary> CaptureTree(Database& db, const std::string& source,
                                   const CaptureOptions& options);

// Returns the exclusion patterns revision `trx` was captured with (empty:
// none).
Result<std::vector<std::string>> ReadExclusions(ReadTrx& trx);

// Finishes `revfs upgrade` of a format-2 store (engine/FORMAT.md, "Upgrade
// from format 2", step 3): while the superblock flag kFlagFormat2Index is
// set, rewrites the latest revision without format 2's chunk index (the
// records of kinds 3 and 4) and clears the flag in the same durable switch.
// Returns the records dropped; 0, writing nothing, when the flag is clear.
// Busy while a write transaction is open.
Result<uint64_t> FinishUpgrade(Database& db);

// Reading.
Result<Inode> GetInode(ReadTrx& trx, uint64_t ino);
// Reads the inodes `inos` (any order, repeats allowed) and returns them in
// that order, each with its own error (NotFound, a record that does not
// decode). Inodes of one directory are mostly neighbours in the key space,
// so this makes one ordered ReadTrx::Scan per run of near numbers (gaps of
// at most kInodeRunGap) instead of one point Get per inode: each record
// leaf is reached once. A run whose scan fails is read again inode by
// inode, so that one damaged record fails only its own inode.
// The gap spans the slots a leaf leaves unused (TakeInodeNumber), so that
// a directory whose entries straddle two leaves is still one run.
inline constexpr uint64_t kInodeRunGap = 1024;
std::vector<Result<Inode>> GetInodes(ReadTrx& trx, const std::vector<uint64_t>& inos);
// Resolves a path ("" or "/" is the root) without following symlinks.
Result<std::pair<uint64_t, Inode>> ResolvePath(ReadTrx& trx, std::string_view path);
Result<std::optional<DirEntry>> LookupEntry(ReadTrx& trx, const Inode& dir, std::string_view name);
// Calls fn(name, entry) for entries of `dir` in name order, from `after`
// (exclusive; "" for the start), until it returns false.
Status ListDirectory(ReadTrx& trx, const Inode& dir, std::string_view after,
                     const std::function<bool(std::string_view, const DirEntry&)>& fn);

// Returns the extended attributes of `inode`, sorted by name: its inline
// list, or its blob (XattrBlob) read and decoded; Corruption if the blob's
// bytes do not match its size, hash or count.
Result<XattrList> LoadXattrs(Database& rs, ReadTrx& trx, const Inode& inode);

// Calls fn for each chunk (or hole) of `file` that ends after `from`, in
// offset order, until it returns false.
Status ForEachChunk(ReadTrx& trx, const Inode& file, uint64_t from,
                    const std::function<bool(const ChunkRef&)>& fn);

// Reads up to `length` bytes at `offset` of `file`, passing the bytes to
// `sink` in order, in pieces (zeros for holes). Pieces point into pinned
// chunks and are valid during the call only.
Status ReadFile(Database& rs, ReadTrx& trx, const Inode& file, uint64_t offset,
                uint64_t length, const std::function<Status(std::string_view)>& sink);

// Like ReadFile, but hands the bytes over without copying: `pieces` point
// into the chunks pinned by `pins` (and into static zeros for holes), valid
// until `pins` is destroyed.
Status ReadFilePinned(Database& rs, ReadTrx& trx, const Inode& file, uint64_t offset,
                      uint64_t length, std::vector<PinnedView>* pins,
                      std::vector<std::string_view>* pieces);

}  // namespace revfs

#endif  // REVFS_TREE_H_
