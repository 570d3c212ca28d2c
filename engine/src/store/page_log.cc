// PageLog: reading pages from segment files, and the segment handles
// readers share. The writer's side is in page_log_writer.cc.
#include "store/page_log.h"

#include <string>
#include <vector>

namespace revfs {
namespace {

std::string PageAt(const std::string& where, uint64_t address) {
  return where + ": page at offset " + std::to_string(address);
}

Status CheckSize(const PageRef& ref, const std::string& where) {
  if (ref.size < kPageHeaderSize || ref.size > kPageHeaderSize + kMaxPagePayload) {
    return Status::Corruption(PageAt(where, ref.offset) + ": impossible size " +
                              std::to_string(ref.size));
  }
  if (InSegment(ref.offset) + ref.size > kSegmentSpan) {
    return Status::Corruption(PageAt(where, ref.offset) + ": straddles two segments");
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<PageLog>> PageLog::Open(Env* env, const std::string& dir) {
  return std::unique_ptr<PageLog>(new PageLog(env, dir));
}

Result<std::shared_ptr<const SegmentFile>> PageLog::OpenFiles(uint32_t segment) const {
  auto seg = std::make_shared<SegmentFile>();
  seg->number = segment;
  // Packed first: where both exist (a crash between prune's rename and its
  // unlink) the packed file is the one read. Twice, for a prune that
  // packs this segment between the two opens.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const std::string packed = PackedPath(segment);
    auto file = env_->NewRandomAccessFile(packed);
    if (file.ok()) {
      seg->path = packed;
      seg->packed = true;
      REVFS_ASSIGN_OR_RETURN(seg->file_size, (*file)->Size());
      REVFS_RETURN_IF_ERROR(ReadPackedTable(**file, packed, segment, &seg->table));
      seg->file = std::move(file).value();
      return std::shared_ptr<const SegmentFile>(std::move(seg));
    }
    if (!file.status().IsNotFound()) return file.status();
    const std::string plain = SegmentPath(segment);
    file = env_->NewRandomAccessFile(plain);
    if (file.ok()) {
      seg->path = plain;
      seg->file = std::move(file).value();
      return std::shared_ptr<const SegmentFile>(std::move(seg));
    }
    if (!file.status().IsNotFound()) return file.status();
  }
  seg->path = SegmentPath(segment);
  return std::shared_ptr<const SegmentFile>(std::move(seg));  // gone
}

Result<std::shared_ptr<const SegmentFile>> PageLog::OpenSegment(uint32_t segment) const {
  {
    ReaderMutexLock lock(&mu_);
    auto it = open_.find(segment);
    if (it != open_.end()) return it->second;
  }
  REVFS_ASSIGN_OR_RETURN(auto seg, OpenFiles(segment));
  WriterMutexLock lock(&mu_);
  // Re-check: another reader may have opened it meanwhile; keep one handle.
  auto [it, added] = open_.emplace(segment, std::move(seg));
  return it->second;
}

void PageLog::Forget(uint32_t segment) {
  WriterMutexLock lock(&mu_);
  open_.erase(segment);
}

void PageLog::Reload() {
  std::map<uint32_t, std::shared_ptr<const SegmentFile>> open;
  {
    ReaderMutexLock lock(&mu_);
    open = open_;
  }
  std::vector<std::pair<uint32_t, const SegmentFile*>> stale;
  for (const auto& [n, seg] : open) {
    bool changed = false;
    if (!seg->file) {
      changed = true;
    } else if (seg->packed) {
      // A re-pack only ever drops pages, so the new file is smaller.
      auto size = env_->GetFileSize(PackedPath(n));
      changed = !size.ok() || *size != seg->file_size;
    } else {
      changed = env_->FileExists(PackedPath(n)) || !env_->FileExists(SegmentPath(n));
    }
    if (changed) stale.emplace_back(n, seg.get());
  }
  WriterMutexLock lock(&mu_);
  for (const auto& [n, seg] : stale) {
    auto it = open_.find(n);
    if (it != open_.end() && it->second.get() == seg) open_.erase(it);
  }
}

Status PageLog::Locate(const PageRef& ref, std::shared_ptr<const SegmentFile>* seg,
                       uint64_t* file_offset) const {
  const uint32_t n = SegmentOf(ref.offset);
  REVFS_RETURN_IF_ERROR(CheckSize(ref, SegmentPath(n)));
  REVFS_ASSIGN_OR_RETURN(*seg, OpenSegment(n));
  const SegmentFile& s = **seg;
  if (!s.file) {
    return Status::Corruption(PageAt(s.path, ref.offset) +
                              " was pruned (the segment is deleted)");
  }
  if (!s.packed) {
    *file_offset = InSegment(ref.offset);
    return Status::OK();
  }
  const PackedEntry* e = s.Find(InSegment(ref.offset));
  if (e == nullptr) {
    return Status::Corruption(PageAt(s.path, ref.offset) + " was pruned");
  }
  if (e->size != ref.size) {
    return Status::Corruption(PageAt(s.path, ref.offset) + ": size " +
                              std::to_string(ref.size) + " referenced, " +
                              std::to_string(e->size) + " stored");
  }
  *file_offset = e->offset;
  return Status::OK();
}

bool PageLog::Contains(const PageRef& ref) const {
  if (ref.IsNull() || !CheckSize(ref, dir_).ok()) return false;
  auto seg = OpenSegment(SegmentOf(ref.offset));
  if (!seg.ok() || !(*seg)->file) return false;
  if (!(*seg)->packed) return true;
  const PackedEntry* e = (*seg)->Find(InSegment(ref.offset));
  return e != nullptr && e->size == ref.size;
}

Status PageLog::Read(const PageRef& ref, char* dst, PageView* out) const {
  std::shared_ptr<const SegmentFile> seg;
  uint64_t at = 0;
  REVFS_RETURN_IF_ERROR(Locate(ref, &seg, &at));
  size_t got = 0;
  REVFS_RETURN_IF_ERROR(seg->file->Read(at, ref.size, dst, &got));
  if (got != ref.size) {
    return Status::Corruption(PageAt(seg->path, ref.offset) + ": past end of file");
  }
  return CheckPage(ref, std::string_view(dst, ref.size), seg->path, out);
}

Status PageLog::ReadUnreferenced(uint64_t address, uint32_t size, char* dst,
                                 PageView* out) const {
  const PageRef probe{address, size, 0};
  std::shared_ptr<const SegmentFile> seg;
  uint64_t at = 0;
  REVFS_RETURN_IF_ERROR(Locate(probe, &seg, &at));
  size_t got = 0;
  REVFS_RETURN_IF_ERROR(seg->file->Read(at, size, dst, &got));
  if (got != size) {
    return Status::Corruption(PageAt(seg->path, address) + ": past end of file");
  }
  const PageRef ref{address, size, DecodeFixed64(dst + 16)};
  return CheckPage(ref, std::string_view(dst, size), seg->path, out);
}

Status PageLog::ReadDirect(const PageRef& ref, char* dst, PageView* out) const {
  std::shared_ptr<const SegmentFile> seg;
  uint64_t at = 0;
  REVFS_RETURN_IF_ERROR(Locate(ref, &seg, &at));
  if (seg->packed) return Read(ref, dst, out);
  constexpr uint64_t a = RandomAccessFile::kDirectAlign;
  const uint64_t start = at / a * a;
  const size_t skip = static_cast<size_t>(at - start);
  size_t got = 0;
  REVFS_RETURN_IF_ERROR(seg->file->ReadDirect(start, DirectSpan(ref), dst, &got));
  if (got < skip + ref.size) {
    return Status::Corruption(PageAt(seg->path, ref.offset) + ": past end of file");
  }
  return CheckPage(ref, std::string_view(dst + skip, ref.size), seg->path, out);
}

Status PageLog::Read(const PageRef& ref, PageKind kind, std::string* buf,
                     PageView* out) const {
  if (ref.size > kPageHeaderSize + kMaxPagePayload) {
    return Status::Corruption(PageAt(SegmentPath(SegmentOf(ref.offset)), ref.offset) +
                              ": impossible size");
  }
  buf->resize(ref.size);
  REVFS_RETURN_IF_ERROR(Read(ref, buf->data(), out));
  if (out->kind != kind) {
    return Status::Corruption(PageAt(SegmentPath(SegmentOf(ref.offset)), ref.offset) +
                              ": expected a " + PageKindName(kind) + " page, found " +
                              PageKindName(out->kind));
  }
  return Status::OK();
}

}  // namespace revfs
