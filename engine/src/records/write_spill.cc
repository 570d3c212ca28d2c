#include "records/write_spill.h"

#include "records/record_page.h"
#include "util/coding.h"

namespace revfs {

Status WriteSpill::Open() {
  // A file of that name can only be left by a crash between create and
  // unlink below; it holds nothing of value.
  if (env_->FileExists(path_)) REVFS_RETURN_IF_ERROR(env_->RemoveFile(path_));
  REVFS_ASSIGN_OR_RETURN(file_, env_->NewRandomRWFile(path_, /*create=*/true));
  return env_->RemoveFile(path_);
}

Status WriteSpill::Put(uint64_t leaf, Changes::const_iterator first,
                       Changes::const_iterator last) {
  if (!file_) REVFS_RETURN_IF_ERROR(Open());
  std::string blob;
  PutVarint64(&blob, static_cast<uint64_t>(std::distance(first, last)));
  for (auto it = first; it != last; ++it) {
    PutFixed16(&blob, static_cast<uint16_t>(SlotOf(it->first)));
    blob.push_back(it->second ? 0 : 1);
    const std::string_view value = it->second ? std::string_view(*it->second) : "";
    PutVarint64(&blob, value.size());
    blob.append(value);
  }
  REVFS_RETURN_IF_ERROR(file_->Write(end_, blob));
  blobs_[leaf].push_back({end_, blob.size()});
  end_ += blob.size();
  return Status::OK();
}

Status WriteSpill::TakeInto(uint64_t leaf, Changes* changes) {
  auto found = blobs_.find(leaf);
  if (found == blobs_.end()) return Status::OK();
  std::string buf;
  // Newest blob first: a key already present is newer than what is read.
  for (auto blob = found->second.rbegin(); blob != found->second.rend(); ++blob) {
    buf.resize(blob->size);
    size_t got = 0;
    REVFS_RETURN_IF_ERROR(file_->Read(blob->offset, blob->size, buf.data(), &got));
    if (got != blob->size) return Status::IOError("write spill file: short read");
    Decoder in(buf);
    const uint64_t count = in.Varint64();
    for (uint64_t i = 0; i < count && in.ok(); ++i) {
      const uint16_t slot = in.U16();
      const bool tombstone = in.U8() != 0;
      const std::string_view value = in.VarBytes(kMaxRecordValue);
      if (!in.ok()) break;
      const uint64_t key = (leaf << kLeafBits) | slot;
      if (tombstone) {
        changes->try_emplace(key, std::nullopt);
      } else {
        changes->try_emplace(key, std::string(value));
      }
    }
    if (!in.ok()) return Status::Corruption("write spill file: malformed blob");
  }
  blobs_.erase(found);
  return Status::OK();
}

std::vector<uint64_t> WriteSpill::Leaves() const {
  std::vector<uint64_t> leaves;
  leaves.reserve(blobs_.size());
  for (const auto& entry : blobs_) leaves.push_back(entry.first);
  return leaves;
}

}  // namespace revfs
