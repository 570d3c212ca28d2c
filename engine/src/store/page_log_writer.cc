// PageLog: the writer's side — where appends resume after open or a failed
// commit, and rolling to a new segment file.
#include <string>
#include <vector>

#include "store/page_log.h"

namespace revfs {

Status PageLog::ResetForAppend(uint64_t committed_end, uint64_t segment_size) {
  writer_.reset();
  if (committed_end == 0) return Status::Corruption(dir_ + ": no committed page");
  // The last committed page ends at committed_end; a segment filled to its
  // very end (2^40 bytes) leaves committed_end at the next segment's base.
  const uint32_t last = SegmentOf(committed_end - 1);
  const uint64_t end = committed_end - SegmentBase(last);
  REVFS_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->GetChildren(dir_));
  bool removed = false;
  for (const std::string& name : names) {
    uint32_t n = 0;
    SegmentFileKind kind;
    if (!ParseSegmentName(name, &n, &kind)) continue;
    // Past the committed end: left by a commit that crashed before its
    // superblock; a temporary file: left by a prune that crashed.
    if (n > last || kind == SegmentFileKind::kTemp) {
      REVFS_RETURN_IF_ERROR(env_->RemoveFile(dir_ + "/" + name));
      Forget(n);
      removed = true;
    }
  }
  if (removed) REVFS_RETURN_IF_ERROR(env_->SyncDir(dir_));
  const std::string path = SegmentPath(last);
  REVFS_ASSIGN_OR_RETURN(uint64_t size, env_->GetFileSize(path));
  if (size < end) {
    return Status::Corruption(path + ": shorter (" + std::to_string(size) +
                              " bytes) than its committed end " + std::to_string(end));
  }
  if (size > end) REVFS_RETURN_IF_ERROR(env_->Truncate(path, end));
  REVFS_ASSIGN_OR_RETURN(writer_, env_->NewAppendableFile(path));
  append_segment_ = last;
  segment_size_ = segment_size;
  roll_next_ = false;
  return Status::OK();
}

Result<PageRef> PageLog::Append(PageKind kind, std::string_view payload) {
  if (!writer_) return Status::InvalidArgument(dir_ + ": not open for appending");
  if (payload.size() > kMaxPagePayload) {
    return Status::InvalidArgument(dir_ + ": page payload of " +
                                   std::to_string(payload.size()) +
                                   " bytes exceeds the maximum");
  }
  PageRef ref;
  std::string page = EncodePage(kind, payload, &ref.hash);
  ref.size = static_cast<uint32_t>(page.size());
  const uint64_t used = writer_->Size();
  if (used > 0 && (roll_next_ || used + page.size() > segment_size_ ||
                   used + page.size() > kSegmentSpan)) {
    // Roll over: the pages of the full segment are made durable now (its
    // writer is closed), the new file's name at the next Sync.
    REVFS_RETURN_IF_ERROR(writer_->Sync());
    REVFS_RETURN_IF_ERROR(writer_->Close());
    writer_.reset();
    const uint32_t next = append_segment_ + 1;
    const std::string path = SegmentPath(next);
    // A file of that number can only be a leftover of a failed commit.
    if (env_->FileExists(path)) REVFS_RETURN_IF_ERROR(env_->Truncate(path, 0));
    // On failure no writer is left open: the commit fails, and the next
    // one starts with ResetForAppend from the committed end.
    REVFS_ASSIGN_OR_RETURN(writer_, env_->NewAppendableFile(path));
    append_segment_ = next;
    roll_next_ = false;
    dir_dirty_ = true;
    Forget(next);
  }
  ref.offset = SegmentBase(append_segment_) + writer_->Size();
  REVFS_RETURN_IF_ERROR(writer_->Append(page));
  return ref;
}

Status PageLog::Sync() {
  if (!writer_) return Status::InvalidArgument(dir_ + ": not open for appending");
  REVFS_RETURN_IF_ERROR(writer_->Sync());
  if (dir_dirty_) {
    REVFS_RETURN_IF_ERROR(env_->SyncDir(dir_));
    dir_dirty_ = false;
  }
  return Status::OK();
}

}  // namespace revfs
