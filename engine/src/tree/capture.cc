// Snapshots, the writing side: CaptureTree walks a source directory and
// records it as the next revision, reusing whatever did not change.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "content/chunker.h"
#include "env/env.h"
#include "records/record_page.h"
#include "revfs/time_util.h"
#include "revfs/tree.h"
#include "tree/file_chunks.h"
#include "tree/sorted_map.h"
#include "tree/worker_pool.h"
#include "util/fd.h"
#include "util/hash.h"

namespace revfs {
namespace {

// Saturates instead of overflowing for times int64 nanoseconds cannot hold.
int64_t Nanos(const struct timespec& ts) { return NanosFromTimespec(ts); }

struct PairHash {
  size_t operator()(const std::pair<uint64_t, uint64_t>& p) const {
    return std::hash<uint64_t>()(p.first * 0x9E3779B97F4A7C15ull ^ p.second);
  }
};

constexpr uint32_t kMaxHolePiece = 1u << 30;

class TreeCapture {
 public:
  TreeCapture(Database& rs, WriteTrx& trx, const CaptureOptions& options, TreeMeta meta)
      : rs_(rs),
        trx_(trx),
        base_(trx.base()),
        options_(options),
        meta_(meta),
        chunker_(ChunkerParams{}),
        start_(std::chrono::steady_clock::now()) {}

  Status Run(const std::string& source, CaptureSummary* summary);
  const TreeMeta& meta() const { return meta_; }

 private:
  // Reports `path` as skipped. Returns OK: a source problem never fails the
  // commit.
  Status Skip(const std::string& path, const Status& why) {
    ++summary_->skipped;
    if (options_.on_skip) options_.on_skip(path, why);
    return Status::OK();
  }
  Status SkipErrno(const std::string& path, int err) {
    return Skip(path, Status::FromErrno(err, path));
  }
  uint64_t NextNode() { return meta_.next_node++; }
  void Progress();

  // A chunk being hashed and compressed on a worker, or a hole.
  struct ChunkSlot {
    ChunkRef ref;
    std::future<PreparedChunk> job;
    bool stored = false;  // ref is final (holes are, always)
  };
  // A file read and cut, whose chunks are still being prepared.
  struct PendingFile {
    uint64_t ino = 0;
    std::string path;
    Inode inode;  // metadata filled in
    TreeRoot old_tree;
    std::vector<ChunkSlot> slots;
    size_t entry = 0;  // its index in the directory's entries
  };

  std::optional<Inode> OldInode(const std::optional<DirEntry>& entry);
  // `pending`, when given, may take a regular file to finish later (at
  // `entry` of the directory's entries); `*out` is then a placeholder.
  Status ProcessEntry(int dirfd, const std::string& path, const std::string& name,
                      const std::optional<DirEntry>& old_entry, std::optional<DirEntry>* out,
                      std::vector<PendingFile>* pending, size_t entry);
  // Stores a pending file's chunks and records its inode.
  Result<std::optional<DirEntry>> FinishFile(PendingFile& file);
  // Finishes pending files, oldest first, until at most `keep` bytes wait.
  Status Drain(std::vector<PendingFile>* pending,
               std::vector<std::pair<std::string, DirEntry>>* entries, uint64_t keep);
  Status ProcessDir(int fd, const std::string& path, const struct stat& st, uint64_t ino,
                    const Inode* old, std::optional<DirEntry>* out);
  Status ProcessFile(int dirfd, const std::string& name, const std::string& path,
                     const struct stat& st, uint64_t ino, const Inode* old,
                     std::optional<DirEntry>* out, std::vector<PendingFile>* pending,
                     size_t entry);
  Status ProcessOther(int dirfd, const std::string& name, const std::string& path,
                      const struct stat& st, uint64_t ino, FileType type,
                      const Inode* old, std::optional<DirEntry>* out);
  // Reads a file and cuts it into chunks, handed to the workers; a source
  // error goes to *source_error.
  // `old` lists the chunks of the file's previous version (inline lists
  // only), each new chunk is compressed against the one at its offset.
  Status ReadContent(int fd, uint64_t size, const std::vector<ChunkRef>& old,
                     std::vector<ChunkSlot>* slots, Status* source_error);
  Status ReadRegion(int fd, uint64_t start, uint64_t end, const std::vector<ChunkRef>& old,
                    std::vector<ChunkSlot>* slots, Status* source_error);
  // Waits for a slot's chunk and stores it (writer thread).
  Status StoreSlot(ChunkSlot& slot);
  void FillMetadata(const struct stat& st, FileType type, Inode* inode);
  void ReadXattrs(const std::string& path, Inode* inode);
  // Writes `inode` unless the stored record already has these bytes.
  Status WriteInode(uint64_t ino, Inode* inode, const std::string& path, bool* recorded);
  Status RemoveUnused();

