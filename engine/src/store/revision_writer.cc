// Store: the atomic commit. Order of durability, which crash safety rests on:
//   1. the commit's pages and its revision root are appended, then fdatasync;
//   2. the revisions-index entry is appended, then fdatasync;
//   3. the next superblock slot is written, then fdatasync.
// Until step 3 is durable, Open picks the previous slot, whose ends exclude
// everything this commit appended.
#include "store/revision_writer.h"

#include "revfs/store.h"
#include "store/page_log.h"
#include "store/store_files.h"
#include "store/store_state.h"

namespace revfs {

Status Store::PrepareAppend() {
  Superblock sb = superblock();
  REVFS_RETURN_IF_ERROR(pages_->ResetForAppend(sb.pages_end, sb.config.segment_size));
  index_writer_.reset();
  const std::string index_path = StoreIndexPath(path_);
  REVFS_ASSIGN_OR_RETURN(uint64_t index_size, env_->GetFileSize(index_path));
  if (index_size > sb.index_end) {
    REVFS_RETURN_IF_ERROR(env_->Truncate(index_path, sb.index_end));
  }
  REVFS_ASSIGN_OR_RETURN(index_writer_, env_->NewAppendableFile(index_path));
  dirty_ = false;
  return Status::OK();
}

Result<std::unique_ptr<RevisionWriter>> Store::BeginRevision() {
  if (!lock_) return Status::ReadOnly(path_ + ": store was opened read-only");
  if (writer_open_) return Status::Busy(path_ + ": a commit is already in progress");
  if (dirty_ || !index_writer_) REVFS_RETURN_IF_ERROR(PrepareAppend());
  writer_open_ = true;
  dirty_ = true;
  return std::unique_ptr<RevisionWriter>(new RevisionWriter(this, latest_revision() + 1));
}

RevisionWriter::~RevisionWriter() { store_->writer_open_ = false; }

Result<PageRef> RevisionWriter::AppendPage(PageKind kind, std::string_view payload) {
  if (finished_) return Status::InvalidArgument("commit already finished");
  REVFS_ASSIGN_OR_RETURN(PageRef ref, store_->pages_->Append(kind, payload));
  ++pages_written_;
  bytes_written_ += ref.size;
  if (kind == PageKind::kChunk) chunk_bytes_ += ref.size;
  return ref;
}

Result<PageRef> RevisionWriter::AppendRoot(const RevisionRoot& root) {
  if (finished_ || !rewrite_) return Status::InvalidArgument("not a rewrite in progress");
  return AppendPage(PageKind::kRevisionRoot, EncodeRevisionRoot(root));
}

Result<uint64_t> RevisionWriter::Finish(
    int64_t time_ns, std::string message, PageRef trie_root,
    std::vector<std::pair<std::string, uint64_t>> counters, uint32_t trie_height) {
  if (finished_) return Status::InvalidArgument("commit already finished");
  if (rewrite_) return Status::InvalidArgument("a rewrite has no revision to finish");
  RevisionRoot root;
  root.number = revision_;
  root.time_ns = time_ns;
  root.message = std::move(message);
  root.trie_root = trie_root;
  root.trie_height = trie_height;
  root.counters = std::move(counters);
  root.counters.emplace_back("pages_written", pages_written_);
  root.counters.emplace_back("bytes_written", bytes_written_);
  root.counters.emplace_back("bytes_chunks", chunk_bytes_);
  REVFS_ASSIGN_OR_RETURN(uint64_t rev, store_->FinishRevision(this, std::move(root)));
  finished_ = true;
  return rev;
}

Result<uint64_t> Store::FinishRevision(RevisionWriter* commit, RevisionRoot root) {
  Superblock prev = superblock();
  REVFS_ASSIGN_OR_RETURN(RevisionEntry prev_entry, GetRevision(prev.latest_revision));
  if (root.time_ns < prev_entry.time_ns) {
    return Status::InvalidArgument(
        "commit time is earlier than revision " +
        std::to_string(prev.latest_revision) + "'s; times must not go backwards");
  }
  REVFS_ASSIGN_OR_RETURN(PageRef root_ref,
                         pages_->Append(PageKind::kRevisionRoot, EncodeRevisionRoot(root)));
  REVFS_RETURN_IF_ERROR(pages_->Sync());

  RevisionEntry entry{root.number, root.time_ns, root_ref};
  REVFS_RETURN_IF_ERROR(index_writer_->Append(EncodeRevisionEntry(entry)));
  REVFS_RETURN_IF_ERROR(index_writer_->Sync());

  Superblock next = prev;
  next.generation = prev.generation + 1;
  next.latest_revision = root.number;
  next.pages_end = pages_->append_end();
  next.index_end = prev.index_end + kRevisionEntrySize;
  next.latest_root = root_ref;
  REVFS_RETURN_IF_ERROR(WriteSuperblock(next));

  WriterMutexLock lock(&state_->mu);
  // A reader's Refresh may have loaded this revision from disk since the
  // superblock was written: adding it again would shift every later one.
  if (next.generation > state_->sb.generation) {
    state_->sb = next;
    state_->index.push_back(entry);
    state_->index_damaged.push_back(false);
  }
  dirty_ = false;
  return root.number;
}

Status Store::WriteSuperblock(const Superblock& next) {
  const uint64_t offset = (next.generation % kSuperblockSlots) * kSuperblockSlotSize;
  std::string old(kSuperblockSlotSize, '\0');
  size_t got = 0;
  REVFS_RETURN_IF_ERROR(superblock_reader_->Read(offset, old.size(), old.data(), &got));
  old.resize(got);
  Status s = superblock_writer_->Write(offset, EncodeSuperblock(next));
  if (s.ok()) s = superblock_writer_->Sync();
  if (!s.ok()) {
    // The slot may now hold the new generation in the page cache although
    // the commit failed; put the old image back so that no reader (and no
    // later open) sees a revision that was reported as failed.
    if (superblock_writer_->Write(offset, old).ok()) (void)superblock_writer_->Sync();
  }
  return s;
}

}  // namespace revfs
