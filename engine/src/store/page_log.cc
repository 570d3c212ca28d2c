#include "store/page_log.h"

#include <string>

namespace revfs {

Result<std::unique_ptr<PageLog>> PageLog::Open(Env* env, const std::string& path) {
  REVFS_ASSIGN_OR_RETURN(auto file, env->NewRandomAccessFile(path));
  return std::unique_ptr<PageLog>(new PageLog(env, path, std::move(file)));
}

Status PageLog::Read(const PageRef& ref, char* dst, PageView* out) const {
  if (ref.size < kPageHeaderSize || ref.size > kPageHeaderSize + kMaxPagePayload) {
    return Status::Corruption(path_ + ": page at offset " +
                              std::to_string(ref.offset) + ": impossible size " +
                              std::to_string(ref.size));
  }
  size_t got = 0;
  REVFS_RETURN_IF_ERROR(file_->Read(ref.offset, ref.size, dst, &got));
  if (got != ref.size) {
    return Status::Corruption(path_ + ": page at offset " +
                              std::to_string(ref.offset) + ": past end of file");
  }
  return CheckPage(ref, std::string_view(dst, ref.size), path_, out);
}

Status PageLog::ReadDirect(const PageRef& ref, char* dst, PageView* out) const {
  if (ref.size < kPageHeaderSize || ref.size > kPageHeaderSize + kMaxPagePayload) {
    return Status::Corruption(path_ + ": page at offset " + std::to_string(ref.offset) +
                              ": impossible size " + std::to_string(ref.size));
  }
  const uint64_t start = ref.offset / RandomAccessFile::kDirectAlign * RandomAccessFile::kDirectAlign;
  const size_t skip = static_cast<size_t>(ref.offset - start);
  size_t got = 0;
  REVFS_RETURN_IF_ERROR(file_->ReadDirect(start, DirectSpan(ref), dst, &got));
  if (got < skip + ref.size) {
    return Status::Corruption(path_ + ": page at offset " + std::to_string(ref.offset) +
                              ": past end of file");
  }
  return CheckPage(ref, std::string_view(dst + skip, ref.size), path_, out);
}

Status PageLog::Read(const PageRef& ref, PageKind kind, std::string* buf,
                     PageView* out) const {
  if (ref.size > kPageHeaderSize + kMaxPagePayload) {
    return Status::Corruption(path_ + ": page at offset " +
                              std::to_string(ref.offset) + ": impossible size");
  }
  buf->resize(ref.size);
  REVFS_RETURN_IF_ERROR(Read(ref, buf->data(), out));
  if (out->kind != kind) {
    return Status::Corruption(path_ + ": page at offset " +
                              std::to_string(ref.offset) + ": expected a " +
                              PageKindName(kind) + " page, found " +
                              PageKindName(out->kind));
  }
  return Status::OK();
}

Status PageLog::ResetForAppend(uint64_t committed_end) {
  writer_.reset();
  REVFS_ASSIGN_OR_RETURN(uint64_t size, env_->GetFileSize(path_));
  if (size < committed_end) {
    return Status::Corruption(path_ + ": shorter (" + std::to_string(size) +
                              " bytes) than its committed end " +
                              std::to_string(committed_end));
  }
  if (size > committed_end) REVFS_RETURN_IF_ERROR(env_->Truncate(path_, committed_end));
  REVFS_ASSIGN_OR_RETURN(writer_, env_->NewAppendableFile(path_));
  return Status::OK();
}

Result<PageRef> PageLog::Append(PageKind kind, std::string_view payload) {
  if (!writer_) return Status::InvalidArgument(path_ + ": not open for appending");
  if (payload.size() > kMaxPagePayload) {
    return Status::InvalidArgument(path_ + ": page payload of " +
                                   std::to_string(payload.size()) +
                                   " bytes exceeds the maximum");
  }
  PageRef ref;
  ref.offset = writer_->Size();
  std::string page = EncodePage(kind, payload, &ref.hash);
  ref.size = static_cast<uint32_t>(page.size());
  REVFS_RETURN_IF_ERROR(writer_->Append(page));
  return ref;
}

Status PageLog::Sync() {
  if (!writer_) return Status::InvalidArgument(path_ + ": not open for appending");
  return writer_->Sync();
}

}  // namespace revfs
