// PageLog: the append-only log of pages, stored as segment files in
// STORE/segments/ (store/segment_file.h has the address space and the
// packed file format).
//
// Pages are appended, never overwritten; a page is named by a PageRef whose
// offset is its logical address. Reads check every page against its
// checksum and its reference, so damage is a Corruption status naming the
// segment file and address, never wrong bytes; an address a packed segment
// no longer holds (or a segment prune deleted) is a Corruption saying the
// page was pruned.
//
// Segment files are opened on first use and kept open. A reader takes a
// shared_ptr to the SegmentFile it reads, so when Reload (or prune, through
// Forget) replaces a segment's file, a read already under way finishes on
// the old descriptor, which POSIX keeps readable after an unlink; the next
// read opens the new file.
//
// Thread safety: Read, ReadDirect, Contains, OpenSegment, Reload and Forget
// may be called from any number of threads at once, also while the single
// writer appends (reads only follow refs to committed pages). ResetForAppend,
// Append and Sync belong to the one writer thread.
#ifndef REVFS_STORE_PAGE_LOG_H_
#define REVFS_STORE_PAGE_LOG_H_

#include <map>
#include <memory>
#include <string>

#include "env/env.h"
#include "revfs/mutex.h"
#include "revfs/result.h"
#include "revfs/thread_annotations.h"
#include "store/page.h"
#include "store/segment_file.h"

namespace revfs {

class PageLog {
 public:
  // Opens the segments directory `dir` for reading; segment files are
  // opened on first use.
  static Result<std::unique_ptr<PageLog>> Open(Env* env, const std::string& dir);

  PageLog(const PageLog&) = delete;
  PageLog& operator=(const PageLog&) = delete;

  // The segments directory.
  const std::string& path() const { return dir_; }
  std::string SegmentPath(uint32_t segment) const { return dir_ + "/" + SegmentName(segment); }
  std::string PackedPath(uint32_t segment) const {
    return dir_ + "/" + PackedSegmentName(segment);
  }

  // Reads the page `ref` names into `dst`, which must hold ref.size bytes.
  // On success `out->payload` points into `dst`.
  Status Read(const PageRef& ref, char* dst, PageView* out) const;
  // Reads page `ref` bypassing the OS page cache (RandomAccessFile::
  // ReadDirect): the aligned span around it goes into `dst` (aligned to
  // kDirectAlign, at least DirectSpan(ref) bytes); `out->payload` points
  // into it. For large pages read once into a cache of their own. (From a
  // packed segment, whose pages are not aligned as their addresses are, the
  // page is read through the page cache into `dst`.)
  Status ReadDirect(const PageRef& ref, char* dst, PageView* out) const;
  static size_t DirectSpan(const PageRef& ref) {
    constexpr uint64_t a = RandomAccessFile::kDirectAlign;
    return static_cast<size_t>((ref.offset + ref.size + a - 1) / a * a - ref.offset / a * a);
  }
  // Reads the page of `size` bytes at `address` and checks it against its
  // own header checksum (for a caller that has no reference: prune's live
  // set names addresses and sizes).
  Status ReadUnreferenced(uint64_t address, uint32_t size, char* dst, PageView* out) const;
  // Reads into `buf` (resized) and checks that the page is of `kind`.
  Status Read(const PageRef& ref, PageKind kind, std::string* buf,
              PageView* out) const;

  // Returns whether the page `ref` names is still stored: false when its
  // segment was deleted or is packed without it. Checks the segment's
  // packed table in memory (read once, on the segment's first use), not the
  // page's bytes. For dedup lookups: a chunk index entry naming a pruned
  // page is a miss.
  bool Contains(const PageRef& ref) const;

  // Returns segment `segment` as readers share it, opening it on first use
  // (the packed file where one exists, else the plain one). A segment
  // with neither file is returned with a null `file`.
  Result<std::shared_ptr<const SegmentFile>> OpenSegment(uint32_t segment) const;
  // Drops the open handle of `segment`: the next read opens its files
  // again. Reads under way keep the old handle.
  void Forget(uint32_t segment);
  // Drops the handles of segments whose files changed on disk since they
  // were opened (a packed file appeared or was replaced, the plain file
  // was unlinked, a missing segment): for a reader that picked up a new
  // superblock generation. Reads under way keep the old handles.
  void Reload();

  // Writer: drops every byte past `committed_end` (truncates its segment,
  // deletes segments past it and leftover temporary files) and appends
  // from there, rolling to a new segment when the next page would take the
  // current one past `segment_size`.
  Status ResetForAppend(uint64_t committed_end, uint64_t segment_size);
  // Writer: appends a page; durable only after Sync.
  Result<PageRef> Append(PageKind kind, std::string_view payload);
  // Writer: the next Append starts a new segment (if the current one holds
  // anything), as if the current one were full.
  void RollBeforeNextAppend() { roll_next_ = true; }
  // Writer: makes every appended page, and every segment file created,
  // durable.
  Status Sync();
  // Writer: the end of the log including unsynced appends.
  uint64_t append_end() const {
    return writer_ ? SegmentBase(append_segment_) + writer_->Size() : 0;
  }

 private:
  PageLog(Env* env, std::string dir) : env_(env), dir_(std::move(dir)) {}

  // Opens segment `segment`'s files (no caching).
  Result<std::shared_ptr<const SegmentFile>> OpenFiles(uint32_t segment) const;
  // Finds `ref` in its segment: the file and the offset in it. Corruption
  // when the page is not stored there.
  Status Locate(const PageRef& ref, std::shared_ptr<const SegmentFile>* seg,
                uint64_t* file_offset) const;

  Env* const env_;
  const std::string dir_;

  mutable SharedMutex mu_;
  mutable std::map<uint32_t, std::shared_ptr<const SegmentFile>> open_ GUARDED_BY(mu_);

  // Writer state (writer thread only).
  uint64_t segment_size_ = 0;
  bool roll_next_ = false;
  uint32_t append_segment_ = 0;
  std::unique_ptr<WritableFile> writer_;  // null until ResetForAppend
  bool dir_dirty_ = false;  // a segment file was created since the last Sync
};

}  // namespace revfs

#endif  // REVFS_STORE_PAGE_LOG_H_
