// FaultInjectionEnv: an Env for tests that can fail the Nth write, sync or
// rename, report ENOSPC on the Nth append, and simulate a crash by dropping
// every byte not yet made durable — after LevelDB's fault_injection_test.
// Directory entries count too: a file or directory created, or a rename,
// whose parent directory was not synced since (SyncDir) is undone by the
// crash — the created entry disappears, the rename reverts — as on a
// filesystem that journals data before metadata it was not asked to sync.
//
// A removed file whose directory was not synced since comes back, and so
// does a file a rename replaced.
//
// Counting is by operation kind: every Append/Write is a write, every
// Sync/SyncDir a sync, every RenameFile a rename, every RemoveFile a remove. A failing write may write
// the first half of its data first (a torn write), as a real disk can.
//
// Thread-safe (one mutex), though the engine's writer is single-threaded.
#ifndef REVFS_TESTS_SUPPORT_FAULT_ENV_H_
#define REVFS_TESTS_SUPPORT_FAULT_ENV_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "env/env.h"

namespace revfs::testing {

class FaultInjectionEnv : public EnvWrapper {
 public:
  enum class Op { kWrite, kSync, kRename, kRemove };

  FaultInjectionEnv() : EnvWrapper(Env::Default()) {}

  // Makes the `n`th (1-based) future operation of `op` fail with `status`;
  // n = 0 disarms. With `torn`, a failing write first writes half its data.
  void FailAt(Op op, uint64_t n, Status status, bool torn = false);
  // Returns how many operations of `op` have happened so far.
  uint64_t Count(Op op) const;
  // Resets the counters (not the durable-state tracking).
  void ResetCounts();
  // Returns true once an armed fault has fired.
  bool fired() const;

  // Simulates a power cut: every appendable file is truncated to its last
  // synced size and every unsynced positional write is undone.
  // Directory entries not made durable are undone, newest first.
  Status DropUnsyncedData();

  Result<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override;
  Result<std::unique_ptr<RandomRWFile>> NewRandomRWFile(const std::string& path,
                                                        bool create) override;
  Status CreateDir(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Status Truncate(const std::string& path, uint64_t size) override;

  // Called by the wrapped files.
  Status BeforeOp(Op op, bool* torn);
  void RecordSynced(const std::string& path, uint64_t size);
  void RecordUnsyncedWrite(const std::string& path, uint64_t offset, std::string old_bytes);
  void RecordRWSynced(const std::string& path);

 private:
  struct UndoWrite {
    uint64_t offset;
    std::string old_bytes;
  };

  // A directory entry changed and not yet durable: `path` created (from
  // empty), renamed from `from` to `path` (replacing a file of
  // `old_content` when `replaced`), or removed (holding `old_content`).
  struct UnsyncedEntry {
    std::string dir;   // the parent whose SyncDir makes it durable
    std::string path;
    std::string from;  // empty for a creation or removal
    bool removed = false;
    bool replaced = false;
    std::string old_content;
  };
  // Records that `path` was created, if it did not exist before.
  void RecordCreated(const std::string& path, bool existed);

  mutable std::mutex mu_;
  std::vector<UnsyncedEntry> unsynced_entries_;  // oldest first
  static constexpr int kOps = 4;
  uint64_t counts_[kOps] = {0, 0, 0, 0};
  uint64_t fail_at_[kOps] = {0, 0, 0, 0};
  Status fail_status_[kOps];
  bool torn_[kOps] = {false, false, false, false};
  bool fired_ = false;
  std::map<std::string, uint64_t> synced_size_;                // appendable files
  std::map<std::string, std::vector<UndoWrite>> unsynced_rw_;  // positional files
};

// Flips the bits of the byte at `offset` in `path` (corruption tests).
void FlipByte(const std::string& path, uint64_t offset);

}  // namespace revfs::testing

#endif  // REVFS_TESTS_SUPPORT_FAULT_ENV_H_
