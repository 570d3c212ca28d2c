// ChunkPipeline: the content half of a capture. It reads source files, cuts
// them into content-defined chunks (holes of sparse files become hole
// entries, never read), has each chunk hashed and compressed on a pool of
// worker threads, and stores the prepared chunks in file order when asked
// (deduplicated against every chunk of the store).
//
// Two ways in:
// - Small files (one chunk at most, no holes: the common case) are read
//   whole on the workers, in batches (AddSmall): a worker opens the file,
//   reads it with one pread sized to the file, checks with fstat that it did
//   not change meanwhile (three tries), reads its extended attributes, and
//   hashes and compresses it. The writer thread only stats the entry and
//   later stores the result (FinishSmall).
// - Other files are read on the writer thread (ReadFile) into one reused
//   buffer of the chunker's maximum chunk size (never zeroed, never
//   reallocated), while the workers hash and compress the chunks cut.
// A chunk equal to the chunk at its offset in the file's previous version
// (same SHA-256 and length, its pages still stored) is taken as that chunk:
// no compression, no chunk index lookup and no read-back (an unpacked copy
// of an unchanged file costs its read and hash).
//
// Memory bound: the raw bytes read (or about to be read by a queued small
// file) and not yet stored are counted in in_flight(); ReadFile keeps it
// at most max_in_flight() (kMaxInFlight, 64 MiB) plus one chunk (the
// chunker's maximum, 4 MiB) by storing a file's oldest chunks itself, and
// the caller keeps it there by finishing its oldest files
// (TreeCapture::Drain) once it passes the bound. Each byte in flight is
// held at most twice (raw and compressed), so a capture's content buffers
// stay under 2 x (64 + 4) MiB plus the one read buffer (4 MiB), whatever
// the size of the tree (peak_in_flight() shows the peak). The records a
// capture writes are not counted here: the write transaction holds them
// until it commits.
//
// The source is read with openat, pread, fstat, flistxattr and
// lseek(SEEK_DATA/SEEK_HOLE) directly, not through the Env (see
// env/env.h); a read error is the source's, reported as a source error,
// not a failure.
//
// Thread safety: one thread (the store's writer) calls every method; only
// the reading of small files and the preparing of chunks run on the
// workers. The destructor waits for the workers' queued jobs. A directory
// descriptor given to AddSmall must stay open until that file is finished.
#ifndef REVFS_TREE_CHUNK_PIPELINE_H_
#define REVFS_TREE_CHUNK_PIPELINE_H_

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "content/chunker.h"
#include "revfs/database.h"
#include "revfs/inode.h"
#include "tree/file_chunks.h"
#include "tree/worker_pool.h"
#include "util/fd.h"

namespace revfs {

// A chunk prepared on a worker: hashed and compressed, or found equal to
// `same`, the chunk at its offset in the file's previous version.
struct ChunkJob {
  PreparedChunk chunk;
  std::optional<ChunkRef> same;
};

// One chunk of a file being captured: being hashed and compressed on a
// worker, prepared, stored, or a hole.
struct ChunkSlot {
  ChunkRef ref;  // offset and length; the rest once stored
  std::future<ChunkJob> job;
  bool stored = false;  // ref is final (holes are, always)
};

// A small file read on a worker. The writer fills `name`, `st` and `old`;
// the pipeline `dir`; a worker the rest.
struct SmallFile {
  std::shared_ptr<UniqueFd> dir;  // the directory holding it (a duplicate)
  std::string name;
  struct stat st{};  // from the directory walk (lstat)
  std::optional<ChunkRef> old;  // the previous version's first chunk, if any
  // Set by the worker. Unless `redo` or an error, `after` is the file's
  // stat once read, unchanged since the read began.
  int error_errno = 0;  // opening, duplicating or stat'ing it failed
  Status source_error;  // reading it failed, or it kept changing
  uint64_t bytes_read = 0;
  bool redo = false;  // it grew past a small file while read: read it again
  struct stat after{};
  std::vector<std::pair<std::string, std::string>> xattrs;  // sorted by name
  int xattr_errno = 0;  // reading them failed (ReadSourceXattrs)
  std::optional<ChunkJob> chunk;  // none for an empty file
};

// Files read by one worker job, in the order added.
struct SmallBatch {
  std::vector<SmallFile> files;
  uint64_t bytes = 0;
  std::shared_future<void> done;  // valid once submitted
};

// Where a small file waits: its batch and its index there.
struct SmallHandle {
  std::shared_ptr<SmallBatch> batch;
  size_t index = 0;
};

class ChunkPipeline {
 public:
  // Raw bytes read but not yet stored, at most (about: one chunk more).
  static constexpr uint64_t kMaxInFlight = 64u << 20;
  // A batch is submitted once it holds this many files or bytes: small
  // enough that a directory of a dozen small files keeps two workers busy,
  // large enough that queueing costs little per file.
  static constexpr size_t kBatchFiles = 8;
  static constexpr uint64_t kBatchBytes = 256u << 10;

