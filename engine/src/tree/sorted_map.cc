#include "tree/sorted_map.h"

#include <xxhash.h>

#include <algorithm>
#include <memory>

namespace revfs {
namespace {

constexpr size_t kHardMax = 3900;    // a block must fit one record
constexpr uint64_t kAverageFanout = 32;

struct BlockEntry {
  std::string_view key;
  std::string_view value;  // level 0
  uint64_t child = 0;      // level > 0
  Digest256 hash;
  uint64_t below = 0;
};

struct Block {
  std::optional<PinnedRecord> record;
  int level = 0;
  std::vector<BlockEntry> entries;
};

// `digest_size`: of the child digests in blocks of level > 0 (16 in a
// format-2 map, whose root digest is short).
Status ParseBlock(std::string_view bytes, size_t digest_size, Block* block) {
  Decoder in(bytes);
  block->level = in.U8();
  uint16_t count = in.U16();
  if (!in.ok() || block->level > 16) return Status::Corruption("sorted map block: bad header");
  block->entries.clear();
  block->entries.reserve(count);
  std::string_view prev;
  for (uint16_t i = 0; i < count; ++i) {
    BlockEntry e;
    uint16_t klen = in.U16();
    if (!in.ok() || klen > in.remaining()) return Status::Corruption("sorted map block: bad key");
    size_t pos = bytes.size() - in.remaining();
    e.key = bytes.substr(pos, klen);
    for (uint16_t k = 0; k < klen; ++k) in.U8();
    if (block->level == 0) {
      uint16_t vlen = in.U16();
      if (!in.ok() || vlen > in.remaining()) {
        return Status::Corruption("sorted map block: bad value");
      }
      pos = bytes.size() - in.remaining();
      e.value = bytes.substr(pos, vlen);
      for (uint16_t k = 0; k < vlen; ++k) in.U8();
    } else {
      e.child = in.U64();
      e.hash = GetHash(&in, digest_size);
      e.below = in.U64();
    }
    if (!in.ok() || (i > 0 && !(prev < e.key))) {
      return Status::Corruption("sorted map block: bad entry");
    }
    prev = e.key;
    block->entries.push_back(e);
  }
  if (!in.ok() || in.remaining() != 0) {
    return Status::Corruption("sorted map block: trailing bytes");
  }
  return Status::OK();
}

Status LoadBlock(ReadTrx& trx, uint64_t key_base, uint64_t id, int expected_level,
                 size_t digest_size, Block* block) {
  REVFS_ASSIGN_OR_RETURN(block->record, trx.Get(key_base | id));
  if (!block->record) {
    return Status::Corruption("sorted map block " + std::to_string(id) + " is missing");
  }
  Status s = ParseBlock(block->record->value(), digest_size, block);
  if (!s.ok()) return s.WithContext("sorted map block " + std::to_string(id));
  if (block->level != expected_level) {
    return Status::Corruption("sorted map block " + std::to_string(id) + " has the wrong level");
  }
  return Status::OK();
}

// Returns the index of the last entry whose key is <= `key`, or -1.
int FloorIndex(const Block& block, std::string_view key) {
  auto it = std::upper_bound(block.entries.begin(), block.entries.end(), key,
                             [](std::string_view k, const BlockEntry& e) { return k < e.key; });
  return static_cast<int>(it - block.entries.begin()) - 1;
}

// Descends to the leaf that would hold `key`; false if `key` precedes all.
Result<bool> DescendTo(ReadTrx& trx, uint64_t key_base, const MapRoot& root,
                       std::string_view key, Block* leaf) {
  uint64_t id = root.block;
  for (int level = root.level;; --level) {
    REVFS_RETURN_IF_ERROR(LoadBlock(trx, key_base, id, level, DigestSizeOf(root.hash), leaf));
    if (level == 0) return true;
    int i = FloorIndex(*leaf, key);
    if (i < 0) return false;
    id = leaf->entries[i].child;
  }
}

}  // namespace

void EncodeMapRoot(std::string* dst, const MapRoot& root) {
  PutFixed64(dst, root.block);
  dst->push_back(static_cast<char>(root.level));
  PutHash(dst, root.hash);
  PutFixed64(dst, root.count);
}

MapRoot DecodeMapRoot(Decoder* in) {
  MapRoot r;
  r.block = in->U64();
  r.level = in->U8();
  r.hash = GetHash(in);
  r.count = in->U64();
  return r;
}

SortedMapWriter::SortedMapWriter(WriteTrx* trx, uint64_t key_base,
                                 std::function<uint64_t()> next_id, const MapRoot& old)
    : trx_(trx), key_base_(key_base), next_id_(std::move(next_id)), old_(old) {}

Status SortedMapWriter::LoadOld() {
  loaded_ = true;
  if (old_.empty()) return Status::OK();
  known_.emplace(LookupKey(old_.hash), Known{old_.hash, old_.block, old_.level});
  old_ids_.insert(old_.block);
  std::vector<std::pair<uint64_t, int>> stack = {{old_.block, old_.level}};
  Block block;
  // As the transaction has them: the old map may have been written by it
  // (the history index writes a names map once per batch).
  std::unique_ptr<ReadTrx> view;
  while (!stack.empty()) {
    auto [id, level] = stack.back();
    stack.pop_back();
    if (level == 0) continue;
    if (!view) view = trx_->View();
    REVFS_RETURN_IF_ERROR(LoadBlock(*view, key_base_, id, level, DigestSizeOf(old_.hash), &block));
    for (const BlockEntry& e : block.entries) {
      known_.emplace(LookupKey(e.hash), Known{e.hash, e.child, static_cast<uint8_t>(level - 1)});
      old_ids_.insert(e.child);
      stack.emplace_back(e.child, level - 1);
    }
  }
  return Status::OK();
}

Status SortedMapWriter::Add(std::string_view key, std::string_view value) {
  if (key.size() > kMaxMapKey || value.size() > kMaxMapValue) {
    return Status::InvalidArgument("sorted map entry too large");
  }
  if (any_ && !(last_key_ < key)) return Status::InvalidArgument("sorted map keys must ascend");
  if (!loaded_) REVFS_RETURN_IF_ERROR(LoadOld());
  any_ = true;
  last_key_.assign(key);
  std::string payload;
  PutFixed16(&payload, static_cast<uint16_t>(value.size()));
  payload.append(value);
  return AddToLevel(0, key, payload, 1);
}

Status SortedMapWriter::AddToLevel(size_t level, std::string_view key,
                                    std::string_view payload, uint64_t entries) {
  if (levels_.size() <= level) levels_.resize(level + 1);
  const size_t entry_size = 2 + key.size() + payload.size();
  if (levels_[level].count > 0 && 3 + levels_[level].buf.size() + entry_size > kHardMax) {
    REVFS_RETURN_IF_ERROR(EmitBlock(level));
  }
  Level& lv = levels_[level];
  if (lv.count == 0) lv.first_key.assign(key);
  PutFixed16(&lv.buf, static_cast<uint16_t>(key.size()));
  lv.buf.append(key);
  lv.buf.append(payload);
  ++lv.count;
  lv.entries += entries;
  const uint64_t h = XXH3_64bits_withSeed(key.data(), key.size(), level + 1);
  if (h % kAverageFanout == 0) return EmitBlock(level);
  return Status::OK();
}

Status SortedMapWriter::EmitBlock(size_t level) {
  std::string bytes;
  bytes.push_back(static_cast<char>(level));
  PutFixed16(&bytes, levels_[level].count);
  bytes += levels_[level].buf;
  const Digest256 hash = HashBytes(bytes);
  uint64_t id = 0;
  auto candidates = known_.equal_range(LookupKey(hash));
  for (auto it = candidates.first; it != candidates.second && id == 0; ++it) {
    if (it->second.hash == hash && it->second.level == level) id = it->second.id;
  }
  if (id != 0) {
    kept_ids_.insert(id);
    ++reused_;
  } else {
    id = next_id_();
    REVFS_RETURN_IF_ERROR(trx_->Put(key_base_ | id, bytes));
    ++written_;
  }
  Level& lv = levels_[level];
  const uint64_t entries = lv.entries;
  std::string first = std::move(lv.first_key);
  lv.buf.clear();
  lv.count = 0;
  lv.entries = 0;
  lv.first_key.clear();
  ++lv.emitted;
  if (finishing_top_) {
    root_ = MapRoot{id, static_cast<uint8_t>(level), hash, entries};
    return Status::OK();
  }
  std::string payload;
  PutFixed64(&payload, id);
  PutHash(&payload, hash);
  PutFixed64(&payload, entries);
  return AddToLevel(level + 1, first, payload, entries);
}

Result<MapRoot> SortedMapWriter::Finish() {
  if (!loaded_) REVFS_RETURN_IF_ERROR(LoadOld());
  MapRoot root;
  if (any_) {
    for (size_t level = 0;; ++level) {
      const bool top = level + 1 == levels_.size();
      if (top && levels_[level].emitted == 0) {
        Level& lv = levels_[level];
        if (lv.count == 1 && level > 0) {
          // One child at the top: that child is the root.
          Decoder in(lv.buf);
          uint16_t klen = in.U16();
          for (uint16_t k = 0; k < klen; ++k) in.U8();
          root.block = in.U64();
          root.hash = GetHash(&in);
          root.count = in.U64();
          root.level = static_cast<uint8_t>(level - 1);
        } else {
          finishing_top_ = true;
          REVFS_RETURN_IF_ERROR(EmitBlock(level));
          root = *root_;
        }
        break;
      }
      if (levels_[level].count > 0) REVFS_RETURN_IF_ERROR(EmitBlock(level));
    }
  }
  for (uint64_t id : old_ids_) {
    if (!kept_ids_.count(id)) REVFS_RETURN_IF_ERROR(trx_->Delete(key_base_ | id));
  }
  return root;
}

Result<std::optional<std::string>> MapGet(ReadTrx& trx, uint64_t key_base,
                                          const MapRoot& root, std::string_view key) {
  if (root.empty()) return std::optional<std::string>();
  Block leaf;
  REVFS_ASSIGN_OR_RETURN(bool found, DescendTo(trx, key_base, root, key, &leaf));
  if (!found) return std::optional<std::string>();
  int i = FloorIndex(leaf, key);
  if (i < 0 || leaf.entries[i].key != key) return std::optional<std::string>();
  return std::optional<std::string>(std::string(leaf.entries[i].value));
}

Result<std::optional<std::pair<std::string, std::string>>> MapFloor(
    ReadTrx& trx, uint64_t key_base, const MapRoot& root, std::string_view key) {
  using Out = std::optional<std::pair<std::string, std::string>>;
  if (root.empty()) return Out();
  Block leaf;
  REVFS_ASSIGN_OR_RETURN(bool found, DescendTo(trx, key_base, root, key, &leaf));
  if (!found) return Out();
  int i = FloorIndex(leaf, key);
  if (i < 0) return Out();
  return Out(std::make_pair(std::string(leaf.entries[i].key), std::string(leaf.entries[i].value)));
}

namespace {

Status ScanBlock(ReadTrx& trx, uint64_t key_base, uint64_t id, int level, size_t digest_size,
                 std::string_view from,
                 const std::function<bool(std::string_view, std::string_view)>& fn, bool* stop) {
  Block block;
  REVFS_RETURN_IF_ERROR(LoadBlock(trx, key_base, id, level, digest_size, &block));
  if (level == 0) {
    auto it = std::lower_bound(block.entries.begin(), block.entries.end(), from,
                               [](const BlockEntry& e, std::string_view k) { return e.key < k; });
    for (; it != block.entries.end(); ++it) {
      if (!fn(it->key, it->value)) {
        *stop = true;
        break;
      }
    }
    return Status::OK();
  }
  int start = std::max(FloorIndex(block, from), 0);
  for (size_t i = static_cast<size_t>(start); i < block.entries.size() && !*stop; ++i) {
    REVFS_RETURN_IF_ERROR(
        ScanBlock(trx, key_base, block.entries[i].child, level - 1, digest_size, from, fn, stop));
  }
  return Status::OK();
}

}  // namespace

Status MapScan(ReadTrx& trx, uint64_t key_base, const MapRoot& root, std::string_view from,
               const std::function<bool(std::string_view, std::string_view)>& fn) {
  if (root.empty()) return Status::OK();
  bool stop = false;
  return ScanBlock(trx, key_base, root.block, root.level, DigestSizeOf(root.hash), from, fn,
                   &stop);
}

Status MapBlocks(ReadTrx& trx, uint64_t key_base, const MapRoot& root,
                 const std::function<void(uint64_t)>& fn) {
  if (root.empty()) return Status::OK();
  std::vector<std::pair<uint64_t, int>> stack = {{root.block, root.level}};
  Block block;
  while (!stack.empty()) {
    auto [id, level] = stack.back();
    stack.pop_back();
    fn(id);
    if (level == 0) continue;
    REVFS_RETURN_IF_ERROR(LoadBlock(trx, key_base, id, level, DigestSizeOf(root.hash), &block));
    for (const BlockEntry& e : block.entries) stack.emplace_back(e.child, level - 1);
  }
  return Status::OK();
}

Status MapWalk(ReadTrx& trx, uint64_t key_base, const MapRoot& root,
               const std::function<bool(uint64_t id, uint64_t parent)>& enter,
               const std::function<void(std::string_view, std::string_view)>& fn) {
  if (root.empty()) return Status::OK();
  struct Pending {
    uint64_t id, parent;
    int level;
  };
  std::vector<Pending> stack = {{root.block, kNoParentBlock, root.level}};
  Block block;
  while (!stack.empty()) {
    const Pending next = stack.back();
    stack.pop_back();
    if (!enter(next.id, next.parent)) continue;
    REVFS_RETURN_IF_ERROR(
        LoadBlock(trx, key_base, next.id, next.level, DigestSizeOf(root.hash), &block));
    for (const BlockEntry& e : block.entries) {
      if (next.level == 0) {
        fn(e.key, e.value);
      } else {
        stack.push_back({e.child, next.id, next.level - 1});
      }
    }
  }
  return Status::OK();
}

}  // namespace revfs
