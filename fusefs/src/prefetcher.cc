// Prefetcher: chunk prefetch threads and directory read-ahead threads.
#include "prefetcher.h"

#include <pthread.h>
#include <sched.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <string_view>
#include <utility>

namespace revfs::fusefs {
namespace {

// Chunks waiting for a prefetch thread at most: a reader outrunning the
// prefetchers must not queue a whole file (each entry costs memory and the
// oldest are the most useful); what does not fit is dropped, and read on
// demand.
constexpr size_t kChunkQueueMax = 512;
// Entries of a directory a read-ahead job looks at at most: a huge
// directory of which one file was looked up is not walked whole.
constexpr size_t kReadAheadScanMax = 4096;
// A read counts as sequential when it starts this close to the furthest end
// read so far: the kernel's reads of a file in flight at once stay within
// this.
constexpr uint64_t kSequentialNear = 4u << 20;

// Logs the exception being handled (a background job's; never rethrown).
void LogThrown(const char* what) noexcept {
  try {
    try {
      throw;
    } catch (const std::exception& e) {
      if (auto log = spdlog::get("revfs")) log->error("{}: {}", what, e.what());
    } catch (...) {
      if (auto log = spdlog::get("revfs")) log->error("{}: unknown exception", what);
    }
  } catch (...) {  // logging failed too (memory short): the job just ends
  }
}

}  // namespace

Prefetcher::Prefetcher(Database* db, NodeTable* nodes, const FsOptions& options)
    : db_(db), nodes_(nodes), options_(options) {
  for (unsigned i = 0; i < options_.prefetch_threads; ++i) {
    threads_.emplace_back([this] { PrefetchLoop(); });
  }
  if (DirReadAheadOn()) {
    for (unsigned i = 0; i < RevFs::kDirReadAheadThreads; ++i) {
      threads_.emplace_back([this] { DirReadAheadLoop(); });
    }
  }
}

Prefetcher::~Prefetcher() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  chunk_cv_.SignalAll();
  dir_cv_.SignalAll();
  for (std::thread& t : threads_) t.join();
}

void Prefetcher::PrefetchLoop() {
  // Decoding ahead uses only CPU time nobody else wants: the threads
  // answering requests always come first.
  sched_param param{};
  (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);
  // ... and never make a reader wait: a reader asking for a chunk this
  // thread is decoding decodes it itself (a starved idle thread could take
  // seconds).
  Database::MarkBackgroundThread();
  while (true) {
    ChunkRef chunk;
    {
      MutexLock lock(&mu_);
      while (!stop_ && chunk_queue_.empty()) chunk_cv_.Wait(&mu_);
      if (stop_) return;
      chunk = chunk_queue_.front();
      chunk_queue_.pop_front();
    }
    // Decoded into the chunk cache; the pin is dropped at once. Nothing
    // thrown may end the thread (and with it the daemon).
    try {
      (void)db_->PrefetchChunk(chunk.hash, chunk.page, chunk.length);
    } catch (...) {
      LogThrown("chunk prefetch");
    }
  }
}

void Prefetcher::DirReadAheadLoop() {
  // At normal priority, unlike the chunk prefetchers: a fill of a file's
  // page cache holds its pages locked, and readers of the file (and
  // StopKernelCacheFill) wait for it, so it must not be starved by a busy
  // machine.
  while (true) {
    uint64_t dir = 0;
    {
      MutexLock lock(&mu_);
      while (!stop_ && dir_queue_.empty()) dir_cv_.Wait(&mu_);
      if (stop_) return;
      dir = dir_queue_.front();
      dir_queue_.pop_front();
    }
    try {
      ReadAheadDirectory(dir);
    } catch (...) {  // a job is only a hint: the reads it helps still work
      LogThrown("directory read-ahead");
    }
    dirs_read_ahead_.fetch_add(1, std::memory_order_relaxed);
  }
}

void Prefetcher::QueueChunks(const std::vector<ChunkRef>& chunks) {
  if (chunks.empty() || threads_.empty()) return;
  size_t queued = 0;
  {
    MutexLock lock(&mu_);
    for (const ChunkRef& c : chunks) {
      if (chunk_queue_.size() >= kChunkQueueMax) break;
      chunk_queue_.push_back(c);
      ++queued;
    }
  }
  chunks_prefetched_.fetch_add(queued, std::memory_order_relaxed);
  if (queued == 1) {
    chunk_cv_.Signal();
  } else if (queued > 1) {
    chunk_cv_.SignalAll();
  }
}

void Prefetcher::AfterRead(const Inode& file, ReadAhead& ahead, ReadTrx& trx, uint64_t offset,
                           uint64_t end) {
  uint64_t seen = ahead.max_end.load(std::memory_order_relaxed);
  const bool sequential =
      offset == 0 || (offset <= seen + kSequentialNear && offset + kSequentialNear >= seen);
  while (end > seen && !ahead.max_end.compare_exchange_weak(seen, end)) {
  }
  if (!sequential || end >= file.size || options_.readahead_bytes == 0) return;
  const uint64_t to = std::min<uint64_t>(file.size, end + options_.readahead_bytes);
  uint64_t queued = ahead.queued_to.load(std::memory_order_relaxed);
  uint64_t from;
  do {  // one thread queues [from, to)
    from = std::max(queued, end);
    if (from >= to) return;
  } while (!ahead.queued_to.compare_exchange_weak(queued, to));
  std::vector<ChunkRef> chunks;
  (void)ForEachChunk(trx, file, from, [&](const ChunkRef& c) {
    if (c.offset >= to) return false;
    if (c.offset >= from && !c.hole) chunks.push_back(c);
    return true;
  });
  QueueChunks(chunks);
}

