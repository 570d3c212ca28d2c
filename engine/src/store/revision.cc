#include "store/revision.h"

#include <xxhash.h>

#include <algorithm>

#include "util/coding.h"

namespace revfs {
namespace {
constexpr size_t kMaxMessage = 64 * 1024;
constexpr uint32_t kMaxCounters = 256;
constexpr size_t kMaxCounterName = 255;
}  // namespace

uint64_t RevisionRoot::Counter(std::string_view name) const {
  for (const auto& [key, value] : counters) {
    if (key == name) return value;
  }
  return 0;
}

std::string EncodeRevisionRoot(const RevisionRoot& root) {
  std::string s;
  PutFixed64(&s, root.number);
  PutFixed64(&s, static_cast<uint64_t>(root.time_ns));
  PutBytes(&s, root.message);
  EncodePageRef(&s, root.trie_root);
  PutFixed32(&s, root.trie_height);
  PutFixed32(&s, static_cast<uint32_t>(root.counters.size()));
  for (const auto& [name, value] : root.counters) {
    s.push_back(static_cast<char>(std::min<size_t>(name.size(), kMaxCounterName)));
    s.append(name, 0, std::min<size_t>(name.size(), kMaxCounterName));
    PutVarint64(&s, value);
  }
  return s;
}

Result<RevisionRoot> DecodeRevisionRoot(std::string_view payload) {
  Decoder in(payload);
  RevisionRoot root;
  root.number = in.U64();
  root.time_ns = static_cast<int64_t>(in.U64());
  root.message = std::string(in.Bytes(kMaxMessage));
  root.trie_root = DecodePageRef(&in);
  root.trie_height = in.U32();
  uint32_t n = in.U32();
  if (n > kMaxCounters) return Status::Corruption("revision root: too many counters");
  for (uint32_t i = 0; i < n && in.ok(); ++i) {
    std::string name(in.ShortBytes());
    uint64_t value = in.Varint64();
    root.counters.emplace_back(std::move(name), value);
  }
  if (!in.ok() || in.remaining() != 0) {
    return Status::Corruption("revision root: malformed");
  }
  return root;
}

std::string EncodeRevisionEntry(const RevisionEntry& e) {
  std::string s;
  PutFixed64(&s, e.number);
  PutFixed64(&s, static_cast<uint64_t>(e.time_ns));
  EncodePageRef(&s, e.root);
  PutFixed32(&s, 0);  // reserved
  PutFixed64(&s, XXH3_64bits(s.data(), s.size()));
  return s;
}

Result<RevisionEntry> DecodeRevisionEntry(std::string_view bytes) {
  if (bytes.size() != kRevisionEntrySize) {
    return Status::Corruption("revisions index: truncated entry");
  }
  if (XXH3_64bits(bytes.data(), kRevisionEntrySize - 8) !=
      DecodeFixed64(bytes.data() + kRevisionEntrySize - 8)) {
    return Status::Corruption("revisions index: entry checksum mismatch");
  }
  Decoder in(bytes);
  RevisionEntry e;
  e.number = in.U64();
  e.time_ns = static_cast<int64_t>(in.U64());
  e.root = DecodePageRef(&in);
  return e;
}

}  // namespace revfs