  Database& rs_;
  WriteTrx& trx_;
  ReadTrx& base_;
  const CaptureOptions& options_;
  TreeMeta meta_;
  Chunker chunker_;
  CaptureSummary* summary_ = nullptr;
  std::unordered_map<std::pair<uint64_t, uint64_t>, DirEntry, PairHash> hardlinks_;
  std::unordered_set<uint64_t> used_;
  std::vector<uint64_t> removed_;
  std::chrono::steady_clock::time_point start_, last_progress_;
  // Raw bytes read but not yet stored; bounded so memory stays bounded.
  uint64_t in_flight_ = 0;
  static constexpr uint64_t kMaxInFlight = 64u << 20;
  WorkerPool pool_{std::max(1u, std::thread::hardware_concurrency())};
};

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

Status TreeCapture::Run(const std::string& source, CaptureSummary* summary) {
  summary_ = summary;
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
  std::optional<DirEntry> root;
  REVFS_RETURN_IF_ERROR(ProcessDir(fd.get(), source, st, kRootIno,
                                   old && old->type == FileType::kDirectory ? &*old : nullptr,
                                   &root));
  if (!root) return Status::IOError(source + ": could not be recorded");
  return RemoveUnused();
}

Status TreeCapture::ProcessEntry(int dirfd, const std::string& path, const std::string& name,
                                   const std::optional<DirEntry>& old_entry,
                                   std::optional<DirEntry>* out,
                                   std::vector<PendingFile>* pending, size_t entry) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return SkipErrno(path, errno);
  }
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
    ino = meta_.next_ino++;
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
  std::vector<std::pair<std::string, DirEntry>> old_entries;
  if (old) {
    REVFS_RETURN_IF_ERROR(ListDirectory(base_, *old, "", [&](std::string_view n, const DirEntry& e) {
      old_entries.emplace_back(std::string(n), e);
      return true;
    }));
  }
  std::vector<std::string> names;
  {
    int dup = ::dup(fd);
    DIR* d = dup >= 0 ? ::fdopendir(dup) : nullptr;
    if (!d) {
      if (dup >= 0) ::close(dup);
      return SkipErrno(path, errno);
    }
    ::rewinddir(d);
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return SkipErrno(path, err);
  }
  std::sort(names.begin(), names.end());

  std::vector<std::pair<std::string, DirEntry>> entries;
  entries.reserve(names.size());
  std::vector<PendingFile> pending;
  size_t j = 0;
  for (const std::string& name : names) {
    while (j < old_entries.size() && old_entries[j].first < name) {
      removed_.push_back(old_entries[j++].second.ino);  // gone from the source
    }
    std::optional<DirEntry> old_entry;
    if (j < old_entries.size() && old_entries[j].first == name) old_entry = old_entries[j++].second;
    std::optional<DirEntry> child;
    REVFS_RETURN_IF_ERROR(
        ProcessEntry(fd, path + "/" + name, name, old_entry, &child, &pending, entries.size()));
    if (child) entries.emplace_back(name, *child);
    if (in_flight_ > kMaxInFlight) REVFS_RETURN_IF_ERROR(Drain(&pending, &entries, kMaxInFlight / 2));
  }
  for (; j < old_entries.size(); ++j) removed_.push_back(old_entries[j].second.ino);
  REVFS_RETURN_IF_ERROR(Drain(&pending, &entries, 0));
  std::erase_if(entries, [](const auto& e) { return e.second.ino == 0; });

  SortedMapWriter writer(&trx_, kNodeBase, [this] { return NextNode(); },
                          old ? old->tree : TreeRoot{});
  for (const auto& [name, e] : entries) REVFS_RETURN_IF_ERROR(writer.Add(name, EncodeDirEntry(e)));
  Inode inode;
  REVFS_ASSIGN_OR_RETURN(inode.tree, writer.Finish());
  FillMetadata(st, FileType::kDirectory, &inode);
  ReadXattrs(path, &inode);
  inode.identity = ComputeIdentity(inode, inode.tree.hash);
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
  int fdnum = ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
  if (fdnum < 0 && errno == EPERM) fdnum = ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  UniqueFd fd(fdnum);
  if (fd.get() < 0) return SkipErrno(path, errno);
  PendingFile file;
  file.ino = ino;
  file.path = path;
  file.old_tree = old ? old->tree : TreeRoot{};
  file.entry = entry;
  struct stat after;
  for (int attempt = 0;; ++attempt) {
    struct stat before;
    if (::fstat(fd.get(), &before) != 0) return SkipErrno(path, errno);
    for (ChunkSlot& slot : file.slots) {  // a torn attempt: drop what it read
      if (!slot.stored) in_flight_ -= slot.ref.length;
    }
    file.slots.clear();
    Status source_error;
    REVFS_RETURN_IF_ERROR(
        ReadContent(fd.get(), static_cast<uint64_t>(before.st_size),
                    old ? old->chunks : std::vector<ChunkRef>(), &file.slots, &source_error));
    if (!source_error.ok()) return Skip(path, source_error.WithContext(path));
    if (::fstat(fd.get(), &after) != 0) return SkipErrno(path, errno);
    if (after.st_size == before.st_size && Nanos(after.st_mtim) == Nanos(before.st_mtim)) break;
    if (attempt == 2) {
      return Skip(path, Status::Aborted(path + ": changed while being read (3 tries)"));
    }
  }
  FillMetadata(after, FileType::kRegular, &file.inode);
  ReadXattrs(path, &file.inode);
  if (pending) {
    *out = DirEntry{ino, FileType::kRegular, {}};  // completed by Drain
    pending->push_back(std::move(file));
    return Status::OK();
  }
  REVFS_ASSIGN_OR_RETURN(*out, FinishFile(file));
  return Status::OK();
}

