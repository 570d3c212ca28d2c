#include "store/segment_file.h"

#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "util/coding.h"

namespace revfs {

std::string SegmentName(uint32_t segment) {
  char name[16];
  std::snprintf(name, sizeof(name), "%010u", segment);
  return name;
}

std::string PackedSegmentName(uint32_t segment) { return SegmentName(segment) + ".packed"; }
std::string PackedTempName(uint32_t segment) { return PackedSegmentName(segment) + ".tmp"; }

bool ParseSegmentName(std::string_view name, uint32_t* segment, SegmentFileKind* kind) {
  if (name.size() < 10) return false;
  uint32_t n = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + 10, n);
  if (ec != std::errc() || end != name.data() + 10) return false;
  const std::string_view rest = name.substr(10);
  if (rest.empty()) {
    *kind = SegmentFileKind::kPlain;
  } else if (rest == ".packed") {
    *kind = SegmentFileKind::kPacked;
  } else if (rest == ".packed.tmp") {
    *kind = SegmentFileKind::kTemp;
  } else {
    return false;
  }
  *segment = n;
  return true;
}

std::string EncodePackedHead(uint32_t segment, const std::vector<uint64_t>& addresses,
                             const std::vector<uint32_t>& sizes,
                             std::vector<PackedEntry>* table) {
  table->clear();
  std::string entries;
  uint64_t offset = kPackedHeaderSize + addresses.size() * kPackedEntrySize;
  for (size_t i = 0; i < addresses.size(); ++i) {
    table->push_back({addresses[i], offset, sizes[i]});
    PutFixed64(&entries, addresses[i]);
    PutFixed64(&entries, offset);
    PutFixed32(&entries, sizes[i]);
    offset += sizes[i];
  }
  std::string head;
  PutFixed32(&head, kPackedMagic);
  PutFixed32(&head, kPackedVersion);
  PutFixed64(&head, segment);
  PutFixed64(&head, addresses.size());
  PutFixed64(&head, XXH3_64bits(entries.data(), entries.size()));
  return head + entries;
}

Status ReadPackedTable(const RandomAccessFile& file, const std::string& path,
                       uint32_t segment, std::vector<PackedEntry>* table) {
  REVFS_ASSIGN_OR_RETURN(uint64_t size, file.Size());
  char head[kPackedHeaderSize];
  size_t got = 0;
  REVFS_RETURN_IF_ERROR(file.Read(0, sizeof(head), head, &got));
  if (got != sizeof(head) || DecodeFixed32(head) != kPackedMagic) {
    return Status::Corruption(path + ": not a packed segment (bad header)");
  }
  if (DecodeFixed32(head + 4) != kPackedVersion || DecodeFixed64(head + 8) != segment) {
    return Status::Corruption(path + ": packed segment of another version or number");
  }
  const uint64_t count = DecodeFixed64(head + 16);
  if (count > (size - kPackedHeaderSize) / kPackedEntrySize) {
    return Status::Corruption(path + ": packed table larger than the file");
  }
  std::string entries(count * kPackedEntrySize, '\0');
  REVFS_RETURN_IF_ERROR(file.Read(kPackedHeaderSize, entries.size(), entries.data(), &got));
  if (got != entries.size() ||
      XXH3_64bits(entries.data(), entries.size()) != DecodeFixed64(head + 24)) {
    return Status::Corruption(path + ": packed table checksum mismatch");
  }
  table->clear();
  table->reserve(count);
  const uint64_t data_start = kPackedHeaderSize + entries.size();
  for (uint64_t i = 0; i < count; ++i) {
    const char* p = entries.data() + i * kPackedEntrySize;
    PackedEntry e{DecodeFixed64(p), DecodeFixed64(p + 8), DecodeFixed32(p + 16)};
    if ((!table->empty() && e.address <= table->back().address) || e.offset < data_start ||
        e.offset > size || e.size > size - e.offset || e.address >= kSegmentSpan) {
      return Status::Corruption(path + ": packed table entry " + std::to_string(i) +
                                " is out of order or outside the file");
    }
    table->push_back(e);
  }
  return Status::OK();
}

const PackedEntry* SegmentFile::Find(uint64_t address) const {
  auto it = std::lower_bound(table.begin(), table.end(), address,
                             [](const PackedEntry& e, uint64_t a) { return e.address < a; });
  if (it == table.end() || it->address != address) return nullptr;
  return &*it;
}

}  // namespace revfs
