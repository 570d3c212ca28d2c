// PageLog: the append-only file of pages (STORE/pages).
//
// Pages are appended, never overwritten; a page is named by a PageRef. Reads
// check every page against its checksum and its reference, so damage is a
// Corruption status naming the file and offset, never wrong bytes.
//
// Thread safety: Read may be called from any number of threads at once, also
// while the single writer appends (reads only follow refs to committed pages).
// Append, Sync and ResetForAppend belong to the one writer thread.
#ifndef REVFS_STORE_PAGE_LOG_H_
#define REVFS_STORE_PAGE_LOG_H_

#include <memory>
#include <string>

#include "env/env.h"
#include "store/page.h"
#include "revfs/result.h"

namespace revfs {

class PageLog {
 public:
  // Opens `path` for reading. The file must exist.
  static Result<std::unique_ptr<PageLog>> Open(Env* env, const std::string& path);

  PageLog(const PageLog&) = delete;
  PageLog& operator=(const PageLog&) = delete;

  const std::string& path() const { return path_; }

  // Reads the page `ref` names into `dst`, which must hold ref.size bytes.
  // On success `out->payload` points into `dst`.
  Status Read(const PageRef& ref, char* dst, PageView* out) const;
  // Reads page `ref` bypassing the OS page cache (RandomAccessFile::
  // ReadDirect): the aligned span around it goes into `dst` (aligned to
  // kDirectAlign, at least DirectSpan(ref) bytes); `out->payload` points
  // into it. For large pages read once into a cache of their own.
  Status ReadDirect(const PageRef& ref, char* dst, PageView* out) const;
  static size_t DirectSpan(const PageRef& ref) {
    constexpr uint64_t a = RandomAccessFile::kDirectAlign;
    return static_cast<size_t>((ref.offset + ref.size + a - 1) / a * a - ref.offset / a * a);
  }
  // Reads into `buf` (resized) and checks that the page is of `kind`.
  Status Read(const PageRef& ref, PageKind kind, std::string* buf,
              PageView* out) const;

  // Reads raw bytes (no checks); for scans that walk the log by headers.
  Status ReadRaw(uint64_t offset, size_t n, char* dst, size_t* got) const {
    return file_->Read(offset, n, dst, got);
  }

  // Writer: drops every byte past `committed_end` and appends from there.
  Status ResetForAppend(uint64_t committed_end);
  // Writer: appends a page; durable only after Sync.
  Result<PageRef> Append(PageKind kind, std::string_view payload);
  // Writer: makes every appended page durable.
  Status Sync();
  // Writer: the end of the log including unsynced appends.
  uint64_t append_end() const { return writer_ ? writer_->Size() : 0; }

 private:
  PageLog(Env* env, std::string path, std::unique_ptr<RandomAccessFile> file)
      : env_(env), path_(std::move(path)), file_(std::move(file)) {}

  Env* const env_;
  const std::string path_;
  std::unique_ptr<RandomAccessFile> file_;
  std::unique_ptr<WritableFile> writer_;  // null until ResetForAppend
};

}  // namespace revfs

#endif  // REVFS_STORE_PAGE_LOG_H_