  // Stores chunks in `trx` of `db`, counting into `stats` and `*bytes_read`
  // (both outlive the pipeline); calls `on_chunk` after each chunk cut.
  ChunkPipeline(Database& db, WriteTrx& trx, ContentStats* stats, uint64_t* bytes_read,
                std::function<void()> on_chunk);
  ChunkPipeline(const ChunkPipeline&) = delete;
  ChunkPipeline& operator=(const ChunkPipeline&) = delete;
  ~ChunkPipeline();

  // Returns true if a regular file of this stat is read whole on a worker
  // (AddSmall): at most one chunk, and all its blocks allocated (no holes).
  bool IsSmall(const struct stat& st) const;
  // Queues `file` (IsSmall(file.st)), an entry of the directory open as
  // `dirfd`, to be read on a worker. `dir_key` names that directory (its
  // path) uniquely within the capture: the pipeline duplicates `dirfd` once
  // per directory, so the caller may close it whenever it likes.
  SmallHandle AddSmall(SmallFile file, int dirfd, std::string_view dir_key);
  // Waits for the small file's read and stores its chunk into `*chunks`.
  // Returns the file (its worker's findings) for the caller to look at;
  // an error of the source or `redo` leaves `*chunks` empty.
  Result<SmallFile*> FinishSmall(const SmallHandle& handle, std::vector<ChunkRef>* chunks);

  // Reads the first `size` bytes of the open file `fd` and appends their
  // chunks and holes to `slots`. `old` lists the chunks of the file's
  // previous version (inline lists only): each new chunk is compressed
  // against the one at its offset. A read error of the source goes to
  // `*source_error` (OK returned); an error storing chunks is returned.
  Status ReadFile(int fd, uint64_t size, const std::vector<ChunkRef>& old,
                  std::vector<ChunkSlot>* slots, Status* source_error);

  // Forgets `slots` (a torn read of a file that changed meanwhile).
  void Drop(std::vector<ChunkSlot>* slots);

  // Waits for each slot's chunk in order, stores it and appends its final
  // reference to `chunks`; `slots` is emptied.
  Status Store(std::vector<ChunkSlot>* slots, std::vector<ChunkRef>* chunks);

  uint64_t in_flight() const { return in_flight_; }
  // The most bytes ever in flight during this pipeline's life.
  uint64_t peak_in_flight() const { return peak_in_flight_; }

  // The bound on the bytes in flight: kMaxInFlight unless a test lowers it.
  uint64_t max_in_flight() const { return max_in_flight_; }

  // Test seams, read when a pipeline is made (after_read: on every read).
  // Set them only while no capture runs.
  struct TestHooks {
    // Called on the reading thread after each read of a file and before
    // its size and time are checked again (a test changes the file there
    // to tear the read).
    std::function<void(int fd, int attempt)> after_read;
    bool small_on_workers = true;  // false: every file is read by the writer
    uint64_t max_in_flight = 0;    // 0: kMaxInFlight
  };
  static TestHooks& test_hooks();

 private:
  Status ReadRegion(int fd, uint64_t start, uint64_t end, const std::vector<ChunkRef>& old,
                    std::vector<ChunkSlot>* slots, Status* source_error);
  // Waits for a slot's chunk and stores it.
  Status StoreSlot(ChunkSlot& slot);
  // Stores a prepared chunk at `offset` (or takes the equal old one).
  Result<ChunkRef> StoreJob(ChunkJob& job, uint64_t offset);
  // Submits the open batch, if any.
  void Flush();
  void AddInFlight(uint64_t n);

  Database& db_;
  WriteTrx& trx_;
  ContentStats* const stats_;
  uint64_t* const bytes_read_;
  const std::function<void()> on_chunk_;
  const Chunker chunker_;
  const bool small_on_workers_;
  const uint64_t max_in_flight_;
  uint64_t in_flight_ = 0;
  uint64_t peak_in_flight_ = 0;
  std::unique_ptr<char[]> buf_;  // ReadFile's buffer, max_size bytes, made once
  std::shared_ptr<SmallBatch> open_;  // small files not yet submitted
  std::shared_ptr<UniqueFd> dir_;     // the duplicate of the last directory
  std::string dir_key_;               // ... and its key
  // Last, so that it is destroyed first: its jobs use db_.
  WorkerPool pool_;
};

// Prepares `raw` for storing at the offset of `base` (the previous
// version's chunk there, if any): taken as `base` when equal to it,
// else hashed and compressed (PrepareChunk). Any thread.
ChunkJob PrepareChunkJob(Database& db, std::string raw, const std::optional<ChunkRef>& base);

// Opens one small file of a batch, as a worker does, and asks the kernel
// to start reading it; -1 if it cannot be opened (noted in *file).
UniqueFd OpenSmallFile(SmallFile* file);
// Reads the small file open as `fd`, as a worker does.
void ReadSmallFile(Database& db, const Chunker& chunker, SmallFile* file, const UniqueFd& fd);

}  // namespace revfs

#endif  // REVFS_TREE_CHUNK_PIPELINE_H_
