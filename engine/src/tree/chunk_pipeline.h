// ChunkPipeline: the content half of a capture. It reads a source file,
// cuts it into content-defined chunks (holes of sparse files become hole
// entries, never read), has each chunk hashed and compressed on a pool of
// worker threads while it reads on, and stores the prepared chunks in file
// order when asked (deduplicated against every chunk of the store).
//
// A file's chunks wait in ChunkSlots, owned by the caller (TreeCapture keeps
// the slots of several small files so that the workers stay busy across
// files). The raw bytes read and not yet stored are bounded by kMaxInFlight:
// past it, ReadFile stores the file's oldest chunks itself, and the caller
// finishes its oldest files (TreeCapture::Drain).
//
// The source file is read with pread and lseek(SEEK_DATA/SEEK_HOLE) on the
// descriptor the caller opened, not through the Env (see env/env.h); a read
// error is the source's, reported in `*source_error`, not a failure.
//
// Thread safety: one thread (the store's writer) calls every method; only
// the preparing of chunks runs on the workers. The destructor waits for the
// workers' queued jobs.
#ifndef REVFS_TREE_CHUNK_PIPELINE_H_
#define REVFS_TREE_CHUNK_PIPELINE_H_

#include <cstdint>
#include <functional>
#include <future>
#include <vector>

#include "content/chunker.h"
#include "revfs/database.h"
#include "revfs/inode.h"
#include "tree/file_chunks.h"
#include "tree/worker_pool.h"

namespace revfs {

// One chunk of a file being captured: being hashed and compressed on a
// worker, prepared, stored, or a hole.
struct ChunkSlot {
  ChunkRef ref;  // offset and length; the rest once stored
  std::future<PreparedChunk> job;
  bool stored = false;  // ref is final (holes are, always)
};

class ChunkPipeline {
 public:
  // Raw bytes read but not yet stored, at most (about: one chunk more).
  static constexpr uint64_t kMaxInFlight = 64u << 20;

  // Stores chunks in `trx` of `db`, counting into `stats` and `*bytes_read`
  // (both outlive the pipeline); calls `on_chunk` after each chunk cut.
  ChunkPipeline(Database& db, WriteTrx& trx, ContentStats* stats, uint64_t* bytes_read,
                std::function<void()> on_chunk);
  ChunkPipeline(const ChunkPipeline&) = delete;
  ChunkPipeline& operator=(const ChunkPipeline&) = delete;

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

 private:
  Status ReadRegion(int fd, uint64_t start, uint64_t end, const std::vector<ChunkRef>& old,
                    std::vector<ChunkSlot>* slots, Status* source_error);
  // Waits for a slot's chunk and stores it.
  Status StoreSlot(ChunkSlot& slot);

  Database& db_;
  WriteTrx& trx_;
  ContentStats* const stats_;
  uint64_t* const bytes_read_;
  const std::function<void()> on_chunk_;
  const Chunker chunker_;
  uint64_t in_flight_ = 0;
  // Last, so that it is destroyed first: its jobs use db_.
  WorkerPool pool_;
};

}  // namespace revfs

#endif  // REVFS_TREE_CHUNK_PIPELINE_H_
