// The history index (engine/FORMAT.md, "The history of every path"): its
// records and its readers. The writer is history_write.cc.
#include "revfs/history.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tree/history_records.h"
#include "tree/sorted_map.h"
#include "util/coding.h"
#include "util/hash.h"

namespace revfs {
namespace history {

std::string EncodeHeader(const Header& h) {
  std::string s(1, static_cast<char>(kHeaderMagic));
  PutVarint64(&s, h.next_path);
  PutVarint64(&s, h.next_block);
  return s;
}

Result<Header> DecodeHeader(std::string_view bytes) {
  Decoder in(bytes);
  Header h;
  const uint8_t magic = in.U8();
  h.next_path = in.Varint64();
  h.next_block = in.Varint64();
  if (!in.ok() || in.remaining() != 0 || magic != kHeaderMagic || h.next_path <= kRootPath ||
      h.next_path > kMaxPathId || h.next_block == 0) {
    return Status::Corruption("history header: malformed");
  }
  return h;
}

std::string EncodePath(const PathRecord& p) {
  std::string s;
  PutVarint64(&s, p.parent);
  PutVarint64(&s, p.name.size());
  s += p.name;
  EncodeMapRoot(&s, p.names);
  return s;
}

Result<PathRecord> DecodePath(std::string_view bytes) {
  Decoder in(bytes);
  PathRecord p;
  p.parent = in.Varint64();
  p.name = std::string(in.VarBytes(kMaxMapKey));
  p.names = DecodeMapRoot(&in);
  if (!in.ok() || in.remaining() != 0) {
    return Status::Corruption("history path record: malformed");
  }
  return p;
}

std::string EncodeVersion(const PathVersion& v) {
  std::string s;
  PutVarint64(&s, v.revision);
  s.push_back(static_cast<char>(v.change));
  s.push_back(static_cast<char>(v.type));
  PutVarint64(&s, v.ino);
  PutHash(&s, v.identity);
  PutVarint64(&s, v.size);
  PutVarint64(&s, ZigZag(v.mtime_ns));
  return s;
}

Result<PathVersion> DecodeVersion(std::string_view bytes) {
  Decoder in(bytes);
  PathVersion v;
  v.revision = in.Varint64();
  const uint8_t change = in.U8();
  const uint8_t type = in.U8();
  v.ino = in.Varint64();
  v.identity = GetHash(&in);
  v.size = in.Varint64();
  v.mtime_ns = UnZigZag(in.Varint64());
  if (!in.ok() || in.remaining() != 0 || change < 1 || change > 5 || type < 1 || type > 7) {
    return Status::Corruption("history version entry: malformed");
  }
  v.change = static_cast<HistoryChange>(change);
  v.type = static_cast<FileType>(type);
  return v;
}

Result<std::optional<PathRecord>> LoadPath(ReadTrx& trx, uint64_t id) {
  REVFS_ASSIGN_OR_RETURN(auto rec, trx.Get(PathKey(id)));
  if (!rec) return std::optional<PathRecord>();
  auto p = DecodePath(rec->value());
  if (!p.ok()) return p.status().WithContext("path " + std::to_string(id));
  return std::optional<PathRecord>(std::move(p).value());
}

Result<uint64_t> DecodeId(std::string_view value) {
  Decoder in(value);
  const uint64_t id = in.Varint64();
  if (!in.ok() || in.remaining() != 0 || id <= kRootPath || id >= kMaxPathId) {
    return Status::Corruption("history names map: malformed entry");
  }
  return id;
}

// The path's record in revision `trx`'s index.

}  // namespace history

using history::kRootPath;
using history::VersionKey;
using history::PathRecord;
using history::DecodeVersion;
using history::LoadPath;
using history::DecodeId;
using history::kEntriesPerBlock;

namespace {

// "a/b/c" -> {"a", "b", "c"}; "" and "/" -> {}.
std::vector<std::string> Components(std::string_view path) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > at) out.emplace_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  return out;
}

