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
#include <optional>
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

struct CaptureOptions {
  std::string message;
  std::optional<int64_t> time_ns;  // default: now
  bool full_scan = false;          // read every file, even unchanged ones
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
  ContentStats content;
};

// Records the tree at `source` as the next revision of `db`.
Result<CaptureSummary> CaptureTree(Database& db, const std::string& source,
                                   const CaptureOptions& options);

// Reading.
Result<Inode> GetInode(ReadTrx& trx, uint64_t ino);
// Reads the inodes `inos` (any order, repeats allowed) and returns them in
// that order, each with its own error (NotFound, a record that does not
// decode). Inodes of one directory are mostly neighbours in the key space,
// so this makes one ordered ReadTrx::Scan per run of near numbers (gaps of
// at most kInodeRunGap) instead of one point Get per inode: each record
// leaf is reached once. A run whose scan fails is read again inode by
// inode, so that one damaged record fails only its own inode.
inline constexpr uint64_t kInodeRunGap = 64;
std::vector<Result<Inode>> GetInodes(ReadTrx& trx, const std::vector<uint64_t>& inos);
// Resolves a path ("" or "/" is the root) without following symlinks.
Result<std::pair<uint64_t, Inode>> ResolvePath(ReadTrx& trx, std::string_view path);
Result<std::optional<DirEntry>> LookupEntry(ReadTrx& trx, const Inode& dir, std::string_view name);
// Calls fn(name, entry) for entries of `dir` in name order, from `after`
// (exclusive; "" for the start), until it returns false.
Status ListDirectory(ReadTrx& trx, const Inode& dir, std::string_view after,
                     const std::function<bool(std::string_view, const DirEntry&)>& fn);

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
