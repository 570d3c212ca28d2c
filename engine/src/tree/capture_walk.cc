#include "tree/capture_walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "revfs/time_util.h"
#include "records/record_page.h"
#include "tree/sorted_map.h"
#include "tree/xattr_blob.h"
#include "util/fd.h"

namespace revfs {
namespace {

// Saturates instead of overflowing for times int64 nanoseconds cannot hold.
int64_t Nanos(const struct timespec& ts) { return NanosFromTimespec(ts); }

}  // namespace

TreeCapture::TreeCapture(Database& db, WriteTrx& trx, const CaptureOptions& options,
                         TreeMeta meta, CaptureSummary* summary)
    : db_(db),
      trx_(trx),
      base_(trx.base()),
      options_(options),
      meta_(meta),
      summary_(summary),
      start_(std::chrono::steady_clock::now()),
      exclude_(options.exclude),
      partial_(options.changed.has_value()),
      pipeline_(db, trx, &summary->content, &summary->bytes_read, [this] { Progress(); }) {}

Status TreeCapture::Skip(const std::string& path, const Status& why) {
  ++summary_->skipped;
  if (options_.on_skip) options_.on_skip(path, why);
  return Status::OK();
}

Status TreeCapture::SkipErrno(const std::string& path, int err) {
  return Skip(path, Status::FromErrno(err, path));
}

void TreeCapture::Progress() {
  if (!options_.on_progress) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_progress_ < std::chrono::milliseconds(500)) return;
  last_progress_ = now;
  CaptureProgress p;
  p.files = summary_->files + summary_->directories + summary_->others;
  p.bytes_read = summary_->bytes_read;
  p.seconds = std::chrono::duration<double>(now - start_).count();
  options_.on_progress(p);
}

std::optional<Inode> TreeCapture::OldInode(const std::optional<DirEntry>& entry) {
  if (!entry) return std::nullopt;
  auto inode = GetInode(base_, entry->ino);
  if (!inode.ok()) return std::nullopt;  // damaged history: record afresh
  return std::move(inode).value();
}

Status TreeCapture::Run(const std::string& source) {
  UniqueFd fd(::open(source.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOTDIR) return Status::InvalidArgument(source + ": not a directory");
    return Status::FromErrno(errno, source);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, source);
  std::optional<Inode> old;
  if (base_.revision() > 0) old = OldInode(DirEntry{kRootIno, FileType::kDirectory, {}});
  used_.insert(kRootIno);
  source_len_ = source.size();
  ++summary_->entries_stated;
  child_scope_ = ChildScope(Scope::kAncestor, "");
  std::optional<DirEntry> root;
  REVFS_RETURN_IF_ERROR(ProcessDir(fd.get(), source, st, kRootIno,
                                   old && old->type == FileType::kDirectory ? &*old : nullptr,
                                   &root));
  summary_->bytes_in_flight_peak = pipeline_.peak_in_flight();
  if (!root) return Status::IOError(source + ": could not be recorded");
  return RemoveUnused();
}

Status TreeCapture::ProcessEntry(int dirfd, const std::string& path, const Listed& listed,
                                 const std::optional<DirEntry>& old_entry,
                                 std::optional<DirEntry>* out, std::vector<PendingFile>* pending,
                                 size_t entry) {
  const std::string& name = listed.name;
  if (listed.err != 0) return SkipErrno(path, listed.err);
  const struct stat& st = listed.st;
  auto type = FileTypeOf(st.st_mode);
  if (!type) return Skip(path, Status::NotSupported(path + ": unknown file type"));
  const auto link_key = std::make_pair(static_cast<uint64_t>(st.st_dev),
                                       static_cast<uint64_t>(st.st_ino));
  const bool linked = *type != FileType::kDirectory && st.st_nlink > 1;
  if (linked) {
    auto it = hardlinks_.find(link_key);
    if (it != hardlinks_.end()) {  // another name of a file recorded already
      *out = it->second;
      return Status::OK();
    }
  }
  std::optional<Inode> old = OldInode(old_entry);
  uint64_t ino;
  if (old && old->type == *type && !used_.count(old_entry->ino)) {
    ino = old_entry->ino;
  } else {
    if (old_entry) removed_.push_back(old_entry->ino);
    old.reset();
    ino = TakeInodeNumber(&meta_);
  }
  switch (*type) {
    case FileType::kDirectory: {
      UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (fd.get() < 0) return SkipErrno(path, errno);
      REVFS_RETURN_IF_ERROR(ProcessDir(fd.get(), path, st, ino, old ? &*old : nullptr, out));
      break;
    }
    case FileType::kRegular:
      // A hard-linked file is finished at once: its other names need its
      // identity.
      REVFS_RETURN_IF_ERROR(ProcessFile(dirfd, name, path, st, ino, old ? &*old : nullptr, out,
                                        linked ? nullptr : pending, entry));
      break;
    default:
      REVFS_RETURN_IF_ERROR(
          ProcessOther(dirfd, name, path, st, ino, *type, old ? &*old : nullptr, out));
      break;
  }
  if (*out) {
    used_.insert(ino);
    if (linked) hardlinks_[link_key] = **out;
  } else if (old) {
    removed_.push_back(ino);  // skipped: the old version goes with it
  }
  Progress();
  return Status::OK();
}

