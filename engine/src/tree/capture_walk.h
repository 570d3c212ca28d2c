// TreeCapture: the walk of one capture. It records a source directory into
// the write transaction of the next revision, as inode records and sorted
// maps (tree model: revfs/inode.h), reusing whatever did not change since
// the transaction's base revision.
//
// How a capture proceeds (Run):
// - Directories are walked depth first, each one's names in byte order,
//   merged with the directory's entries in the base revision. A name found
//   in both keeps its inode number if the type is the same; names gone from
//   the source, and entries that could not be recorded, have their old
//   inodes (and everything below them) deleted at the end (RemoveUnused).
// - Each entry is lstat'ed (fstatat without following symlinks), a
//   directory's entries in inode number order before any is recorded. A
//   regular file whose inode number, device, size, mtime and ctime equal
//   the base revision's is taken as it is, unread (unless full_scan).
//   Other files go to the ChunkPipeline: small ones (one chunk, no holes)
//   are read whole on its workers, in batches; others are read and cut on
//   this thread while the workers hash and compress their chunks. Either
//   way a file is read again (three tries at most) if it changed while it
//   was read (size or mtime). Its chunks are stored when it is
//   finished: read files wait (PendingFile) until the bytes in flight pass
//   the pipeline's bound or their directory is done, so the workers stay
//   busy across files (a big file stores its oldest chunks itself while it
//   is read); a hard-linked file is finished at once, and its other names
//   (same device and inode number) reuse its entry.
// - Symlinks keep their target, FIFOs, devices and sockets their metadata;
//   every entry keeps its extended attributes, whatever their size: inline
//   in its inode record while they fit, else as a blob of chunks
//   (tree/xattr_blob.h). Attributes that cannot be read are reported
//   (on_skip) and the entry recorded without them.
// - A finished directory or file becomes an inode record, written only if
//   its bytes differ from the base revision's, and an entry of its parent's
//   sorted map; its identity hashes its metadata and content, so unchanged
//   subtrees keep their identity and their records.
// - With CaptureOptions::changed (a watched capture) each directory has a
//   Scope: kAll below a new subtree (walked as above), kChanged for a
//   directory that changed (every entry examined; a subdirectory that is
//   neither changed nor above one is lstat'ed and, if its metadata equals
//   the base revision's, taken as it is, else only its names are checked),
//   kAncestor for one only above a changed directory or entry (its names
//   are read and compared with the base revision's — a difference makes it
//   kChanged — and only its entries changed or on the way down are
//   examined; the others keep their base entries, not even lstat'ed). A file with several hard links
//   that changed (content, metadata, link count) or got or lost a name in a
//   directory examined stops the capture (needs_full_walk): its other names
//   may lie in directories not examined. The caller walks everything.
// - Entries matching CaptureOptions::exclude (tree/exclude.h) are left out
//   as if absent from the source; the walk never enters an excluded
//   directory.
// - A problem of the source (unreadable, vanished, changed while read, too
//   large) skips that entry, reported through CaptureOptions::on_skip; only
//   a failure of the store fails the capture.
//
// The source is read with system calls on directory descriptors (openat,
// fstatat, readdir, readlinkat, l*xattr), not through the Env (see
// env/env.h): the Env serves the store's files.
//
// Thread safety: a TreeCapture belongs to the thread of its WriteTrx (the
// store's single writer); its ChunkPipeline's workers only prepare chunks.
#ifndef REVFS_TREE_CAPTURE_WALK_H_
#define REVFS_TREE_CAPTURE_WALK_H_

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "revfs/database.h"
#include "revfs/inode.h"
#include "revfs/tree.h"
#include "tree/chunk_pipeline.h"
#include "tree/exclude.h"

namespace revfs {

class TreeCapture {
 public:
  // Records into `trx`, whose base revision is the one compared with;
  // `meta` holds the id counters, `summary` (outliving the capture) the
  // counts.
  TreeCapture(Database& db, WriteTrx& trx, const CaptureOptions& options, TreeMeta meta,
              CaptureSummary* summary);
  TreeCapture(const TreeCapture&) = delete;
  TreeCapture& operator=(const TreeCapture&) = delete;

  // Records the directory `source` as the root. Once: a TreeCapture does
  // one capture.
  Status Run(const std::string& source);
  // The id counters advanced by Run, to be stored with the revision.
  const TreeMeta& meta() const { return meta_; }
  // Why Run stopped a watched capture that must walk everything instead
  // ("" if it did not).
  const std::string& needs_full_walk() const { return needs_full_walk_; }

 private:
  // A regular file read and cut, whose chunks are still being prepared.
  struct PendingFile {
    uint64_t ino = 0;
    std::string path;
    Inode inode;  // metadata filled in
    MapRoot old_chunk_map;  // the chunk list of its base version, if long
    std::vector<ChunkSlot> slots;
    std::optional<SmallHandle> small;  // a small file being read on a worker
    size_t entry = 0;  // its index in the directory's entries
  };
  using Entries = std::vector<std::pair<std::string, DirEntry>>;
  struct PairHash {
    size_t operator()(const std::pair<uint64_t, uint64_t>& p) const {
      return std::hash<uint64_t>()(p.first * 0x9E3779B97F4A7C15ull ^ p.second);
    }
  };

  // Reports `path` as skipped. Returns OK: a source problem never fails the
  // capture.
  Status Skip(const std::string& path, const Status& why);
  Status SkipErrno(const std::string& path, int err);
  void Progress();
  // Returns the base revision's inode of `entry`, or nullopt.
  std::optional<Inode> OldInode(const std::optional<DirEntry>& entry);

