#include "store/superblock.h"

#include <xxhash.h>

#include <algorithm>

#include "util/coding.h"

namespace revfs {
namespace {

constexpr char kMagic[8] = {'R', 'E', 'V', 'F', 'S', 'S', 'B', '1'};
constexpr size_t kChecksumOffset = kSuperblockSlotSize - 8;

}  // namespace

std::string EncodeSuperblock(const Superblock& sb) {
  std::string s(kMagic, sizeof(kMagic));
  PutFixed32(&s, sb.format_version);
  PutFixed32(&s, sb.flags);  // format 2: reserved, zero
  PutFixed64(&s, sb.generation);
  PutFixed64(&s, sb.latest_revision);
  PutFixed64(&s, sb.pages_end);
  PutFixed64(&s, sb.index_end);
  EncodePageRef(&s, sb.latest_root);
  PutFixed64(&s, static_cast<uint64_t>(sb.created_ns));
  s.append(reinterpret_cast<const char*>(sb.store_id.data()), sb.store_id.size());
  s.push_back(static_cast<char>(sb.config.versioning));
  s.push_back(static_cast<char>(sb.config.compression));
  PutFixed32(&s, static_cast<uint32_t>(sb.config.compression_level));
  PutFixed32(&s, sb.config.window);
  PutFixed32(&s, sb.config.full_dump_every);
  PutFixed64(&s, sb.config.segment_size);
  EncodePageRef(&s, sb.retention);
  s.resize(kChecksumOffset, '\0');
  PutFixed64(&s, XXH3_64bits(s.data(), kChecksumOffset));
  return s;
}

namespace {

// Checks the slot's size, emptiness, checksum and magic; returns a decoder
// positioned at the format version.
Result<Decoder> OpenSlot(std::string_view slot) {
  if (slot.size() != kSuperblockSlotSize) {
    return Status::Corruption("superblock slot is truncated");
  }
  if (std::all_of(slot.begin(), slot.end(), [](char c) { return c == 0; })) {
    return Status::NotFound("superblock slot is empty");
  }
  if (XXH3_64bits(slot.data(), kChecksumOffset) !=
      DecodeFixed64(slot.data() + kChecksumOffset)) {
    return Status::Corruption("superblock slot checksum mismatch");
  }
  if (slot.substr(0, sizeof(kMagic)) != std::string_view(kMagic, sizeof(kMagic))) {
    return Status::Corruption("superblock slot has a bad magic number");
  }
  return Decoder(slot.substr(sizeof(kMagic)));
}

// Decodes what follows the format version (the same layout in formats 2
// and 3; format 2 left the segment size and the retention page zero).
Result<Superblock> DecodeFields(Decoder& in, uint32_t version) {
  Superblock sb;
  sb.format_version = version;
  sb.flags = in.U32();
  sb.generation = in.U64();
  sb.latest_revision = in.U64();
  sb.pages_end = in.U64();
  sb.index_end = in.U64();
  sb.latest_root = DecodePageRef(&in);
  sb.created_ns = static_cast<int64_t>(in.U64());
  for (auto& b : sb.store_id) b = in.U8();
  sb.config.versioning = static_cast<Versioning>(in.U8());
  sb.config.compression = static_cast<Compression>(in.U8());
  sb.config.compression_level = static_cast<int32_t>(in.U32());
  sb.config.window = in.U32();
  sb.config.full_dump_every = in.U32();
  sb.config.segment_size = in.U64();
  sb.retention = DecodePageRef(&in);  // zero (null) in slots written before it
  if (!in.ok()) return Status::Corruption("superblock slot is truncated");
  if (version == 2) {
    sb.flags = 0;
    sb.config.segment_size = StoreConfig::kDefaultSegmentSize;
    sb.retention = PageRef{};
  }
  if ((sb.flags & ~kKnownSuperblockFlags) != 0) {
    return Status::NotSupported("store uses features newer than this program (superblock flags " +
                                std::to_string(sb.flags) + ")");
  }
  Status valid = sb.config.Validate();
  if (!valid.ok()) {
    return Status::Corruption("superblock slot has an invalid configuration: " +
                              std::string(valid.message()));
  }
  return sb;
}

}  // namespace

Result<Superblock> DecodeSuperblock(std::string_view slot, std::string_view store) {
  REVFS_ASSIGN_OR_RETURN(Decoder in, OpenSlot(slot));
  const uint32_t version = in.U32();
  if (version != kStoreFormatVersion) {
    // Formats differ in how pages and records are laid out (engine/FORMAT.md):
    // a store of another format is refused, never read as this one.
    const bool newer = version > kStoreFormatVersion;
    return Status::NotSupported(
        "store format " + std::to_string(version) + " is " + (newer ? "newer" : "older") +
        " than this program (format " + std::to_string(kStoreFormatVersion) + ")" +
        (newer          ? ""
         : version == 2 ? "; run `revfs upgrade " + std::string(store) + "`"
                        : "; commit its trees into a new store"));
  }
  return DecodeFields(in, version);
}

Result<Superblock> DecodeSuperblockForUpgrade(std::string_view slot) {
  REVFS_ASSIGN_OR_RETURN(Decoder in, OpenSlot(slot));
  const uint32_t version = in.U32();
  if (version != 2 && version != kStoreFormatVersion) {
    return Status::NotSupported("store format " + std::to_string(version) +
                                " cannot be upgraded by this program (it upgrades format 2)");
  }
  return DecodeFields(in, version);
}

}  // namespace revfs