Result<std::optional<DirEntry>> TreeCapture::FinishFile(PendingFile& file) {
  Inode& inode = file.inode;
  for (ChunkSlot& slot : file.slots) {
    REVFS_RETURN_IF_ERROR(StoreSlot(slot));
    inode.chunks.push_back(slot.ref);
  }
  file.slots.clear();
  Hasher content;
  for (const ChunkRef& c : inode.chunks) {
    content.UpdateU64(c.offset);
    content.UpdateU64(c.length);
    content.UpdateU64(c.hole);
    content.Update(c.hash);
  }
  if (inode.chunks.size() > kInlineChunks) {
    SortedMapWriter writer(&trx_, kNodeBase, [this] { return NextNode(); }, file.old_tree);
    std::string value;
    for (const ChunkRef& c : inode.chunks) {
      value.clear();
      EncodeChunkRef(&value, c);
      REVFS_RETURN_IF_ERROR(writer.Add(OffsetKey(c.offset), value));
    }
    REVFS_ASSIGN_OR_RETURN(inode.tree, writer.Finish());
    inode.chunks.clear();
  } else if (!file.old_tree.empty()) {
    // Was long, is short now: its chunk-list tree goes.
    Status deleted;
    REVFS_RETURN_IF_ERROR(TreeNodes(base_, kNodeBase, file.old_tree, [&](uint64_t id) {
      if (deleted.ok()) deleted = trx_.Delete(kNodeBase | id);
    }));
    REVFS_RETURN_IF_ERROR(deleted);
  }
  inode.identity = ComputeIdentity(inode, content.Digest());
  bool recorded = false;
  REVFS_RETURN_IF_ERROR(WriteInode(file.ino, &inode, file.path, &recorded));
  if (!recorded) return std::optional<DirEntry>();
  ++summary_->files;
  Progress();
  return std::optional<DirEntry>(DirEntry{file.ino, FileType::kRegular, inode.identity});
}

Status TreeCapture::StoreSlot(ChunkSlot& slot) {
  if (slot.stored || slot.ref.hole) return Status::OK();
  PreparedChunk chunk = slot.job.get();
  in_flight_ -= slot.ref.length;
  slot.stored = true;
  REVFS_ASSIGN_OR_RETURN(slot.ref, StorePrepared(trx_, rs_, chunk, slot.ref.offset,
                                                 &summary_->content));
  return Status::OK();
}