Status TreeCapture::ProcessDir(int fd, const std::string& path, const struct stat& st,
                               uint64_t ino, const Inode* old, std::optional<DirEntry>* out) {
  Scope scope = child_scope_;
  if (scope == Scope::kReuse && old && SameDirMetadata(*old, st)) {
    ++summary_->directories_reused;
    *out = DirEntry{ino, FileType::kDirectory, old->identity};
    return Status::OK();
  }
  const std::string rel = RelPath(path);
  Entries old_entries;
  if (old) {
    REVFS_RETURN_IF_ERROR(ListDirectory(base_, *old, "", [&](std::string_view n, const DirEntry& e) {
      old_entries.emplace_back(std::string(n), e);
      return true;
    }));
  }
  std::vector<Listed> names;
  bool listed_ok = false;
  REVFS_RETURN_IF_ERROR(ListNames(fd, path, rel, scope, old, st, old_entries, &names, &listed_ok));
  if (!listed_ok) return Status::OK();  // skipped
  if (scope == Scope::kAncestor || scope == Scope::kReuse) {
    // Not seen changing: its names must be the base revision's, else it
    // changed after all.
    bool same = names.size() == old_entries.size();
    for (size_t i = 0; same && i < names.size(); ++i) same = names[i].name == old_entries[i].first;
    scope = same ? Scope::kAncestor : Scope::kChanged;
  }
  if (scope == Scope::kAncestor) {
    // Names equal the base's (checked above): entry i is old entry i. An
    // entry nothing was reported for is reused as it is, unexamined.
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string child_rel = rel.empty() ? names[i].name : rel + "/" + names[i].name;
      names[i].reuse = !Above(child_rel) && !options_.changed->dirs.count(child_rel) &&
                       !options_.changed->subtrees.count(child_rel) &&
                       !options_.changed->entries.count(child_rel);
    }
  }
  StatListed(fd, &names);

  Entries entries;
  entries.reserve(names.size());
  std::vector<PendingFile> pending;
  size_t j = 0;
  for (const Listed& listed : names) {
    const std::string& name = listed.name;
    while (j < old_entries.size() && old_entries[j].first < name) {
      removed_.push_back(old_entries[j++].second.ino);  // gone from the source
    }
    std::optional<DirEntry> old_entry;
    if (j < old_entries.size() && old_entries[j].first == name) old_entry = old_entries[j++].second;
    const std::string child_rel = rel.empty() ? name : rel + "/" + name;
    std::optional<DirEntry> child;
    if (listed.reuse) {
      child = old_entry;  // not changed: its base entry, unexamined
      if (old_entry->type == FileType::kDirectory) ++summary_->directories_reused;
    } else {
      child_scope_ = partial_ ? ChildScope(scope, child_rel) : Scope::kAll;
      ++summary_->entries_stated;
      const uint64_t unchanged = summary_->unchanged;
      REVFS_RETURN_IF_ERROR(
          ProcessEntry(fd, path + "/" + name, listed, old_entry, &child, &pending, entries.size()));
      // A file taken unread keeps its record: right under every name.
      if (partial_ && summary_->unchanged == unchanged) {
        REVFS_RETURN_IF_ERROR(CheckLinks(path + "/" + name, old_entry, child));
      }
    }
    if (child) entries.emplace_back(name, *child);
    if (pipeline_.in_flight() > pipeline_.max_in_flight()) {
      REVFS_RETURN_IF_ERROR(Drain(&pending, &entries, pipeline_.max_in_flight() / 2));
    }
  }
  for (; j < old_entries.size(); ++j) removed_.push_back(old_entries[j].second.ino);
  REVFS_RETURN_IF_ERROR(Drain(&pending, &entries, 0));
  std::erase_if(entries, [](const auto& e) { return e.second.ino == 0; });

  SortedMapWriter writer(&trx_, kMapBlockBase, [this] { return TakeBlockId(&meta_); },
                         old ? old->map : MapRoot{});
  for (const auto& [name, e] : entries) REVFS_RETURN_IF_ERROR(writer.Add(name, EncodeDirEntry(e)));
  Inode inode;
  REVFS_ASSIGN_OR_RETURN(inode.map, writer.Finish());
  FillMetadata(st, FileType::kDirectory, &inode);
  ReadXattrs(path, &inode);
  inode.identity = ComputeIdentity(inode, inode.map.hash);
  bool recorded = false;
  REVFS_RETURN_IF_ERROR(WriteInode(ino, &inode, path, &recorded));
  if (!recorded) return Status::OK();
  ++summary_->directories;
  *out = DirEntry{ino, FileType::kDirectory, inode.identity};
  return Status::OK();
}

