#include "tree/chunk_pipeline.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <numeric>
#include <string>
#include <thread>

#include "content/chunk_loader.h"
#include "revfs/time_util.h"
#include "tree/xattr_blob.h"
#include "util/hash.h"

namespace revfs {
namespace {

// A hole longer than this is recorded as several hole entries (a ChunkRef's
// length is 32 bits).
constexpr uint32_t kMaxHolePiece = 1u << 30;

bool SameStat(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
         NanosFromTimespec(a.st_mtim) == NanosFromTimespec(b.st_mtim);
}

}  // namespace

ChunkPipeline::TestHooks& ChunkPipeline::test_hooks() {
  static TestHooks hooks;
  return hooks;
}

ChunkJob PrepareChunkJob(Database& db, std::string raw, const std::optional<ChunkRef>& base) {
  ChunkJob job;
  if (base && !base->hole && base->length == raw.size()) {
    // The same SHA-256 is the same bytes: nothing is read back, but the
    // previous version's page must still be stored (prune may have packed
    // it away with a forgotten revision).
    const Digest256 hash = HashBytes(raw);
    if (hash == base->hash && base->depth <= kMaxDeltaDepth &&
        ChunkPresent(db, base->hash, base->page, base->depth)) {
      job.same = *base;  // the raw bytes are not needed any more
      job.chunk.hash = hash;
      return job;
    }
  }
  job.chunk = PrepareChunk(db, std::move(raw), base);
  return job;
}

UniqueFd OpenSmallFile(SmallFile* f) {
  if (!f->source_error.ok() || f->error_errno != 0) return UniqueFd(-1);
  // O_NONBLOCK changes nothing for a regular file, but a FIFO put in its
  // place since the lstat must not block the worker: it fails the size
  // and inode check after the read instead.
  constexpr int kFlags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
  int fd = ::openat(f->dir->get(), f->name.c_str(), kFlags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::openat(f->dir->get(), f->name.c_str(), kFlags);
  if (fd < 0) {
    f->error_errno = errno;
    return UniqueFd(-1);
  }
  // Starts reading it now (the next files of the batch too, before the
  // first is read): from a cold cache the reads of a batch overlap.
  ::posix_fadvise(fd, 0, f->st.st_size, POSIX_FADV_WILLNEED);
  return UniqueFd(fd);
}

void ReadSmallFile(Database& db, const Chunker& chunker, SmallFile* f, const UniqueFd& fd) {
  if (fd.get() < 0) return;  // the error is noted in *f
  // The walk's lstat stands for the stat before the read: a file replaced
  // or changed since shows in the stat after it, and is read again.
  struct stat before = f->st;
  std::string raw;
  for (int attempt = 0;; ++attempt) {
    const uint64_t size = static_cast<uint64_t>(before.st_size);
    if (size > chunker.params().min_size) {
      f->redo = true;  // grew past one chunk: the writer reads it
      return;
    }
    raw.resize(size);
    size_t have = 0;
    while (have < size) {
      ssize_t n = ::pread(fd.get(), raw.data() + have, size - have, static_cast<off_t>(have));
      if (n < 0) {
        if (errno == EINTR) continue;
        f->source_error = Status::FromErrno(errno, "read");
        return;
      }
      if (n == 0) break;  // shrank meanwhile: the size check below catches it
      have += static_cast<size_t>(n);
    }
    f->bytes_read += have;
    if (auto& hook = ChunkPipeline::test_hooks().after_read) hook(fd.get(), attempt);
    if (::fstat(fd.get(), &f->after) != 0) {
      f->error_errno = errno;
      return;
    }
    if (have == size && SameStat(before, f->after)) break;
    if (attempt == 2) {
      f->source_error = Status::Aborted("changed while being read (3 tries)");
      return;
    }
    before = f->after;
  }
  f->xattr_errno = ReadFdXattrs(fd.get(), &f->xattrs);
  if (raw.empty()) return;
  f->chunk = PrepareChunkJob(db, std::move(raw), f->old);
}

ChunkPipeline::ChunkPipeline(Database& db, WriteTrx& trx, ContentStats* stats,
                             uint64_t* bytes_read, std::function<void()> on_chunk)
    : db_(db),
      trx_(trx),
      stats_(stats),
      bytes_read_(bytes_read),
      on_chunk_(std::move(on_chunk)),
      chunker_(ChunkerParams{}),
      small_on_workers_(test_hooks().small_on_workers),
      max_in_flight_(test_hooks().max_in_flight ? test_hooks().max_in_flight : kMaxInFlight),
      pool_(std::max(1u, std::thread::hardware_concurrency())) {}

ChunkPipeline::~ChunkPipeline() = default;

void ChunkPipeline::AddInFlight(uint64_t n) {
  in_flight_ += n;
  peak_in_flight_ = std::max(peak_in_flight_, in_flight_);
}

bool ChunkPipeline::IsSmall(const struct stat& st) const {
  return small_on_workers_ && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) <= chunker_.params().min_size &&
         static_cast<uint64_t>(st.st_blocks) * 512 >= static_cast<uint64_t>(st.st_size);
}

SmallHandle ChunkPipeline::AddSmall(SmallFile file, int dirfd, std::string_view dir_key) {
  if (!open_) open_ = std::make_shared<SmallBatch>();
  if (!dir_ || dir_key != dir_key_) {
    // The batch owns a duplicate of the directory descriptor: it outlives
    // the caller's, whatever happens to the walk.
    dir_ = std::make_shared<UniqueFd>(::fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
    dir_key_ = std::string(dir_key);
    if (dir_->get() < 0) {
      file.error_errno = errno;
      dir_.reset();
    }
  }
  file.dir = dir_;
  const uint64_t size = static_cast<uint64_t>(file.st.st_size);
  AddInFlight(size);
  open_->bytes += size;
  open_->files.push_back(std::move(file));
  SmallHandle handle{open_, open_->files.size() - 1};
  if (open_->files.size() >= kBatchFiles || open_->bytes >= kBatchBytes) Flush();
  return handle;
}

void ChunkPipeline::Flush() {
  if (!open_) return;
  std::shared_ptr<SmallBatch> batch = std::move(open_);
  open_.reset();
  // The job holds the batch until it has run (the walk may drop its
  // handles early, on an error), then lets go: the batch's future holds the
  // job, and a batch must not hold itself.
  batch->done = pool_.Submit([db = &db_, chunker = &chunker_, b = batch]() mutable {
    // In inode order: on most filesystems that is close to disk order.
    std::vector<size_t> order(b->files.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&b](size_t x, size_t y) {
      return b->files[x].st.st_ino < b->files[y].st.st_ino;
    });
    std::vector<UniqueFd> fds;
    fds.reserve(order.size());
    for (size_t i : order) fds.push_back(OpenSmallFile(&b->files[i]));
    for (size_t k = 0; k < order.size(); ++k) {
      ReadSmallFile(*db, *chunker, &b->files[order[k]], fds[k]);
      fds[k] = UniqueFd(-1);
    }
    b.reset();
  }).share();
}

Result<SmallFile*> ChunkPipeline::FinishSmall(const SmallHandle& handle,
                                              std::vector<ChunkRef>* chunks) {
  SmallBatch& batch = *handle.batch;
  if (!batch.done.valid()) Flush();  // it is the open batch
  batch.done.get();
  SmallFile& f = batch.files[handle.index];
  in_flight_ -= static_cast<uint64_t>(f.st.st_size);
  *bytes_read_ += f.bytes_read;
  if (!f.source_error.ok() || f.error_errno != 0 || f.redo || !f.chunk) return &f;
  REVFS_ASSIGN_OR_RETURN(ChunkRef ref, StoreJob(*f.chunk, 0));
  chunks->push_back(ref);
  f.chunk.reset();
  on_chunk_();
  return &f;
}

Status ChunkPipeline::ReadFile(int fd, uint64_t size, const std::vector<ChunkRef>& old,
                               std::vector<ChunkSlot>* slots, Status* source_error) {
  auto hole = [&](uint64_t from, uint64_t to) {
    while (from < to) {
      ChunkSlot slot;
      slot.ref.offset = from;
      slot.ref.length = static_cast<uint32_t>(std::min<uint64_t>(to - from, kMaxHolePiece));
      slot.ref.hole = true;
      slot.stored = true;
      from += slot.ref.length;
      slots->push_back(std::move(slot));
    }
  };
  uint64_t offset = 0;
  while (offset < size) {
    off_t data = ::lseek(fd, static_cast<off_t>(offset), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) {  // only a hole up to the end
        hole(offset, size);
        return Status::OK();
      }
      data = static_cast<off_t>(offset);  // SEEK_DATA not supported: all data
    }
    if (static_cast<uint64_t>(data) >= size) {
      hole(offset, size);
      return Status::OK();
    }
    hole(offset, static_cast<uint64_t>(data));
    offset = static_cast<uint64_t>(data);
    off_t next_hole = ::lseek(fd, static_cast<off_t>(offset), SEEK_HOLE);
    uint64_t end = next_hole < 0 ? size : std::min<uint64_t>(static_cast<uint64_t>(next_hole), size);
    if (end <= offset) end = size;
    REVFS_RETURN_IF_ERROR(ReadRegion(fd, offset, end, old, slots, source_error));
    if (!source_error->ok()) return Status::OK();
    offset = end;
  }
  return Status::OK();
}

