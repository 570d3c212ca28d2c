// The POSIX Env: pread/write/fdatasync/flock on plain files.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <system_error>

#include "util/fd.h"
#include "env/env.h"
#include "revfs/time_util.h"

namespace revfs {
namespace {

Status PRead(int fd, const std::string& path, uint64_t offset, size_t n,
             char* dst, size_t* got) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, dst + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, path);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  *got = done;
  return Status::OK();
}

Status PWrite(int fd, const std::string& path, uint64_t offset,
              std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t r = ::pwrite(fd, data.data() + done, data.size() - done,
                         static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, path);
    }
    done += static_cast<size_t>(r);
  }
  return Status::OK();
}

Result<uint64_t> FdSize(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, path);
  return static_cast<uint64_t>(st.st_size);
}

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  Status Read(uint64_t offset, size_t n, char* dst, size_t* got) const override {
    return PRead(fd_.get(), path_, offset, n, dst, got);
  }
  Status ReadDirect(uint64_t offset, size_t n, char* dst, size_t* got) const override {
    std::call_once(direct_once_, [this] {
      direct_fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
    });
    if (direct_fd_ < 0 || direct_failed_.load(std::memory_order_relaxed)) {
      return Read(offset, n, dst, got);
    }
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(direct_fd_, dst + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && errno == EINVAL) {
        // The filesystem refuses direct reads here: use the page cache.
        direct_failed_.store(true, std::memory_order_relaxed);
        return Read(offset, n, dst, got);
      }
      if (r < 0) return Status::FromErrno(errno, path_);
      if (r == 0) break;
      done += static_cast<size_t>(r);
      if (done % kDirectAlign != 0) break;  // a short read: the end of the file
    }
    *got = done;
    return Status::OK();
  }
  ~PosixRandomAccessFile() override {
    if (direct_fd_ >= 0) ::close(direct_fd_);
  }
  Result<uint64_t> Size() const override { return FdSize(fd_.get(), path_); }

 private:
  const std::string path_;
  UniqueFd fd_;
  mutable std::once_flag direct_once_;
  mutable int direct_fd_ = -1;  // O_DIRECT; -1 where that cannot be opened
  mutable std::atomic<bool> direct_failed_{false};
};

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixWritableFile() override { (void)Close(); }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return Status::IOError(path_ + ": append after close");
    Status s = PWrite(fd_, path_, size_, data);
    // A failed write may have written part of `data`; the caller truncates
    // back to the last committed size before writing again.
    if (s.ok()) size_ += data.size();
    return s;
  }
  Status Sync() override {
    if (fd_ < 0) return Status::IOError(path_ + ": sync after close");
    if (::fdatasync(fd_) != 0) return Status::FromErrno(errno, path_);
    return Status::OK();
  }
  Status Close() override {
    if (fd_ < 0) return Status::OK();
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return Status::FromErrno(errno, path_);
    return Status::OK();
  }
  uint64_t Size() const override { return size_; }

 private:
  const std::string path_;
  int fd_;
  uint64_t size_;
};

class PosixRandomRWFile final : public RandomRWFile {
 public:
  PosixRandomRWFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  Status Write(uint64_t offset, std::string_view data) override {
    return PWrite(fd_.get(), path_, offset, data);
  }
  Status Read(uint64_t offset, size_t n, char* dst, size_t* got) const override {
    return PRead(fd_.get(), path_, offset, n, dst, got);
  }
  Status Sync() override {
    if (::fdatasync(fd_.get()) != 0) return Status::FromErrno(errno, path_);
    return Status::OK();
  }

 private:
  const std::string path_;
  UniqueFd fd_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::flock(fd_.get(), LOCK_UN); }

 private:
  UniqueFd fd_;
};

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, path);
    return std::unique_ptr<RandomAccessFile>(
        std::make_unique<PosixRandomAccessFile>(path, fd));
  }

  Result<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (fd.get() < 0) return Status::FromErrno(errno, path);
    REVFS_ASSIGN_OR_RETURN(uint64_t size, FdSize(fd.get(), path));
    return std::unique_ptr<WritableFile>(
        std::make_unique<PosixWritableFile>(path, fd.Release(), size));
  }

  Result<std::unique_ptr<RandomRWFile>> NewRandomRWFile(const std::string& path,
                                                        bool create) override {
    int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return Status::FromErrno(errno, path);
    return std::unique_ptr<RandomRWFile>(std::make_unique<PosixRandomRWFile>(path, fd));
  }

  Status CreateDir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) != 0) return Status::FromErrno(errno, path);
    return Status::OK();
  }
  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Status::FromErrno(errno, path);
    return Status::OK();
  }
  Status RemoveDirRecursively(const std::string& path) override {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) return Status::FromErrno(ec.value(), path);
    return Status::OK();
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return Status::FromErrno(errno, from + " -> " + to);
    }
    return Status::OK();
  }
  Status Truncate(const std::string& path, uint64_t size) override {
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) {
      return Status::FromErrno(errno, path);
    }
    return Status::OK();
  }
  Status SyncDir(const std::string& path) override {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) return Status::FromErrno(errno, path);
    if (::fsync(fd.get()) != 0) return Status::FromErrno(errno, path);
    return Status::OK();
  }
  Result<uint64_t> GetFileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, path);
    return static_cast<uint64_t>(st.st_size);
  }
  Result<std::vector<std::string>> GetChildren(const std::string& path) override {
    std::vector<std::string> names;
    std::error_code ec;
    std::filesystem::directory_iterator it(path, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    if (ec) return Status::FromErrno(ec.value(), path);
    return names;
  }
  bool FileExists(const std::string& path) override {
    return ::access(path.c_str(), F_OK) == 0;
  }
  bool IsDirectory(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (fd.get() < 0) return Status::FromErrno(errno, path);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        return Status::Busy(path + ": locked by another writer");
      }
      return Status::FromErrno(errno, path);
    }
    return std::unique_ptr<FileLock>(std::make_unique<PosixFileLock>(fd.Release()));
  }
  int64_t NowNanos() override { return revfs::NowNanos(); }
};

}  // namespace

Env* Env::Default() {
  static PosixEnv* env = [] {
    static PosixEnv instance;
    return &instance;
  }();
  return env;
}

}  // namespace revfs
