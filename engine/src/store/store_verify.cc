// Store::Verify: checks everything the store holds, reporting each damaged
// place instead of stopping at the first.
#include <map>
#include <string>
#include <vector>

#include "revfs/store.h"
#include "store/page_log.h"
#include "store/segment_file.h"
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
  if (!sb.retention.IsNull()) {
    RetentionState retention;
    Status s = LoadRetention(sb, &retention);
    if (!s.ok()) {
      report->damage.push_back({std::nullopt, "pages", sb.retention.offset,
                                std::string(s.message())});
    }
  }
  for (uint64_t n = 0; n <= sb.latest_revision; ++n) {
    if (IsForgotten(n)) continue;  // its pages may be pruned
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
  VerifySegments(sb.pages_end, report);
  return Status::OK();
}

void Store::VerifySegments(uint64_t pages_end, VerifyReport* report) const {
  const std::string dir = StoreSegmentsPath(path_);
  const uint32_t last = SegmentOf(pages_end - 1);
  auto names = env_->GetChildren(dir);
  if (!names.ok()) {
    report->damage.push_back({std::nullopt, "segments", 0, std::string(names.status().message())});
    return;
  }
  // Which segments exist, and whether packed: a packed file is the one read.
  std::map<uint32_t, bool> segments;
  for (const std::string& name : *names) {
    uint32_t n = 0;
    SegmentFileKind kind;
    if (!ParseSegmentName(name, &n, &kind) || kind == SegmentFileKind::kTemp || n > last) continue;
    segments[n] = segments[n] || kind == SegmentFileKind::kPacked;
  }
  if (!segments.count(last) || segments[last]) {
    report->damage.push_back({std::nullopt, "segments/" + SegmentName(last), 0,
                              "the newest segment is missing"});
    segments.erase(last);
  }
  std::string buf;
  for (const auto& [number, is_packed] : segments) {
    const uint32_t n = number;  // (lambdas cannot capture a binding in C++20)
    const bool packed = is_packed;
    const std::string file = "segments/" + (packed ? PackedSegmentName(n) : SegmentName(n));
    auto damage = [&](uint64_t offset, std::string what) {
      report->damage.push_back({std::nullopt, file, offset, std::move(what)});
    };
    auto opened = env_->NewRandomAccessFile(path_ + "/" + file);
    if (!opened.ok()) {
      damage(0, std::string(opened.status().message()));
      continue;
    }
    const RandomAccessFile& f = **opened;
    auto check = [&](uint64_t at, uint64_t address, uint32_t size, uint64_t hash) {
      buf.resize(size);
      size_t got = 0;
      PageView view;
      Status s = f.Read(at, size, buf.data(), &got);
      if (s.ok()) {
        s = CheckPage(PageRef{SegmentBase(n) + address, size, hash},
                      std::string_view(buf.data(), got), path_ + "/" + file, &view);
      }
      ++report->pages_checked;
      if (!s.ok()) damage(at, std::string(s.message()));
    };
    if (packed) {
      std::vector<PackedEntry> table;
      Status s = ReadPackedTable(f, path_ + "/" + file, n, &table);
      if (!s.ok()) {
        damage(0, std::string(s.message()));
        continue;
      }
      for (const PackedEntry& e : table) {
        char header[kPageHeaderSize];
        size_t got = 0;
        uint64_t hash = 0;
        if (e.size >= kPageHeaderSize && f.Read(e.offset, kPageHeaderSize, header, &got).ok() &&
            got == kPageHeaderSize) {
          hash = DecodeFixed64(header + 16);
        }
        check(e.offset, e.address, e.size, hash);
      }
      continue;
    }
    uint64_t end = 0;
    if (n == last) {
      end = pages_end - SegmentBase(n);
    } else {
      auto size = f.Size();
      end = size.ok() ? *size : 0;
    }
    uint64_t offset = 0;
    while (offset < end) {
      char header[kPageHeaderSize];
      size_t got = 0;
      Status s = f.Read(offset, kPageHeaderSize, header, &got);
      uint32_t len = got == kPageHeaderSize ? DecodeFixed32(header + 8) : 0;
      if (!s.ok() || end - offset < kPageHeaderSize || got != kPageHeaderSize ||
          DecodeFixed32(header) != kPageMagic || len > kMaxPagePayload ||
          end - offset - kPageHeaderSize < len) {
        damage(offset, "unreadable page header; the rest of the segment is checked "
                       "through its references only");
        break;
      }
      const uint32_t size = static_cast<uint32_t>(kPageHeaderSize + len);
      check(offset, offset, size, DecodeFixed64(header + 16));
      offset += size;
    }
  }
}

}  // namespace revfs