Status TreeCapture::Drain(std::vector<PendingFile>* pending,
                            std::vector<std::pair<std::string, DirEntry>>* entries,
                            uint64_t keep) {
  size_t done = 0;
  for (; done < pending->size() && (keep == 0 || in_flight_ > keep); ++done) {
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
  inode.identity = ComputeIdentity(inode, Hash128{});
  bool recorded = false;
  REVFS_RETURN_IF_ERROR(WriteInode(ino, &inode, path, &recorded));
  if (!recorded) return Status::OK();
  ++summary_->others;
  *out = DirEntry{ino, type, inode.identity};
  return Status::OK();
}

Status TreeCapture::ReadContent(int fd, uint64_t size, const std::vector<ChunkRef>& old,
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

Status TreeCapture::ReadRegion(int fd, uint64_t start, uint64_t end,
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
      if (n == 0) eof = true;  // shrank meanwhile; the size check catches it
      have += static_cast<size_t>(n);
      read_pos += static_cast<uint64_t>(n);
      summary_->bytes_read += static_cast<uint64_t>(n);
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
    slot.job = pool_.Submit([this, raw = std::string(buf.data(), cut), base]() mutable {
      return PrepareChunk(rs_, std::move(raw), base);
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
    Progress();
  }
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
  ssize_t n = ::llistxattr(path.c_str(), nullptr, 0);
  if (n <= 0) return;
  std::string names(static_cast<size_t>(n), '\0');
  n = ::llistxattr(path.c_str(), names.data(), names.size());
  if (n <= 0) return;
  names.resize(static_cast<size_t>(n));
  for (size_t pos = 0; pos < names.size();) {
    std::string name(names.c_str() + pos);
    pos += name.size() + 1;
    if (name.empty()) continue;
    ssize_t len = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (len < 0) continue;
    std::string value(static_cast<size_t>(len), '\0');
    len = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (len < 0) continue;
    value.resize(static_cast<size_t>(len));
    inode->xattrs.emplace_back(std::move(name), std::move(value));
  }
  std::sort(inode->xattrs.begin(), inode->xattrs.end());
}

Status TreeCapture::WriteInode(uint64_t ino, Inode* inode, const std::string& path,
                                 bool* recorded) {
  std::string bytes = EncodeInode(*inode);
  if (bytes.size() > kMaxRecordValue && !inode->xattrs.empty()) {
    inode->xattrs.clear();
    REVFS_RETURN_IF_ERROR(
        Skip(path, Status::NotSupported(path + ": extended attributes too large; recorded without them")));
    bytes = EncodeInode(*inode);
  }
  if (bytes.size() > kMaxRecordValue) {
    return Skip(path, Status::NotSupported(path + ": metadata too large to record"));
  }
  *recorded = true;
  REVFS_ASSIGN_OR_RETURN(auto existing, base_.Get(kInodeBase | ino));
  if (existing && existing->value() == bytes) return Status::OK();
  return trx_.Put(kInodeBase | ino, bytes);
}

Status TreeCapture::RemoveUnused() {
  std::unordered_set<uint64_t> done;
  while (!removed_.empty()) {
    uint64_t ino = removed_.back();
    removed_.pop_back();
    if (used_.count(ino) || !done.insert(ino).second) continue;
    auto inode = GetInode(base_, ino);
    if (!inode.ok()) continue;  // already gone or damaged: nothing to reclaim
    if (inode->type == FileType::kDirectory) {
      REVFS_RETURN_IF_ERROR(ListDirectory(base_, *inode, "", [&](std::string_view, const DirEntry& e) {
        removed_.push_back(e.ino);
        return true;
      }));
    }
    Status deleted;
    REVFS_RETURN_IF_ERROR(TreeNodes(base_, kNodeBase, inode->tree, [&](uint64_t id) {
      if (deleted.ok()) deleted = trx_.Delete(kNodeBase | id);
    }));
    REVFS_RETURN_IF_ERROR(deleted);
    REVFS_RETURN_IF_ERROR(trx_.Delete(kInodeBase | ino));
  }
  return Status::OK();
}

}  // namespace

Result<CaptureSummary> CaptureTree(Database& rs, const std::string& source,
                                 const CaptureOptions& options) {
  struct stat st;
  if (::stat(source.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::NotFound(source + ": no such directory");
    return Status::FromErrno(errno, source);
  }
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(source + ": not a directory");
  REVFS_ASSIGN_OR_RETURN(auto trx, rs.BeginWrite());
  TreeMeta meta;
  REVFS_ASSIGN_OR_RETURN(auto meta_record, trx->Get(kMetaKey));
  if (meta_record) {
    REVFS_ASSIGN_OR_RETURN(meta, DecodeTreeMeta(*meta_record));
  }
  CaptureSummary summary;
  TreeCapture committer(rs, *trx, options, meta);
  REVFS_RETURN_IF_ERROR(committer.Run(source, &summary));
  const std::string new_meta = EncodeTreeMeta(committer.meta());
  if (!meta_record || *meta_record != new_meta) REVFS_RETURN_IF_ERROR(trx->Put(kMetaKey, new_meta));
  const int64_t time_ns = options.time_ns ? *options.time_ns : rs.store().env()->NowNanos();
  std::vector<std::pair<std::string, uint64_t>> counters = {
      {"files", summary.files},
      {"directories", summary.directories},
      {"other_entries", summary.others},
      {"files_unchanged", summary.unchanged},
      {"entries_skipped", summary.skipped},
      {"bytes_read", summary.bytes_read},
      {"chunks_new", summary.content.chunks_new},
      {"chunks_reused", summary.content.chunks_reused},
      {"bytes_added", summary.content.bytes_new},
      {"bytes_stored", summary.content.bytes_stored}};
  REVFS_ASSIGN_OR_RETURN(summary.revision,
                         trx->Commit(time_ns, options.message, std::move(counters)));
  return summary;
}

}  // namespace revfs
