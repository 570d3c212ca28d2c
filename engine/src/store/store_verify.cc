// Store::Verify: checks everything the store holds, reporting each damaged
// place instead of stopping at the first.
#include <string>

#include "revfs/store.h"
#include "store/page_log.h"
#include "store/store_files.h"
#include "util/coding.h"

namespace revfs {

Status Store::Verify(VerifyReport* report) const {
  REVFS_ASSIGN_OR_RETURN(SlotChoice choice,
                         ChooseSuperblock(env_, path_, *superblock_reader_));
  for (int i = 0; i < kSuperblockSlots; ++i) {
    const Status& s = choice.slot_status[i];
    if (!s.ok() && !s.IsNotFound()) {
      report->damage.push_back({std::nullopt, "superblock",
                                i * kSuperblockSlotSize, std::string(s.message())});
    }
  }
  const Superblock sb = superblock();
  for (uint64_t n = 0; n <= sb.latest_revision; ++n) {
    ++report->revisions_checked;
    auto entry = GetRevision(n);
    if (!entry.ok()) {
      report->damage.push_back({n, "revisions", n * kRevisionEntrySize,
                                std::string(entry.status().message())});
      continue;
    }
    auto root = ReadRevisionRoot(n);
    if (!root.ok()) {
      report->damage.push_back(
          {n, "pages", entry->root.offset, std::string(root.status().message())});
      continue;
    }
    if (!root->trie_root.IsNull()) {
      std::string buf(root->trie_root.size, '\0');
      PageView view;
      Status s = pages_->Read(root->trie_root, buf.data(), &view);
      if (!s.ok()) {
        report->damage.push_back(
            {n, "pages", root->trie_root.offset, std::string(s.message())});
      }
    }
  }
  VerifyPagesScan(sb.pages_end, report);
  return Status::OK();
}

void Store::VerifyPagesScan(uint64_t end, VerifyReport* report) const {
  uint64_t offset = 0;
  std::string buf;
  while (offset < end) {
    char header[kPageHeaderSize];
    size_t got = 0;
    Status s = pages_->ReadRaw(offset, kPageHeaderSize, header, &got);
    PageRef ref;
    ref.offset = offset;
    uint32_t len = got == kPageHeaderSize ? DecodeFixed32(header + 8) : 0;
    if (!s.ok() || end - offset < kPageHeaderSize || got != kPageHeaderSize ||
        DecodeFixed32(header) != kPageMagic ||
        len > kMaxPagePayload || end - offset - kPageHeaderSize < len) {
      report->damage.push_back({std::nullopt, "pages", offset,
                                "unreadable page header; the rest of the log "
                                "is checked through its references only"});
      return;
    }
    ref.size = static_cast<uint32_t>(kPageHeaderSize + len);
    ref.hash = DecodeFixed64(header + 16);
    buf.resize(ref.size);
    PageView view;
    s = pages_->Read(ref, buf.data(), &view);
    ++report->pages_checked;
    if (!s.ok()) {
      report->damage.push_back({std::nullopt, "pages", offset, std::string(s.message())});
    }
    offset += ref.size;
  }
}

}  // namespace revfs