Status RequireHistory(ReadTrx& trx) {
  REVFS_ASSIGN_OR_RETURN(bool has, HasHistory(trx));
  if (has) return Status::OK();
  return Status::NotSupported("revision " + std::to_string(trx.revision()) +
                              " has no history index; run `revfs reindex " +
                              trx.database().store().path() + "`");
}

// Path `id`'s record, which must be there.
Result<PathRecord> RequirePath(ReadTrx& trx, uint64_t id) {
  REVFS_ASSIGN_OR_RETURN(auto rec, LoadPath(trx, id));
  if (!rec) return Status::Corruption("history: path " + std::to_string(id) + " is missing");
  return std::move(*rec);
}

Result<std::optional<uint64_t>> ChildOf(ReadTrx& trx, const PathRecord& dir,
                                        std::string_view name) {
  REVFS_ASSIGN_OR_RETURN(auto value, MapGet(trx, kNamesBlockBase, dir.names, name));
  if (!value) return std::optional<uint64_t>();
  REVFS_ASSIGN_OR_RETURN(uint64_t id, DecodeId(*value));
  return std::optional<uint64_t>(id);
}

// The kept revision a version made by revision `r` is seen at in `trx`:
// the first kept one from `r` on, none past trx's.
std::optional<uint64_t> SeenAt(ReadTrx& trx, uint64_t r) {
  const Store& store = trx.database().store();
  while (r <= trx.revision() && store.IsForgotten(r)) ++r;
  if (r > trx.revision()) return std::nullopt;
  return r;
}

// Entry `n` of path `id`, if there.
Result<std::optional<PathVersion>> EntryOf(ReadTrx& trx, uint64_t id, uint64_t n) {
  REVFS_ASSIGN_OR_RETURN(auto rec, trx.Get(VersionKey(id, n)));
  if (!rec) return std::optional<PathVersion>();
  REVFS_ASSIGN_OR_RETURN(PathVersion v, DecodeVersion(rec->value()));
  return std::optional<PathVersion>(v);
}

// Calls fn(n, entry) for path `id`'s entries from the n-th on, as
// recorded, until it returns false (a block at a time: entries are dense).
Status ScanEntries(ReadTrx& trx, uint64_t id, uint64_t from,
                   const std::function<bool(uint64_t, const PathVersion&)>& fn) {
  Status decode;
  bool go = true;
  uint64_t n = from;
  while (go && n < history::kMaxVersions) {
    const uint64_t block_end = (n / kEntriesPerBlock + 1) * kEntriesPerBlock;
    REVFS_RETURN_IF_ERROR(trx.Scan(VersionKey(id, n), VersionKey(id, block_end - 1),
                                   [&](uint64_t, std::string_view bytes) {
                                     auto v = DecodeVersion(bytes);
                                     if (!v.ok()) {
                                       decode = v.status();
                                       return false;
                                     }
                                     go = fn(n++, *v);
                                     return go;
                                   }));
    REVFS_RETURN_IF_ERROR(decode);
    if (n != block_end) break;  // the block was not full: the last
  }
  return Status::OK();
}