void Prefetcher::AfterLookup(const Inode& file, ReadTrx& trx) {
  if (file.type != FileType::kRegular || file.size == 0 || options_.lookup_prefetch_max == 0) {
    return;
  }
  std::vector<ChunkRef> chunks;
  (void)ForEachChunk(trx, file, 0, [&](const ChunkRef& c) {
    if (!c.hole && c.length <= options_.lookup_prefetch_max) chunks.push_back(c);
    return false;
  });
  QueueChunks(chunks);
}

void Prefetcher::FirstRead(uint64_t node) {
  if (!DirReadAheadOn()) return;
  const std::optional<uint64_t> dir = nodes_->MarkFirstRead(node);
  if (!dir) return;
  {
    MutexLock lock(&mu_);
    dir_queue_.push_back(*dir);  // once per directory node, so bounded
  }
  dirs_queued_.fetch_add(1, std::memory_order_relaxed);
  dir_cv_.Signal();
}

void Prefetcher::ReadAheadDirectory(uint64_t dir_id) {
  if (cache_fill_stopping_.load()) return;
  auto dir = nodes_->Get(dir_id);
  if (!dir.ok() || (dir->kind != Node::Kind::kEntry && dir->kind != Node::Kind::kRevRoot)) {
    return;
  }
  auto trx = db_->BeginRead(dir->rev);
  if (!trx.ok()) return;
  auto dir_inode = InodeOf(*dir, **trx);
  if (!dir_inode.ok() || dir_inode->type != FileType::kDirectory) return;
  // The directory's regular files, at most kReadAheadScanMax entries looked
  // at.
  std::vector<uint64_t> inos;
  size_t scanned = 0;
  if (!ListDirectory(**trx, *dir_inode, "", [&](std::string_view, const DirEntry& e) {
         if (e.type == FileType::kRegular) inos.push_back(e.ino);
         return ++scanned < kReadAheadScanMax;
       }).ok()) {
    return;
  }
  // Files the kernel knows (looked up, not forgotten) and has not read go
  // into its page cache: it drops what it is given for a node it does not
  // have. The others (listed by name alone, FsOptions::readdirplus) have
  // their chunks decoded into the daemon's cache, so that their lookup and
  // read, likely next, wait for no store read.
  std::vector<uint64_t> unknown;
  const std::vector<std::pair<uint64_t, uint64_t>> files =
      nodes_->ClaimUncached(dir->rev, inos, &unknown);
  uint64_t budget = options_.dir_readahead_bytes;
  bool spent = false;  // a file did not fit the budget: nothing more is read
  // Reads file `ino` whole, pinned, when it is small and within the budget.
  auto read = [&](uint64_t ino, std::vector<PinnedView>* pins,
                  std::vector<std::string_view>* pieces) -> std::optional<uint64_t> {
    auto file = GetInode(**trx, ino);
    if (!file.ok() || file->type != FileType::kRegular || file->size == 0 ||
        file->size > options_.lookup_prefetch_max) {
      return std::nullopt;
    }
    if (file->size > budget) {
      spent = true;
      return std::nullopt;
    }
    budget -= file->size;
    if (!ReadFilePinned(*db_, **trx, *file, 0, file->size, pins, pieces).ok()) {
      return std::nullopt;
    }
    return file->size;
  };
  for (const auto& [id, ino] : files) {
    if (cache_fill_stopping_.load()) return;
    std::vector<PinnedView> pins;
    std::vector<std::string_view> pieces;
    const std::optional<uint64_t> size = read(ino, &pins, &pieces);
    if (spent) return;
    if (!size) continue;
    ReaderMutexLock lock(&cache_fill_mu_);
    if (!cache_fill_ || cache_fill_stopping_.load()) return;
    if (cache_fill_(id, pieces) == 0) {
      files_read_ahead_.fetch_add(1, std::memory_order_relaxed);
      bytes_read_ahead_.fetch_add(*size, std::memory_order_relaxed);
    }
  }
  for (uint64_t ino : unknown) {
    if (cache_fill_stopping_.load() || spent) return;
    std::vector<PinnedView> pins;  // unpinned at once: the chunks stay cached
    std::vector<std::string_view> pieces;
    if (read(ino, &pins, &pieces)) files_decoded_ahead_.fetch_add(1, std::memory_order_relaxed);
  }
}

void Prefetcher::SetKernelCacheFill(KernelCacheFill fill) {
  WriterMutexLock lock(&cache_fill_mu_);
  cache_fill_ = std::move(fill);
  cache_fill_stopping_.store(false);
}

void Prefetcher::StopKernelCacheFill() {
  // First no new fill starts (read-ahead checks this before taking the
  // lock), then the lock waits for the ones under way.
  cache_fill_stopping_.store(true);
  WriterMutexLock lock(&cache_fill_mu_);
  cache_fill_ = nullptr;
}

Prefetcher::Counters Prefetcher::counters() const {
  Counters c;
  c.chunks_prefetched = chunks_prefetched_.load();
  c.dirs_queued = dirs_queued_.load();
  c.dirs_read_ahead = dirs_read_ahead_.load();
  c.files_read_ahead = files_read_ahead_.load();
  c.bytes_read_ahead = bytes_read_ahead_.load();
  c.files_decoded_ahead = files_decoded_ahead_.load();
  return c;
}

}  // namespace revfs::fusefs
