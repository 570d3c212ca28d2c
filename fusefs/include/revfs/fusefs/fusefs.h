// RevFs: every revision of a store as a read-only directory tree, served
// through the libfuse3 low-level API.
//
//   MOUNT/latest -> revisions/N     follows new commits
//   MOUNT/revisions/0 ... N/        each revision's whole tree
//   MOUNT/at/<ISO-8601 time>        -> ../revisions/N, the revision current then
//   MOUNT/.revfs/stats              JSON counters of the running daemon and
//                                   where the store's space goes
//
// Each FUSE operation has a handler that calls one function of this class
// returning a Status or Result and makes exactly one reply; the handlers keep
// every exception inside (bad_alloc -> ENOMEM, anything else -> EIO). Reads
// pin the chunks they need, reply straight from the pinned segments and
// unpin. Revisions never change, so their entries, attributes and data are
// cached by the kernel for long; only latest, revisions/ and at/ are short.
//
// This header is what the mount and the tests use: RevFs, its options and
// replies, and Serve. The parts behind it are private to fusefs/src: the
// node table, the namespace (the mount's fixed names), listings, reads, the
// prefetcher, and the libfuse callbacks (see fusefs/README.md).
//
// Thread safety: all methods of RevFs may be called from the multithreaded
// loop.
#ifndef REVFS_FUSEFS_FUSEFS_H_
#define REVFS_FUSEFS_FUSEFS_H_

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "revfs/database.h"
#include "revfs/tree.h"

namespace revfs::fusefs {

struct FsOptions {
  bool unique_ino = false;       // st_ino from node ids, not content identity
  double long_timeout = 86400;   // revisions never change
  double short_timeout = 1;      // latest, revisions/, at/
  // Chunks are decoded ahead of readers by this many threads (0: none), at
  // idle priority: the next `readahead_bytes` of a file read sequentially,
  // and the first chunk of a small file when it is looked up (it is likely
  // read next).
  unsigned prefetch_threads = 4;
  uint64_t readahead_bytes = 8u << 20;
  uint64_t lookup_prefetch_max = 256u << 10;  // first chunks up to this size
  // When a file of a directory is first read, the directory's other files
  // of up to lookup_prefetch_max bytes that the kernel has looked up are
  // read ahead into the kernel's page cache (through the KernelCacheFill
  // Serve sets) by two threads of normal priority, up to this many bytes per
  // directory; 0: off, as with prefetch_threads 0. Readers of whole
  // trees (diff -r, grep -r, cp -r) then find most files cached and send
  // no read at all; a listing alone (ls -l) reads nothing ahead.
  uint64_t dir_readahead_bytes = 4u << 20;
  // What a readdirplus reply gives for a stored file (subdirectories always
  // get their entry): kAll its entry (attributes: the kernel makes an inode
  // for it), kDirs its name alone (a stat of it sends a lookup), kAuto
  // names until stat walks are seen (bursts of file lookups), then entries
  // (fusefs/src/file_entries.h).
  enum class Readdirplus { kAuto, kAll, kDirs };
  Readdirplus readdirplus = Readdirplus::kAuto;
  // Whether the kernel checks permissions (the mount has
  // default_permissions): stored POSIX ACLs are then handed to the kernel
  // to enforce with the modes (FUSE_CAP_POSIX_ACL, where offered). Off, the
  // kernel would turn default_permissions on by itself, so ACLs are only
  // served as the stored extended attributes.
  bool posix_acl = false;
  // Owner of what the mount invents (the root, latest, revisions/, at/,
  // .revfs/): the user who mounted, as FUSE filesystems show their own
  // entries. Stored entries keep their stored owners.
  uid_t uid = 0;
  gid_t gid = 0;
};

// Puts the whole content of node `node` (the given pieces, in order, from
// offset 0) into the kernel's page cache; returns 0 or a negative errno.
using KernelCacheFill = std::function<int(uint64_t node, const std::vector<std::string_view>& pieces)>;

// What the kernel knows of a node.
struct NodeAttr {
  struct stat st {};
  double timeout = 0;
};

struct EntryReply {
  uint64_t node = 0;  // 0: a negative entry (cached "no such name")
  NodeAttr attr;
  double entry_timeout = 0;
};

struct DirItem {
  std::string name;
  uint64_t node_hint = 0;  // the child's inode in the store (0: not in a revision)
  mode_t type = 0;         // S_IFDIR, S_IFREG ...
  ino_t st_ino = 0;        // what stat of the child shows: d_ino equals st_ino
  // node_hint's revision when not the directory's: a version in history/,
  // which readdirplus lists without its entry (see ReadDirPlus).
  uint64_t hint_rev = 0;
  // Where the listing resumes after this item (ListingCursors), when not
  // after its name: history/'s listings resume by token.
  std::string cursor;
};

class DamageLog;
class XattrCache;
class SpaceCache;
class NodeTable;
class Prefetcher;
class ListingCursors;
class FileEntries;
struct Node;
struct OpStats;

class RevFs {
 public:
  RevFs(Database* db, FsOptions options);
  ~RevFs();
  RevFs(const RevFs&) = delete;
  RevFs& operator=(const RevFs&) = delete;