Status TreeCapture::ProcessFile(int dirfd, const std::string& name, const std::string& path,
                                const struct stat& st, uint64_t ino, const Inode* old,
                                std::optional<DirEntry>* out, std::vector<PendingFile>* pending,
                                size_t entry) {
  if (old && !options_.full_scan && old->src_ino == static_cast<uint64_t>(st.st_ino) &&
      old->src_dev == static_cast<uint64_t>(st.st_dev) &&
      old->size == static_cast<uint64_t>(st.st_size) && old->mtime_ns == Nanos(st.st_mtim) &&
      old->ctime_ns == Nanos(st.st_ctim)) {
    ++summary_->unchanged;
    ++summary_->files;
    *out = DirEntry{ino, FileType::kRegular, old->identity};
    return Status::OK();
  }
  PendingFile file;
  file.ino = ino;
  file.path = path;
  file.old_chunk_map = old ? old->map : MapRoot{};
  file.entry = entry;
  if (pending && pipeline_.IsSmall(st)) {  // read on a worker
    SmallFile small;
    small.name = name;
    small.st = st;
    if (old && !old->chunks.empty() && old->chunks.front().offset == 0 &&
        !old->chunks.front().hole) {
      small.old = old->chunks.front();
    }
    const std::string_view dir(path.data(), path.size() - name.size() - 1);
    file.small = pipeline_.AddSmall(std::move(small), dirfd, dir);
    *out = DirEntry{ino, FileType::kRegular, {}};  // completed by Drain
    pending->push_back(std::move(file));
    return Status::OK();
  }
  bool read = false;
  REVFS_RETURN_IF_ERROR(ReadInWriter(dirfd, name, path, old ? old->chunks : std::vector<ChunkRef>(),
                                     &file, &read));
  if (!read) return Status::OK();  // skipped
  if (pending) {
    *out = DirEntry{ino, FileType::kRegular, {}};  // completed by Drain
    pending->push_back(std::move(file));
    return Status::OK();
  }
  REVFS_ASSIGN_OR_RETURN(*out, FinishFile(file));
  return Status::OK();
}

Status TreeCapture::ReadInWriter(int dirfd, const std::string& name, const std::string& path,
                                 const std::vector<ChunkRef>& old_chunks, PendingFile* file,
                                 bool* read) {
  int fdnum = ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
  if (fdnum < 0 && errno == EPERM) fdnum = ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  UniqueFd fd(fdnum);
  if (fd.get() < 0) return SkipErrno(path, errno);
  // Whatever was read goes when the file is skipped.
  auto skip = [&](const Status& why) {
    pipeline_.Drop(&file->slots);
    return Skip(path, why);
  };
  struct stat after;
  for (int attempt = 0;; ++attempt) {
    struct stat before;
    if (::fstat(fd.get(), &before) != 0) return skip(Status::FromErrno(errno, path));
    pipeline_.Drop(&file->slots);  // a torn attempt: drop what it read
    Status source_error;
    REVFS_RETURN_IF_ERROR(pipeline_.ReadFile(fd.get(), static_cast<uint64_t>(before.st_size),
                                             old_chunks, &file->slots, &source_error));
    if (!source_error.ok()) return skip(source_error.WithContext(path));
    if (auto& hook = ChunkPipeline::test_hooks().after_read) hook(fd.get(), attempt);
    if (::fstat(fd.get(), &after) != 0) return skip(Status::FromErrno(errno, path));
    if (after.st_size == before.st_size && Nanos(after.st_mtim) == Nanos(before.st_mtim)) break;
    if (attempt == 2) return skip(Status::Aborted(path + ": changed while being read (3 tries)"));
  }
  FillMetadata(after, FileType::kRegular, &file->inode);
  ReadXattrs(path, &file->inode);
  *read = true;
  return Status::OK();
}