  // An entry of a source directory, lstat'ed.
  struct Listed {
    std::string name;
    uint64_t d_ino = 0;
    struct stat st{};
    int err = 0;  // lstat's errno; 0 when it worked
    bool reuse = false;  // taken from the base revision unexamined (not lstat'ed)
  };
  // Lstats `listed` (but those to reuse), entries of the directory open as `dirfd`, in inode
  // number order (the order of the inode table on most filesystems: from a
  // cold cache, fewer and more sequential reads), then sorts them by name.
  static void StatListed(int dirfd, std::vector<Listed>* listed);

  // Records the entry `listed` of the directory open as `dirfd`. `pending`,
  // when given, may take a regular file to finish later (at `entry` of the
  // directory's entries); `*out` is then a placeholder. `*out` stays empty
  // if the entry is skipped.
  Status ProcessEntry(int dirfd, const std::string& path, const Listed& listed,
                      const std::optional<DirEntry>& old_entry, std::optional<DirEntry>* out,
                      std::vector<PendingFile>* pending, size_t entry);
  // How much of a directory a watched capture examines (see above).
  enum class Scope : uint8_t { kAll, kChanged, kAncestor, kReuse };
  // The scope of `rel` (a path relative to the root) under a parent of
  // scope `parent`.
  Scope ChildScope(Scope parent, const std::string& rel) const;
  // Whether a changed directory lies strictly below `rel`.
  bool Above(const std::string& rel) const;
  // The relative path of the source path `path`.
  std::string RelPath(const std::string& path) const;
  // Reads the names of the directory open as `fd` with their inode numbers,
  // excluded ones left out, sorted by name.
  Status ReadNames(int fd, const std::string& path, const std::string& rel,
                   std::vector<Listed>* names, bool* ok);
  // Whether the directory `old` of the base revision has `st`'s metadata.
  static bool SameDirMetadata(const Inode& old, const struct stat& st);
  // The names of the directory open as `fd` (scope `scope`, base inode
  // `old`, base entries `old_entries`): the base's when CaptureOptions::
  // base_walk allows it, else read (ReadNames; `ok` false when skipped).
  Status ListNames(int fd, const std::string& path, const std::string& rel, Scope scope,
                   const Inode* old, const struct stat& st, const Entries& old_entries,
                   std::vector<Listed>* names, bool* ok);
  // A watched capture's check of an entry examined: a file with several
  // names whose entry or link count changed stops it (its other names may
  // lie in directories not examined).
  Status CheckLinks(const std::string& path, const std::optional<DirEntry>& old_entry,
                    const std::optional<DirEntry>& entry);
  // Stops a watched capture (see needs_full_walk); returns Aborted.
  Status NeedFullWalk(const std::string& why);
  Status ProcessDir(int fd, const std::string& path, const struct stat& st, uint64_t ino,
                    const Inode* old, std::optional<DirEntry>* out);
  Status ProcessFile(int dirfd, const std::string& name, const std::string& path,
                     const struct stat& st, uint64_t ino, const Inode* old,
                     std::optional<DirEntry>* out, std::vector<PendingFile>* pending,
                     size_t entry);
  Status ProcessOther(int dirfd, const std::string& name, const std::string& path,
                      const struct stat& st, uint64_t ino, FileType type, const Inode* old,
                      std::optional<DirEntry>* out);
  // Opens and reads the file `name` of `dirfd` on this thread, its chunks
  // into file->slots (three tries if it changes while read), and fills in
  // its metadata; `*read` stays false if it is skipped.
  Status ReadInWriter(int dirfd, const std::string& name, const std::string& path,
                      const std::vector<ChunkRef>& old_chunks, PendingFile* file, bool* read);
  // Stores a pending file's chunks (waiting for a small file's read) and
  // records its inode; nullopt if it could not be recorded after all.
  Result<std::optional<DirEntry>> FinishFile(PendingFile& file);
  // Finishes pending files, oldest first, until at most `keep` bytes are in
  // flight (0: all of them), and completes their entries.
  Status Drain(std::vector<PendingFile>* pending, Entries* entries, uint64_t keep);

  void FillMetadata(const struct stat& st, FileType type, Inode* inode);
  void ReadXattrs(const std::string& path, Inode* inode);
  // Reports (on_skip) that the attributes of `path` could not be read.
  void ReportXattrError(const std::string& path, int err);
  // Writes `inode` unless the stored record already has these bytes, its
  // attributes as a blob if they do not fit the record; `*recorded` is
  // false if it had to be skipped.
  Status WriteInode(uint64_t ino, Inode* inode, const std::string& path, bool* recorded);
  // Deletes every block of the sorted map at `root` of the base revision.
  Status DeleteMap(const MapRoot& root);
  // Deletes the inodes left in removed_ that no entry uses any more.
  Status RemoveUnused();

  Database& db_;
  WriteTrx& trx_;
  ReadTrx& base_;
  const CaptureOptions& options_;
  TreeMeta meta_;
  CaptureSummary* const summary_;
  // Files with several names, by (device, inode number) in the source.
  std::unordered_map<std::pair<uint64_t, uint64_t>, DirEntry, PairHash> hardlinks_;
  std::unordered_set<uint64_t> used_;  // inode numbers in the new revision
  std::vector<uint64_t> removed_;      // candidates for RemoveUnused
  std::chrono::steady_clock::time_point start_, last_progress_;
  const ExcludeMatcher exclude_;
  const bool partial_;            // a watched capture (options_.changed)
  size_t source_len_ = 0;         // of the source path, to make paths relative
  Scope child_scope_ = Scope::kAll;  // the scope of the next ProcessDir
  std::string needs_full_walk_;
  ChunkPipeline pipeline_;
};

}  // namespace revfs

#endif  // REVFS_TREE_CAPTURE_WALK_H_
