// Env: the seam between the engine and the operating system for the
// store's files, after LevelDB's Env. Every operation on a store's files
// (open, pread, O_DIRECT read, append, fdatasync, positional write,
// truncate, rename, remove, mkdir, directory sync and listing, size, lock)
// and the clock that stamps commits go through it, so tests can fail the
// Nth write or sync, drop everything not yet synced (a simulated crash), or
// flip bytes on disk. errno from those calls becomes a Status here.
//
// Two kinds of system call stay outside it, on purpose:
// - A capture's reads of the source directory (tree/capture.cc,
//   tree/capture_walk.cc: stat, open, openat, fstat, fstatat, readdir,
//   readlinkat, llistxattr, lgetxattr; tree/chunk_pipeline.cc: lseek with
//   SEEK_DATA/SEEK_HOLE, pread), which convert their own errno. The source
//   is the user's directory, not the store: nothing is written there, so
//   there is no crash or torn write to simulate, and a failure there skips
//   one entry (CaptureOptions::on_skip; at the source's root it fails the
//   capture before anything is stored) and never damages the store; tests
//   provoke such failures with real files. The calls are relative to
//   directory descriptors, which the Env has no notion of: routing them
//   through it would add a directory-handle API that no test needs.
// - The SegmentAllocator's mmap and madvise: memory, not files.
//
// Thread safety: Env::Default() is shared and thread-safe. A RandomAccessFile
// may be read from many threads at once; WritableFile and RandomRWFile are
// used by one thread at a time (the single writer).
#ifndef REVFS_ENV_ENV_H_
#define REVFS_ENV_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "revfs/result.h"
#include "revfs/status.h"

namespace revfs {

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to `n` bytes at `offset` into `dst`; sets `*got` to the count
  // read, which is less than `n` only at end of file.
  virtual Status Read(uint64_t offset, size_t n, char* dst,
                      size_t* got) const = 0;
  virtual Result<uint64_t> Size() const = 0;

  // Reads like Read, bypassing the OS page cache where the system allows
  // (O_DIRECT): the bytes go straight into `dst`, are not copied out of the
  // page cache, and do not take room there. `offset` and `n` must be
  // multiples of kDirectAlign and `dst` aligned to it. Falls back to Read
  // where direct reads are not supported.
  static constexpr size_t kDirectAlign = 4096;
  virtual Status ReadDirect(uint64_t offset, size_t n, char* dst, size_t* got) const {
    return Read(offset, n, dst, got);
  }
};

// An append-only file. Appends go to the end; Sync makes them durable.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  // Makes every appended byte durable (fdatasync).
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
  // Returns the file's size including unsynced appends.
  virtual uint64_t Size() const = 0;
};

// A file written at fixed offsets (the superblock's two slots).
class RandomRWFile {
 public:
  virtual ~RandomRWFile() = default;
  virtual Status Write(uint64_t offset, std::string_view data) = 0;
  virtual Status Read(uint64_t offset, size_t n, char* dst,
                      size_t* got) const = 0;
  virtual Status Sync() = 0;
};

// An exclusive advisory lock; released when destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;

  // Returns the process-wide POSIX Env; never destroyed.
  static Env* Default();

  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;
  // Opens `path` for appending, creating it if needed.
  virtual Result<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) = 0;
  virtual Result<std::unique_ptr<RandomRWFile>> NewRandomRWFile(
      const std::string& path, bool create) = 0;

  virtual Status CreateDir(const std::string& path) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  virtual Status RemoveDirRecursively(const std::string& path) = 0;
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  // Makes a directory's entries (created or renamed files) durable.
  virtual Status SyncDir(const std::string& path) = 0;
  virtual Result<uint64_t> GetFileSize(const std::string& path) = 0;
  // Returns the names (not paths) of the entries of directory `path`,
  // without "." and "..", in no particular order.
  virtual Result<std::vector<std::string>> GetChildren(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  virtual bool IsDirectory(const std::string& path) = 0;
  // Takes an exclusive lock on `path` (created if needed) without waiting;
  // Busy if another process or Store holds it.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;

  // Returns wall-clock time in nanoseconds since the Unix epoch.
  virtual int64_t NowNanos() = 0;
};

// An Env that forwards every call to another; tests override what they need.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    return target_->NewRandomAccessFile(path);
  }
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override {
    return target_->NewAppendableFile(path);
  }
  Result<std::unique_ptr<RandomRWFile>> NewRandomRWFile(const std::string& path,
                                                        bool create) override {
    return target_->NewRandomRWFile(path, create);
  }
  Status CreateDir(const std::string& p) override { return target_->CreateDir(p); }
  Status RemoveFile(const std::string& p) override { return target_->RemoveFile(p); }
  Status RemoveDirRecursively(const std::string& p) override {
    return target_->RemoveDirRecursively(p);
  }
  Status RenameFile(const std::string& f, const std::string& t) override {
    return target_->RenameFile(f, t);
  }
  Status Truncate(const std::string& p, uint64_t size) override {
    return target_->Truncate(p, size);
  }
  Status SyncDir(const std::string& p) override { return target_->SyncDir(p); }
  Result<uint64_t> GetFileSize(const std::string& p) override {
    return target_->GetFileSize(p);
  }
  Result<std::vector<std::string>> GetChildren(const std::string& p) override {
    return target_->GetChildren(p);
  }
  bool FileExists(const std::string& p) override { return target_->FileExists(p); }
  bool IsDirectory(const std::string& p) override { return target_->IsDirectory(p); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& p) override {
    return target_->LockFile(p);
  }
  int64_t NowNanos() override { return target_->NowNanos(); }

 private:
  Env* target_;
};

}  // namespace revfs

#endif  // REVFS_ENV_ENV_H_