Result<std::optional<DirEntry>> TreeCapture::FinishFile(PendingFile& file) {
  Inode& inode = file.inode;
  if (file.small) {
    REVFS_ASSIGN_OR_RETURN(SmallFile* f, pipeline_.FinishSmall(*file.small, &inode.chunks));
    if (f->error_errno != 0) {
      REVFS_RETURN_IF_ERROR(SkipErrno(file.path, f->error_errno));
      return std::optional<DirEntry>();
    }
    if (!f->source_error.ok()) {
      REVFS_RETURN_IF_ERROR(Skip(file.path, f->source_error.WithContext(file.path)));
      return std::optional<DirEntry>();
    }
    if (f->redo) {  // grew while read: read it here, like a big file
      std::vector<ChunkRef> old_chunks;
      if (f->old) old_chunks.push_back(*f->old);
      bool read = false;
      REVFS_RETURN_IF_ERROR(ReadInWriter(f->dir->get(), f->name, file.path, old_chunks, &file, &read));
      if (!read) return std::optional<DirEntry>();
    } else {
      FillMetadata(f->after, FileType::kRegular, &inode);
      inode.xattrs = std::move(f->xattrs);
      if (f->xattr_errno != 0) ReportXattrError(file.path, f->xattr_errno);
    }
    file.small.reset();
  }
  REVFS_RETURN_IF_ERROR(pipeline_.Store(&file.slots, &inode.chunks));
  Hasher content;
  for (const ChunkRef& c : inode.chunks) {
    content.UpdateU64(c.offset);
    content.UpdateU64(c.length);
    content.UpdateU64(c.hole);
    content.Update(c.hash);
  }
  if (inode.chunks.size() > kInlineChunks) {
    SortedMapWriter writer(&trx_, kMapBlockBase, [this] { return TakeBlockId(&meta_); },
                           file.old_chunk_map);
    std::string value;
    for (const ChunkRef& c : inode.chunks) {
      value.clear();
      EncodeChunkRef(&value, c);
      REVFS_RETURN_IF_ERROR(writer.Add(OffsetKey(c.offset), value));
    }
    REVFS_ASSIGN_OR_RETURN(inode.map, writer.Finish());
    inode.chunks.clear();
  } else {
    REVFS_RETURN_IF_ERROR(DeleteMap(file.old_chunk_map));  // was long, is short now
  }
  inode.identity = ComputeIdentity(inode, content.Digest());
  bool recorded = false;
  REVFS_RETURN_IF_ERROR(WriteInode(file.ino, &inode, file.path, &recorded));
  if (!recorded) return std::optional<DirEntry>();
  ++summary_->files;
  Progress();
  return std::optional<DirEntry>(DirEntry{file.ino, FileType::kRegular, inode.identity});
}

Status TreeCapture::Drain(std::vector<PendingFile>* pending, Entries* entries, uint64_t keep) {
  size_t done = 0;
  for (; done < pending->size() && (keep == 0 || pipeline_.in_flight() > keep); ++done) {
    PendingFile& file = (*pending)[done];
    REVFS_ASSIGN_OR_RETURN(std::optional<DirEntry> e, FinishFile(file));
    if (e) {
      (*entries)[file.entry].second = *e;
    } else {  // could not be recorded after all
      (*entries)[file.entry].second.ino = 0;
      used_.erase(file.ino);
      removed_.push_back(file.ino);
    }
  }
  pending->erase(pending->begin(), pending->begin() + static_cast<ptrdiff_t>(done));
  return Status::OK();
}

Status TreeCapture::ProcessOther(int dirfd, const std::string& name, const std::string& path,
                                 const struct stat& st, uint64_t ino, FileType type,
                                 const Inode* old, std::optional<DirEntry>* out) {
  Inode inode;
  FillMetadata(st, type, &inode);
  if (type == FileType::kSymlink) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
    if (n < 0) return SkipErrno(path, errno);
    if (static_cast<size_t>(n) >= target.size()) {
      return Skip(path, Status::Aborted(path + ": symlink changed while being read"));
    }
    target.resize(static_cast<size_t>(n));
    inode.symlink = std::move(target);
  }
  ReadXattrs(path, &inode);
  inode.identity = ComputeIdentity(inode, Digest256{});
  bool recorded = false;
  REVFS_RETURN_IF_ERROR(WriteInode(ino, &inode, path, &recorded));
  if (!recorded) return Status::OK();
  ++summary_->others;
  *out = DirEntry{ino, type, inode.identity};
  return Status::OK();
}

