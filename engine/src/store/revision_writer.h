// RevisionWriter: one commit in progress on a Store (Store::BeginRevision).
// It appends the revision's pages to the log; Finish makes them durable and
// the revision visible (the order of writes and syncs is in revfs/store.h).
// Destroying it without Finish aborts: nothing it appended is reachable, and
// the next commit truncates it away.
//
// Thread safety: belongs to the one writer thread; one at a time per store.
#ifndef REVFS_STORE_REVISION_WRITER_H_
#define REVFS_STORE_REVISION_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "revfs/result.h"
#include "revfs/store.h"
#include "store/page.h"

namespace revfs {

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
  // earlier than the previous revision's time. Counters pages_written,
  // bytes_written (every page but the revision root) and bytes_chunks (the
  // chunk pages among them) are added to `counters`.
  Result<uint64_t> Finish(int64_t time_ns, std::string message, PageRef trie_root,
                          std::vector<std::pair<std::string, uint64_t>> counters = {},
                          uint32_t trie_height = 0);

  // A rewrite only (Store::BeginRewrite): appends `root`, a kept
  // revision's new root page, and returns where it is; reachable only once
  // Store::InstallRoots names it.
  Result<PageRef> AppendRoot(const RevisionRoot& root);

  uint64_t pages_written() const { return pages_written_; }
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  friend class Store;
  RevisionWriter(Store* store, uint64_t revision) : store_(store), revision_(revision) {}

  Store* const store_;
  const uint64_t revision_;
  uint64_t pages_written_ = 0;
  uint64_t bytes_written_ = 0;
  uint64_t chunk_bytes_ = 0;  // of kChunk pages
  bool finished_ = false;
  bool rewrite_ = false;  // Store::BeginRewrite: no Finish, AppendRoot
};

}  // namespace revfs

#endif  // REVFS_STORE_REVISION_WRITER_H_
