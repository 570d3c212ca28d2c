#include "tree/chunk_pipeline.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

namespace revfs {
namespace {

// A hole longer than this is recorded as several hole entries (a ChunkRef's
// length is 32 bits).
constexpr uint32_t kMaxHolePiece = 1u << 30;

}  // namespace

ChunkPipeline::ChunkPipeline(Database& db, WriteTrx& trx, ContentStats* stats,
                             uint64_t* bytes_read, std::function<void()> on_chunk)
    : db_(db),
      trx_(trx),
      stats_(stats),
      bytes_read_(bytes_read),
      on_chunk_(std::move(on_chunk)),
      chunker_(ChunkerParams{}),
      pool_(std::max(1u, std::thread::hardware_concurrency())) {}

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
  std::string buf(max, '\0');
  size_t have = 0;
  uint64_t buf_pos = start, read_pos = start;
  bool eof = false;
  while (true) {
    while (have < max && read_pos < end && !eof) {
      ssize_t n = ::pread(fd, buf.data() + have, std::min<uint64_t>(max - have, end - read_pos),
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
    const size_t cut = chunker_.FindCut(reinterpret_cast<const uint8_t*>(buf.data()), have);
    ChunkSlot slot;
    slot.ref.offset = buf_pos;
    slot.ref.length = static_cast<uint32_t>(cut);
    std::optional<ChunkRef> base;
    auto it = std::upper_bound(old.begin(), old.end(), buf_pos,
                               [](uint64_t off, const ChunkRef& c) { return off < c.offset; });
    if (it != old.begin() && !std::prev(it)->hole) base = *std::prev(it);
    slot.job = pool_.Submit([db = &db_, raw = std::string(buf.data(), cut), base]() mutable {
      return PrepareChunk(*db, std::move(raw), base);
    });
    slots->push_back(std::move(slot));
    in_flight_ += cut;
    // Bound the bytes waiting to be stored: store this file's oldest chunks.
    for (ChunkSlot& s : *slots) {
      if (in_flight_ <= kMaxInFlight) break;
      REVFS_RETURN_IF_ERROR(StoreSlot(s));
    }
    std::memmove(buf.data(), buf.data() + cut, have - cut);
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
  PreparedChunk chunk = slot.job.get();
  in_flight_ -= slot.ref.length;
  slot.stored = true;
  REVFS_ASSIGN_OR_RETURN(slot.ref, StorePrepared(trx_, db_, chunk, slot.ref.offset, stats_));
  return Status::OK();
}

}  // namespace revfs