void TreeCapture::FillMetadata(const struct stat& st, FileType type, Inode* inode) {
  inode->type = type;
  inode->mode = st.st_mode;
  inode->uid = st.st_uid;
  inode->gid = st.st_gid;
  inode->nlink = static_cast<uint32_t>(st.st_nlink);
  inode->rdev = st.st_rdev;
  inode->size = type == FileType::kDirectory ? 0 : static_cast<uint64_t>(st.st_size);
  inode->atime_ns = Nanos(st.st_atim);
  inode->mtime_ns = Nanos(st.st_mtim);
  inode->ctime_ns = Nanos(st.st_ctim);
  inode->src_dev = st.st_dev;
  inode->src_ino = st.st_ino;
}

void TreeCapture::ReadXattrs(const std::string& path, Inode* inode) {
  if (const int err = ReadPathXattrs(path, &inode->xattrs); err != 0) ReportXattrError(path, err);
}

void TreeCapture::ReportXattrError(const std::string& path, int err) {
  // Recorded all the same (without them), as a stat-able entry is worth
  // more than none; reported so that the loss is seen.
  (void)Skip(path, Status::FromErrno(err, path + ": extended attributes unreadable; recorded "
                                                 "without them"));
}

Status TreeCapture::WriteInode(uint64_t ino, Inode* inode, const std::string& path,
                               bool* recorded) {
  std::string bytes = EncodeInode(*inode);
  REVFS_ASSIGN_OR_RETURN(auto existing, base_.Get(kInodeBase | ino));
  // The base version's attribute blob map: reused by a new blob map, else
  // deleted.
  MapRoot old_blob_map;
  if (existing && existing->value() != bytes) {
    auto old = DecodeInode(existing->value());
    if (old.ok() && old->xattr_blob) old_blob_map = old->xattr_blob->map;
  }
  if (bytes.size() > kMaxRecordValue && !inode->xattrs.empty()) {
    REVFS_ASSIGN_OR_RETURN(
        inode->xattr_blob,
        StoreXattrBlob(trx_, db_, inode->xattrs, old_blob_map,
                       [this] { return TakeBlockId(&meta_); }, &summary_->content));
    inode->xattrs.clear();
    if (!inode->xattr_blob->map.empty()) old_blob_map = MapRoot{};  // reused or deleted
    bytes = EncodeInode(*inode);
  }
  if (bytes.size() > kMaxRecordValue) {
    return Skip(path, Status::NotSupported(path + ": metadata too large to record"));
  }
  REVFS_RETURN_IF_ERROR(DeleteMap(old_blob_map));
  *recorded = true;
  if (existing && existing->value() == bytes) return Status::OK();
  return trx_.Put(kInodeBase | ino, bytes);
}

Status TreeCapture::DeleteMap(const MapRoot& root) {
  Status deleted;
  REVFS_RETURN_IF_ERROR(MapBlocks(base_, kMapBlockBase, root, [&](uint64_t id) {
    if (deleted.ok()) deleted = trx_.Delete(kMapBlockBase | id);
  }));
  return deleted;
}

Status TreeCapture::RemoveUnused() {
  std::unordered_set<uint64_t> done;
  while (!removed_.empty()) {
    uint64_t ino = removed_.back();
    removed_.pop_back();
    if (used_.count(ino) || !done.insert(ino).second) continue;
    auto inode = GetInode(base_, ino);
    if (!inode.ok()) continue;  // already gone or damaged: nothing to reclaim
    if (partial_ && inode->type != FileType::kDirectory && inode->nlink > 1) {
      return NeedFullWalk("a removed file had several hard links");
    }
    if (inode->type == FileType::kDirectory) {
      REVFS_RETURN_IF_ERROR(ListDirectory(base_, *inode, "", [&](std::string_view, const DirEntry& e) {
        removed_.push_back(e.ino);
        return true;
      }));
    }
    REVFS_RETURN_IF_ERROR(DeleteMap(inode->map));
    if (inode->xattr_blob) REVFS_RETURN_IF_ERROR(DeleteMap(inode->xattr_blob->map));
    REVFS_RETURN_IF_ERROR(trx_.Delete(kInodeBase | ino));
  }
  return Status::OK();
}

}  // namespace revfs