// The last entry of path `id` made by revision `rev` or before, with its
// position: a doubling then halving search over the blocks' first entries
// (O(log versions) reads), then one block's scan.
Result<std::optional<std::pair<uint64_t, PathVersion>>> LastEntryUpTo(ReadTrx& trx, uint64_t id,
                                                                     uint64_t rev) {
  using Found = std::optional<std::pair<uint64_t, PathVersion>>;
  const uint64_t blocks_max = history::kMaxVersions / kEntriesPerBlock;
  auto block_up_to = [&](uint64_t b) -> Result<bool> {  // block b starts at or before rev
    REVFS_ASSIGN_OR_RETURN(auto first, EntryOf(trx, id, b * kEntriesPerBlock));
    return first && first->revision <= rev;
  };
  REVFS_ASSIGN_OR_RETURN(bool any, block_up_to(0));
  if (!any) return Found();
  uint64_t lo = 0, hi = 1;  // block lo qualifies; block hi does not, or is past the end
  for (;;) {
    if (hi >= blocks_max) {
      hi = blocks_max;
      break;
    }
    REVFS_ASSIGN_OR_RETURN(bool up_to, block_up_to(hi));
    if (!up_to) break;
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    REVFS_ASSIGN_OR_RETURN(bool up_to, block_up_to(mid));
    (up_to ? lo : hi) = mid;
  }
  Found found;
  REVFS_RETURN_IF_ERROR(ScanEntries(trx, id, lo * kEntriesPerBlock,
                                    [&](uint64_t n, const PathVersion& v) {
                                      if (v.revision > rev) return false;
                                      found.emplace(n, v);
                                      return n % kEntriesPerBlock != kEntriesPerBlock - 1;
                                    }));
  return found;
}

}  // namespace

const char* HistoryChangeName(HistoryChange c) {
  switch (c) {
    case HistoryChange::kAdded: return "added";
    case HistoryChange::kModified: return "modified";
    case HistoryChange::kMetadata: return "metadata";
    case HistoryChange::kTypeChanged: return "type";
    case HistoryChange::kDeleted: return "deleted";
  }
  return "unknown";
}

Result<bool> HasHistory(ReadTrx& trx) {
  REVFS_ASSIGN_OR_RETURN(auto header, trx.Get(kMetaKey | kHistoryKey));
  return header.has_value();
}

Result<uint64_t> HistoryPathId(ReadTrx& trx, std::string_view path) {
  REVFS_RETURN_IF_ERROR(RequireHistory(trx));
  auto not_found = [&] {
    return Status::NotFound(std::string(path) + ": never existed up to revision " +
                            std::to_string(trx.revision()));
  };
  uint64_t id = kRootPath;
  REVFS_ASSIGN_OR_RETURN(auto rec, LoadPath(trx, id));
  if (!rec) return not_found();
  for (const std::string& name : Components(path)) {
    REVFS_ASSIGN_OR_RETURN(auto child, ChildOf(trx, *rec, name));
    if (!child) return not_found();
    id = *child;
    REVFS_ASSIGN_OR_RETURN(*rec, RequirePath(trx, id));
  }
  return id;
}

Result<uint64_t> WarmHistoryLookups(ReadTrx& trx, uint64_t budget) {
  REVFS_ASSIGN_OR_RETURN(bool has, HasHistory(trx));
  if (!has) return uint64_t{0};
  uint64_t bytes = 0;
  for (uint64_t base : {kPathBase, kNamesBlockBase}) {
    if (bytes >= budget) break;
    REVFS_RETURN_IF_ERROR(trx.Scan(base, base | ((uint64_t{1} << 60) - 1),
                                   [&](uint64_t, std::string_view value) {
                                     bytes += value.size();
                                     return bytes < budget;
                                   }));
  }
  return bytes;
}

Result<std::optional<uint64_t>> HistoryChild(ReadTrx& trx, uint64_t dir,
                                             std::string_view name) {
  REVFS_RETURN_IF_ERROR(RequireHistory(trx));
  REVFS_ASSIGN_OR_RETURN(PathRecord rec, RequirePath(trx, dir));
  return ChildOf(trx, rec, name);
}

Status ListHistoryChildren(ReadTrx& trx, uint64_t dir, std::string_view after,
                           const std::function<bool(std::string_view, uint64_t)>& fn) {
  REVFS_RETURN_IF_ERROR(RequireHistory(trx));
  REVFS_ASSIGN_OR_RETURN(PathRecord rec, RequirePath(trx, dir));
  Status decode;
  REVFS_RETURN_IF_ERROR(
      MapScan(trx, kNamesBlockBase, rec.names, after, [&](std::string_view name, std::string_view v) {
        if (!after.empty() && name == after) return true;
        auto id = DecodeId(v);
        if (!id.ok()) {
          decode = id.status();
          return false;
        }
        return fn(name, *id);
      }));
  return decode;
}