  // The operations (fusefs/src/ops.cc registers them).
  Result<EntryReply> Lookup(uint64_t parent, std::string_view name);
  // Lookup of an item ReadDir gave for `parent` (readdirplus): where the
  // listing named the child's inode it is read directly, without searching
  // the directory again.
  Result<EntryReply> LookupListed(uint64_t parent, const DirItem& item);
  void Forget(uint64_t node, uint64_t count);
  Result<NodeAttr> GetAttr(uint64_t node);
  Result<std::string> ReadLink(uint64_t node);
  // Checks that `node` is a directory and returns whether its listing never
  // changes (a revision's directories), so the kernel may keep it cached.
  Result<bool> OpenDir(uint64_t node);
  // Calls fn(item) for the items of directory `node` from position `offset`
  // on ("." is 0, ".." 1, then the entries in name order), until fn returns
  // false (that item was not taken). Nothing of the listing is held between
  // calls: the next call resumes after the name of the last item taken,
  // remembered for a bounded number of positions, so passes that stop early
  // or run by the hundred cost bounded memory; a position no longer
  // remembered is found by counting from the start.
  Status ReadDir(uint64_t node, uint64_t offset, const std::function<bool(const DirItem&)>& fn);
  // Makes one readdirplus reply: ReadDir of `dir` from `offset`, each item
  // handed to add(item, entry) with the child's entry looked up (its lookup
  // counted; null for "." and "..", for a child that cannot be read now
  // (its name is listed all the same and looking it up gives the error),
  // and for a version in history/ (a lookup reads it from its revision). add returns false when the reply is full (that item and its
  // lookup are not taken; the next call resumes there). At most
  // `max_children` children are looked up, all from one pass over the
  // listing and their inodes in one batch (GetInodes); no content is
  // queued for prefetch (a listing is not a read).
  // Returns the nodes whose lookups the reply counted — the caller gives
  // them back if the reply never reaches the kernel; on an error or an
  // exception (thrown on) they are given back here.
  Result<std::vector<uint64_t>> ReadDirPlus(
      uint64_t dir, uint64_t offset, size_t max_children,
      const std::function<bool(const DirItem&, const EntryReply*)>& add);
  // The whole listing (tests and benchmarks).
  Result<std::vector<DirItem>> ListDir(uint64_t node);
  // Opens a file; `*keep_cache`/`*direct_io` say how the kernel may cache.
  // Returns the handle for Read and Release (never kNoHandle).
  Result<uint64_t> Open(uint64_t node, bool* keep_cache, bool* direct_io);
  // Reads up to `size` bytes at `offset` of a file: fills `pieces`, which
  // point into `pins` (or into the stats copy read, which lives as long as
  // its handle or node). The file is the open `handle`, or with kNoHandle
  // (the kernel's no_open mode, see EnableNoOpen) file node `node`.
  Status Read(uint64_t node, uint64_t handle, uint64_t offset, size_t size,
              std::vector<PinnedView>* pins, std::vector<std::string_view>* pieces);
  void Release(uint64_t handle);
  // SEEK_DATA / SEEK_HOLE on a file by its node, from its stored chunk list
  // (holes and gaps between chunks are holes, and so is a tail past the
  // last chunk). Returns the offset found, or -1 when none lies at or past
  // `offset` (ENXIO). Other whences are the kernel's business (InvalidArgument).
  Result<int64_t> SeekDataOrHole(uint64_t node, uint64_t offset, int whence);
  // Switches to the kernel's no_open mode: open is answered ENOSYS once, after
  // which the kernel opens files without asking and keeps their page cache —
  // no open/release round trip per file. The stats file stays fresh because
  // every lookup of it makes a new node holding a new copy of it, so the
  // kernel never has pages of it cached.
  void EnableNoOpen() { no_open_ = true; }
  bool no_open() const { return no_open_; }
  // Switches to the kernel's no_opendir mode: opendir is answered ENOSYS
  // once, after which directories open without a round trip and the kernel
  // caches every listing. The listings that change — revisions/ and at/ —
  // are then invalidated by Serve's watcher when a commit lands
  // (PollNewRevision).
  void EnableNoOpendir() { no_opendir_ = true; }
  bool no_opendir() const { return no_opendir_; }
  // Whether stored POSIX ACLs are to be enforced by the kernel (see
  // FsOptions::posix_acl).
  bool posix_acl() const { return options_.posix_acl; }
  // Returns true once per new latest revision seen since the last call.
  bool PollNewRevision();
  // Returns the revisions forgotten since the last call (after
  // PollNewRevision has refreshed the store), so that the kernel's cached
  // entries of revisions/ can be dropped. Serve's watcher thread only.
  std::vector<uint64_t> PollForgotten();
  // Tells that the store's superblock may have changed (Serve's watcher,
  // woken by inotify or a poll tick). From the first call on, a request
  // reads the superblock only if such a notice came since the last read,
  // instead of on every request; the request after a notice sees the commit.
  void NoteStoreChanged();
  // Returns the extended attributes of `node`, sorted by name; those kept
  // in a blob are read once and then served from a small cache.
  Result<std::shared_ptr<const XattrList>> Xattrs(uint64_t node);
  // Sets where directory read-ahead puts file content (see
  // FsOptions::dir_readahead_bytes); none until set.
  void SetKernelCacheFill(KernelCacheFill fill);
  // Stops directory read-ahead; returns once no call of the KernelCacheFill
  // is running. It may block until a read of the same file has been
  // answered, so call this while requests are still being served.
  void StopKernelCacheFill();

