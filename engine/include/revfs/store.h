// Store: an on-disk revfs store — the append-only page log, the revisions
// index and the superblock, in one directory:
//   STORE/pages       append-only pages (never overwritten)
//   STORE/revisions   one checksummed entry per revision
//   STORE/superblock  two alternating slots naming the latest revision
//   STORE/LOCK        flock()ed by the single writer
//
// A commit appends its pages and its revision root, makes them durable, then
// appends the index entry, makes it durable, and only then writes and syncs
// the next superblock slot. A crash at any moment leaves the store at the last
// complete revision; bytes past the committed ends are ignored on open and
// truncated by the next commit.
//
// Thread safety: every const method may be called from any number of threads,
// also while the writer commits (readers see a revision only once its
// superblock slot is durable). BeginRevision/RevisionWriter belong to one writer thread,
// and only one writer (process) holds a store at a time.
#ifndef REVFS_STORE_H_
#define REVFS_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "env/env.h"
#include "store/page_log.h"
#include "revfs/result.h"
#include "store/revision.h"
#include "store/store_config.h"
#include "store/superblock.h"
#include "util/mutex.h"

namespace revfs {

struct StoreOptions {
  Env* env = nullptr;     // Env::Default() when null
  bool writable = false;  // take the writer lock (Busy if another holds it)
};

// What `revfs verify` found.
struct VerifyReport {
  struct Damage {
    std::optional<uint64_t> revision;  // the revision affected, when known
    std::string file;                  // "pages", "revisions", "superblock"
    uint64_t offset = 0;
    std::string what;
  };
  std::vector<Damage> damage;
  uint64_t revisions_checked = 0;
  uint64_t pages_checked = 0;
  bool clean() const { return damage.empty(); }
};

class RevisionWriter;

class Store {
 public:
  // Makes a new store at `path` holding revision 0, the empty tree, committed
  // at `time_ns`. `path` must not exist or be an empty directory. The store
  // appears whole or not at all (built aside, then renamed into place).
  static Status Create(const std::string& path, const StoreConfig& config,
                       const StoreOptions& options, int64_t time_ns);

  static Result<std::unique_ptr<Store>> Open(const std::string& path,
                                             const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const { return path_; }
  const StoreConfig& config() const { return config_; }
  Env* env() const { return env_; }
  const PageLog& pages() const { return *pages_; }
  // Returns the superblock in force (a copy).
  Superblock superblock() const EXCLUDES(mu_);
  uint64_t latest_revision() const EXCLUDES(mu_);

  // Picks up revisions committed by another process since Open or the last
  // Refresh. Cheap when nothing changed (reads the two superblock slots).
  Status Refresh() EXCLUDES(mu_);

  // Returns revision `number`'s index entry: NotFound past the latest,
  // Corruption if that entry is damaged.
  Result<RevisionEntry> GetRevision(uint64_t number) const EXCLUDES(mu_);
  // Returns the newest revision committed at or before `time_ns`; NotFound if
  // revision 0 is younger than that.
  Result<uint64_t> RevisionAt(int64_t time_ns) const EXCLUDES(mu_);
  // Reads and checks revision `number`'s root page.
  Result<RevisionRoot> ReadRevisionRoot(uint64_t number) const;

  // Starts the next commit. ReadOnly unless opened writable; Busy while
  // another RevisionWriter of this store is alive.
  Result<std::unique_ptr<RevisionWriter>> BeginRevision();

  // Checks every superblock slot, index entry, revision root and page of the
  // log, and records what is damaged in `report`.
  Status Verify(VerifyReport* report) const;

 private:
  friend class RevisionWriter;
  struct Files;

  Store(std::string path, Env* env);
  Status LoadState(bool writer) EXCLUDES(mu_);
  Status LoadIndex(const Superblock& sb, std::vector<RevisionEntry>* entries,
                   std::vector<bool>* damaged) const;
  Status PrepareAppend();
  Result<uint64_t> FinishRevision(RevisionWriter* commit, RevisionRoot root) EXCLUDES(mu_);
  Status WriteSuperblock(const Superblock& next);
  void VerifyPagesScan(uint64_t end, VerifyReport* report) const;

  const std::string path_;
  Env* const env_;
  StoreConfig config_;
  std::unique_ptr<PageLog> pages_;
  std::unique_ptr<RandomAccessFile> index_reader_;
  std::unique_ptr<RandomAccessFile> superblock_reader_;

  mutable SharedMutex mu_;
  Superblock sb_ GUARDED_BY(mu_);
  std::vector<RevisionEntry> index_ GUARDED_BY(mu_);  // entries 0..latest
  std::vector<bool> index_damaged_ GUARDED_BY(mu_);

  // Writer state (writer thread only).
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<WritableFile> index_writer_;
  std::unique_ptr<RandomRWFile> superblock_writer_;
  bool writer_open_ = false;
  bool dirty_ = false;  // bytes may lie past the committed ends
};

// One commit in progress. Destroying it without Finish aborts: nothing it
// appended is reachable, and the next commit truncates it away.
class RevisionWriter {
 public:
  ~RevisionWriter();
  RevisionWriter(const RevisionWriter&) = delete;
  RevisionWriter& operator=(const RevisionWriter&) = delete;

  // The revision this commit will create.
  uint64_t revision() const { return revision_; }
  // Appends a page; it becomes durable and reachable only through Finish.
  Result<PageRef> AppendPage(PageKind kind, std::string_view payload);
  // Makes the commit durable and visible as revision(). `time_ns` must not be
  // earlier than the previous revision's time. Counters pages_written and
  // bytes_written are added to `counters`.
  Result<uint64_t> Finish(int64_t time_ns, std::string message, PageRef tree_root,
                          std::vector<std::pair<std::string, uint64_t>> counters = {},
                          uint32_t tree_height = 0);

  uint64_t pages_written() const { return pages_written_; }
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  friend class Store;
  RevisionWriter(Store* store, uint64_t revision) : store_(store), revision_(revision) {}

  Store* const store_;
  const uint64_t revision_;
  uint64_t pages_written_ = 0;
  uint64_t bytes_written_ = 0;
  bool finished_ = false;
};

}  // namespace revfs

#endif  // REVFS_STORE_H_