Status ListVersionsFrom(ReadTrx& trx, uint64_t id, uint64_t from,
                        const std::function<bool(uint64_t, const PathVersion&)>& fn) {
  REVFS_RETURN_IF_ERROR(RequireHistory(trx));
  // An entry is given at the kept revision it is seen at, when the next
  // entry was not made by then (a forgotten revision's version that a later
  // one replaced before any kept revision saw it is left out).
  std::optional<std::pair<uint64_t, PathVersion>> held;
  bool go = true;
  auto flush = [&](const PathVersion* next) {
    if (!held) return;
    const auto at = SeenAt(trx, held->second.revision);
    if (!at || (next && *at >= next->revision)) return;
    PathVersion shown = held->second;
    shown.revision = *at;
    go = fn(held->first, shown);
  };
  REVFS_RETURN_IF_ERROR(ScanEntries(trx, id, from, [&](uint64_t n, const PathVersion& v) {
    flush(&v);
    held.emplace(n, v);
    return go;
  }));
  if (go) flush(nullptr);
  return Status::OK();
}

Result<std::optional<PathVersion>> VersionAt(ReadTrx& trx, uint64_t id, uint64_t rev) {
  REVFS_RETURN_IF_ERROR(RequireHistory(trx));
  if (rev > trx.revision()) return std::optional<PathVersion>();
  REVFS_ASSIGN_OR_RETURN(auto last, LastEntryUpTo(trx, id, rev));
  if (!last || SeenAt(trx, last->second.revision) != rev) return std::optional<PathVersion>();
  last->second.revision = rev;
  return std::optional<PathVersion>(last->second);
}

Result<std::optional<PathVersion>> LastVersion(ReadTrx& trx, uint64_t id) {
  REVFS_RETURN_IF_ERROR(RequireHistory(trx));
  REVFS_ASSIGN_OR_RETURN(auto last, LastEntryUpTo(trx, id, trx.revision()));
  if (!last) return std::optional<PathVersion>();
  const auto at = SeenAt(trx, last->second.revision);
  if (!at) return std::optional<PathVersion>();
  last->second.revision = *at;
  return std::optional<PathVersion>(last->second);
}

Status ListVersions(ReadTrx& trx, std::string_view path,
                    const std::function<bool(const PathVersion&)>& fn) {
  REVFS_ASSIGN_OR_RETURN(const uint64_t id, HistoryPathId(trx, path));
  // Each version is said against the one shown before it (versions between
  // them may have been left out): a deletion of what was absent is no
  // change, and what appears is added.
  std::optional<PathVersion> last;
  return ListVersionsFrom(trx, id, 0, [&](uint64_t, const PathVersion& v) {
    const bool present =
        last ? last->change != HistoryChange::kDeleted : id == kRootPath;  // the root always is
    if (v.change == HistoryChange::kDeleted && !present) return true;
    PathVersion shown = v;
    if (shown.change != HistoryChange::kDeleted && !present) {
      shown.change = HistoryChange::kAdded;
    } else if (shown.change == HistoryChange::kAdded) {
      shown.change =
          shown.type != last->type ? HistoryChange::kTypeChanged : HistoryChange::kModified;
    }
    last = shown;
    return fn(shown);
  });
}

Status ListHistoryNames(ReadTrx& trx, std::string_view path,
                        const std::function<bool(std::string_view)>& fn) {
  REVFS_ASSIGN_OR_RETURN(const uint64_t id, HistoryPathId(trx, path));
  return ListHistoryChildren(trx, id, "",
                             [&](std::string_view name, uint64_t) { return fn(name); });
}

}  // namespace revfs