Status ChunkPipeline::ReadRegion(int fd, uint64_t start, uint64_t end,
                                 const std::vector<ChunkRef>& old,
                                 std::vector<ChunkSlot>* slots, Status* source_error) {
  const size_t max = chunker_.params().max_size;
  // One buffer for every file, never zeroed: only the bytes read are used.
  if (!buf_) buf_ = std::make_unique_for_overwrite<char[]>(max);
  char* const buf = buf_.get();
  size_t have = 0;
  uint64_t buf_pos = start, read_pos = start;
  bool eof = false;
  while (true) {
    while (have < max && read_pos < end && !eof) {
      ssize_t n = ::pread(fd, buf + have, std::min<uint64_t>(max - have, end - read_pos),
                          static_cast<off_t>(read_pos));
      if (n < 0) {
        if (errno == EINTR) continue;
        *source_error = Status::FromErrno(errno, "read");
        return Status::OK();
      }
      if (n == 0) eof = true;  // shrank meanwhile; the caller's size check catches it
      have += static_cast<size_t>(n);
      read_pos += static_cast<uint64_t>(n);
      *bytes_read_ += static_cast<uint64_t>(n);
    }
    if (have == 0) return Status::OK();
    const size_t cut = chunker_.FindCut(reinterpret_cast<const uint8_t*>(buf), have);
    ChunkSlot slot;
    slot.ref.offset = buf_pos;
    slot.ref.length = static_cast<uint32_t>(cut);
    std::optional<ChunkRef> base;
    auto it = std::upper_bound(old.begin(), old.end(), buf_pos,
                               [](uint64_t off, const ChunkRef& c) { return off < c.offset; });
    if (it != old.begin() && !std::prev(it)->hole) base = *std::prev(it);
    // The same chunk as before only if it starts where this one does.
    std::optional<ChunkRef> same_base = base && base->offset == buf_pos ? base : std::nullopt;
    slot.job = pool_.Submit([db = &db_, raw = std::string(buf, cut), base, same_base]() mutable {
      if (same_base) return PrepareChunkJob(*db, std::move(raw), same_base);
      ChunkJob job;
      job.chunk = PrepareChunk(*db, std::move(raw), base);
      return job;
    });
    slots->push_back(std::move(slot));
    AddInFlight(cut);
    // Bound the bytes waiting to be stored: store this file's oldest chunks.
    for (ChunkSlot& s : *slots) {
      if (in_flight_ <= max_in_flight_) break;
      REVFS_RETURN_IF_ERROR(StoreSlot(s));
    }
    std::memmove(buf, buf + cut, have - cut);
    have -= cut;
    buf_pos += cut;
    on_chunk_();
  }
}

