// Prefetcher: work done ahead of readers, on threads of its own.
//
// Chunk prefetch: FsOptions::prefetch_threads threads at idle priority
// (SCHED_IDLE) decode queued content chunks into the engine's chunk cache
// and drop them: the next readahead_bytes of a file read sequentially
// (AfterRead), and the first chunk of a small file when it is looked up
// (AfterLookup; a lookup is usually followed by a read).
//
// Directory read-ahead: the first read of a file (FirstRead) queues a job
// for its directory, once per directory node; one of
// RevFs::kDirReadAheadThreads threads at normal priority then hands the
// content of the directory's other small files that the kernel has looked
// up and not read to the KernelCacheFill, within dir_readahead_bytes.
//
// The unit works from below only: the Database (chunks, files) and the
// NodeTable (which files the kernel knows). Its one way out is the
// KernelCacheFill, a sink injected with SetKernelCacheFill: only Serve
// knows the FUSE session that fills the kernel's page cache
// (fuse_lowlevel_notify_store), and tests inject a recorder. The sink takes
// a node id and the bytes and returns an errno; it calls nothing of RevFs.
//
// Thread safety: every method may be called from any thread. mu_ guards the
// queues; cache_fill_mu_ is held shared while the sink runs. Neither is
// held while the NodeTable's lock is taken, nor the other way round.
#ifndef REVFS_FUSEFS_PREFETCHER_H_
#define REVFS_FUSEFS_PREFETCHER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "node_table.h"
#include "revfs/database.h"
#include "revfs/fusefs/fusefs.h"
#include "revfs/inode.h"
#include "revfs/mutex.h"
#include "revfs/thread_annotations.h"
#include "revfs/tree.h"

namespace revfs::fusefs {

// Where a sequential reader of one file is, and what was loaded ahead.
// The kernel's read-ahead sends several reads of a file at once, which
// threads answer in any order; a read counts as sequential when it starts
// at 0 or near the furthest end read so far.
struct ReadAhead {
  std::atomic<uint64_t> max_end{0};    // furthest end read
  std::atomic<uint64_t> queued_to{0};  // chunks starting before this are queued
};

class Prefetcher {
 public:
  // Counters for the stats file.
  struct Counters {
    uint64_t chunks_prefetched = 0;
    uint64_t dirs_queued = 0;  // directory jobs queued (counted when queued)
    uint64_t dirs_read_ahead = 0;
    uint64_t files_read_ahead = 0;
    uint64_t bytes_read_ahead = 0;
    uint64_t files_decoded_ahead = 0;  // siblings the kernel does not know yet
  };

  // Starts the threads. `db` and `nodes` must outlive the Prefetcher.
  Prefetcher(Database* db, NodeTable* nodes, const FsOptions& options);
  // Stops and joins the threads (a fill of the kernel's page cache under
  // way is waited for: call StopKernelCacheFill first, while requests are
  // still served).
  ~Prefetcher();
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // After a read of [offset, end) of `file`: if the read is sequential,
  // queues the chunks of the next readahead_bytes for decoding.
  void AfterRead(const Inode& file, ReadAhead& ahead, ReadTrx& trx, uint64_t offset,
                 uint64_t end);
  // After a lookup of `file`: queues its first chunk when it is small.
  void AfterLookup(const Inode& file, ReadTrx& trx);
  // The first read of file node `node`: marks it cached and queues
  // directory read-ahead of its parent once.
  void FirstRead(uint64_t node) EXCLUDES(mu_);

  // Sets where directory read-ahead puts file content; none until set.
  void SetKernelCacheFill(KernelCacheFill fill) EXCLUDES(cache_fill_mu_);
  // Stops directory read-ahead; returns once no call of the sink is running.
  void StopKernelCacheFill() EXCLUDES(cache_fill_mu_);

  Counters counters() const;

 private:
  // Whether directory read-ahead runs (its threads exist).
  bool DirReadAheadOn() const {
    return options_.prefetch_threads > 0 && options_.dir_readahead_bytes > 0;
  }
  // Queues chunks for the prefetch threads; drops what does not fit.
  void QueueChunks(const std::vector<ChunkRef>& chunks) EXCLUDES(mu_);
  // Directory read-ahead of directory node `dir` (a read-ahead thread's job).
  void ReadAheadDirectory(uint64_t dir) EXCLUDES(mu_, cache_fill_mu_);
  void PrefetchLoop() EXCLUDES(mu_);
  void DirReadAheadLoop() EXCLUDES(mu_);

  Database* const db_;
  NodeTable* const nodes_;
  const FsOptions options_;

  Mutex mu_;
  CondVar chunk_cv_;  // with mu_: a chunk queued, or stopping
  std::deque<ChunkRef> chunk_queue_ GUARDED_BY(mu_);
  CondVar dir_cv_;  // with mu_: a directory queued, or stopping
  std::deque<uint64_t> dir_queue_ GUARDED_BY(mu_);  // directory nodes
  bool stop_ GUARDED_BY(mu_) = false;

  SharedMutex cache_fill_mu_;  // held shared while the sink runs
  KernelCacheFill cache_fill_ GUARDED_BY(cache_fill_mu_);
  std::atomic<bool> cache_fill_stopping_{false};

  std::atomic<uint64_t> chunks_prefetched_{0};
  std::atomic<uint64_t> dirs_queued_{0};
  std::atomic<uint64_t> dirs_read_ahead_{0}, files_read_ahead_{0}, bytes_read_ahead_{0},
      files_decoded_ahead_{0};

  std::vector<std::thread> threads_;  // chunk prefetchers and read-ahead threads
};

}  // namespace revfs::fusefs

#endif  // REVFS_FUSEFS_PREFETCHER_H_