  Database& db() { return *db_; }
  // Returns the daemon's counters as JSON (memory, caches, pins, ops).
  std::string StatsJson() const;
  // Counts one operation of kind `op` (fusefs/src/op_stats.h) that took
  // `nanos`.
  void CountOp(int op, uint64_t nanos);

  static constexpr uint64_t kRootNode = 1;
  static constexpr uint64_t kRevisionsNode = 2;  // revisions/
  static constexpr uint64_t kAtNode = 3;         // at/
  static constexpr uint64_t kStatsNode = 5;      // .revfs/stats
  static constexpr uint64_t kHistoryNode = 7;    // history/
  // Read's `handle` when the file is read by its node (no open).
  static constexpr uint64_t kNoHandle = 0;
  // Threads of directory read-ahead (normal priority; see FsOptions).
  static constexpr unsigned kDirReadAheadThreads = 2;

 private:
  struct FileHandle;  // what Open hands the kernel (fusefs/src/reads.cc)

  // The attributes of node `id`; AttrOfInode of a revision's root or entry
  // whose inode is read.
  Result<NodeAttr> AttrOf(const Node& node, uint64_t id);
  NodeAttr AttrOfInode(const Node& node, uint64_t id, const Inode& inode) const;
  // The entry of inode `ino` of revision `rev` (counts a lookup).
  Result<EntryReply> ChildEntry(uint64_t parent, uint64_t rev, uint64_t ino, ReadTrx& trx);
  // The entry of inode `ino` of revision `rev`, read as `inode` (counts a
  // lookup).
  EntryReply EntryOfInode(uint64_t parent, uint64_t rev, uint64_t ino, const Inode& inode);
  // ReadDir of a revision's directory.
  Status ReadStoreDir(const Node& node, uint64_t id, uint64_t offset,
                      const std::function<bool(const DirItem&)>& fn);
  // history/ (fusefs/src/history_view.cc): a lookup in history path node
  // `p` (id `parent`), its listing, and the name its current link names.
  Result<EntryReply> LookupHistory(const Node& p, uint64_t parent, std::string_view name);
  Status ReadHistoryDir(const Node& node, uint64_t id, uint64_t offset,
                        const std::function<bool(const DirItem&)>& fn);
  Result<std::string> HistoryLinkTarget(const Node& link);
  // The entry of a version in history/: inode `ino` of revision `rev`
  // (counts a lookup).
  Result<EntryReply> VersionEntry(uint64_t parent, uint64_t rev, uint64_t ino);
  // The latest revision, reading the superblock when it may have changed.
  uint64_t Latest();

  Database* const db_;
  const FsOptions options_;
  const std::unique_ptr<NodeTable> nodes_;
  const std::unique_ptr<ListingCursors> cursors_;
  const std::unique_ptr<FileEntries> file_entries_;  // readdirplus's files
  const std::unique_ptr<OpStats> op_stats_;
  const std::unique_ptr<DamageLog> damage_log_;  // files whose damage was logged
  const std::unique_ptr<XattrCache> xattr_cache_;  // lists read from blobs
  const std::unique_ptr<SpaceCache> space_cache_;  // .revfs/stats' space
  // Last: its threads use the node table, so they are stopped first.
  const std::unique_ptr<Prefetcher> prefetcher_;
  std::atomic<uint64_t> handles_open_{0};
  std::atomic<uint64_t> names_only_{0};  // files readdirplus listed without entry
  std::atomic<bool> no_open_{false};
  std::atomic<bool> no_opendir_{false};
  std::atomic<uint64_t> last_seen_latest_{0};
  RetentionState seen_retention_;  // PollForgotten's: the watcher thread only
  // NoteStoreChanged's count, and the count the last good refresh followed.
  std::atomic<bool> change_driven_{false};
  std::atomic<uint64_t> store_changes_{0};
  std::atomic<uint64_t> refreshed_changes_{0};
};

struct ServeOptions {
  std::string mountpoint;
  std::vector<std::string> fuse_options;  // passed to libfuse as -o
  bool single_thread = false;
  unsigned max_threads = 10;
  bool debug = false;
  // Called once: OK when the mount answers, or why mounting failed.
  std::function<void(const Status&)> on_ready;
};

// Mounts `fs` and serves requests until unmounted or signalled (SIGTERM,
// SIGINT, SIGHUP unmount cleanly).
Status Serve(RevFs& fs, const ServeOptions& options);

}  // namespace revfs::fusefs

#endif  // REVFS_FUSEFS_FUSEFS_H_