void ChunkPipeline::Drop(std::vector<ChunkSlot>* slots) {
  for (ChunkSlot& slot : *slots) {
    if (!slot.stored) in_flight_ -= slot.ref.length;
  }
  slots->clear();
}

Status ChunkPipeline::Store(std::vector<ChunkSlot>* slots, std::vector<ChunkRef>* chunks) {
  for (ChunkSlot& slot : *slots) {
    REVFS_RETURN_IF_ERROR(StoreSlot(slot));
    chunks->push_back(slot.ref);
  }
  slots->clear();
  return Status::OK();
}

Status ChunkPipeline::StoreSlot(ChunkSlot& slot) {
  if (slot.stored || slot.ref.hole) return Status::OK();
  ChunkJob job = slot.job.get();
  in_flight_ -= slot.ref.length;
  slot.stored = true;
  REVFS_ASSIGN_OR_RETURN(slot.ref, StoreJob(job, slot.ref.offset));
  return Status::OK();
}

Result<ChunkRef> ChunkPipeline::StoreJob(ChunkJob& job, uint64_t offset) {
  if (job.same) {  // the chunk of the previous version, same SHA-256
    ChunkRef ref = *job.same;
    ref.offset = offset;
    ++stats_->chunks_reused;
    return ref;
  }
  return StorePrepared(trx_, db_, job.chunk, offset, stats_);
}

}  // namespace revfs
