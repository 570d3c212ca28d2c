// WriteSpill: where a write transaction parks record changes that exceed its
// memory budget, so a commit of any size holds a bounded amount of them in
// memory (WriteTrx::set_spill_budget).
//
// The changes of one leaf are appended as one blob to a scratch file in the
// store directory, unlinked as soon as it is open: it never outlives the
// transaction, even across a crash, and it is not part of the store. Blob:
// count varint | count x { slot u16 | tombstone u8 | length varint | bytes }.
// A leaf may have several blobs, newest last; a newer blob's change of a
// slot replaces an older one's.
//
// Thread safety: one thread (the writer's) uses an instance.
#ifndef REVFS_RECORDS_WRITE_SPILL_H_
#define REVFS_RECORDS_WRITE_SPILL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "env/env.h"
#include "revfs/result.h"

namespace revfs {

class WriteSpill {
 public:
  using Changes = std::map<uint64_t, std::optional<std::string>>;  // key -> value/tombstone

  WriteSpill(Env* env, std::string store_path)
      : env_(env), path_(std::move(store_path) + "/write-spill") {}

  // Appends the changes of `[first, last)` of `changes` (all of one leaf) as
  // one blob of `leaf`.
  Status Put(uint64_t leaf, Changes::const_iterator first, Changes::const_iterator last);
  bool Has(uint64_t leaf) const { return blobs_.count(leaf) != 0; }
  // Moves every change parked for `leaf` into `changes` where `changes` has
  // none for that key (what is in memory is newer), and forgets the leaf's
  // blobs.
  Status TakeInto(uint64_t leaf, Changes* changes);
  // The leaves with parked changes, ascending.
  std::vector<uint64_t> Leaves() const;
  uint64_t bytes_written() const { return end_; }

 private:
  struct Blob {
    uint64_t offset;
    uint64_t size;
  };
  Status Open();

  Env* const env_;
  const std::string path_;
  std::unique_ptr<RandomRWFile> file_;
  uint64_t end_ = 0;
  std::map<uint64_t, std::vector<Blob>> blobs_;  // leaf -> blobs, oldest first
};

}  // namespace revfs

#endif  // REVFS_RECORDS_WRITE_SPILL_H_
