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

Result<std::pair<uint64_t, PathRecord>> ResolveHistoryPath(ReadTrx& trx, std::string_view path) {
  REVFS_ASSIGN_OR_RETURN(bool has, HasHistory(trx));
  if (!has) {
    return Status::NotSupported("revision " + std::to_string(trx.revision()) +
                                      " has no history index; run `revfs reindex " +
                                      trx.database().store().path() + "`");
  }
  auto not_found = [&] {
    return Status::NotFound(std::string(path) + ": never existed up to revision " +
                            std::to_string(trx.revision()));
  };
  uint64_t id = kRootPath;
  REVFS_ASSIGN_OR_RETURN(auto rec, LoadPath(trx, id));
  if (!rec) return not_found();
  for (const std::string& name : Components(path)) {
    REVFS_ASSIGN_OR_RETURN(auto value, MapGet(trx, kNamesBlockBase, rec->names, name));
    if (!value) return not_found();
    REVFS_ASSIGN_OR_RETURN(id, DecodeId(*value));
    REVFS_ASSIGN_OR_RETURN(rec, LoadPath(trx, id));
    if (!rec) return Status::Corruption("history: path " + std::to_string(id) + " is missing");
  }
  return std::make_pair(id, std::move(*rec));
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

Status ListVersions(ReadTrx& trx, std::string_view path,
                    const std::function<bool(const PathVersion&)>& fn) {
  REVFS_ASSIGN_OR_RETURN(auto found, ResolveHistoryPath(trx, path));
  const uint64_t id = found.first;
  const Store& store = trx.database().store();
  // The kept revision a version is seen at (none past the revision read).
  auto seen_at = [&](uint64_t r) -> std::optional<uint64_t> {
    while (r <= trx.revision() && store.IsForgotten(r)) ++r;
    if (r > trx.revision()) return std::nullopt;
    return r;
  };
  std::optional<PathVersion> held, last;
  bool go = true;
  auto flush = [&](const PathVersion* next) {
    if (!held) return;
    const auto at = seen_at(held->revision);
    if (!at || (next && *at >= next->revision)) return;
    // Said against the version shown before it (versions between them may
    // have been left out): a deletion of what was absent is no change.
    PathVersion shown = *held;
    shown.revision = *at;
    const bool present =
        last ? last->change != HistoryChange::kDeleted : id == kRootPath;  // the root always is
    if (shown.change == HistoryChange::kDeleted && !present) return;
    if (shown.change != HistoryChange::kDeleted && !present) {
      shown.change = HistoryChange::kAdded;
    } else if (shown.change == HistoryChange::kAdded) {
      shown.change =
          shown.type != last->type ? HistoryChange::kTypeChanged : HistoryChange::kModified;
    }
    last = shown;
    go = fn(shown);
  };
  // A block at a time, until one is not full (a path's entries are dense).
  Status decode;
  uint64_t in_block = history::kEntriesPerBlock;
  for (uint64_t n = 0; go && in_block == history::kEntriesPerBlock && n < history::kMaxVersions;
       n += history::kEntriesPerBlock) {
    in_block = 0;
    REVFS_RETURN_IF_ERROR(trx.Scan(VersionKey(id, n),
                                   VersionKey(id, n + history::kEntriesPerBlock - 1),
                                   [&](uint64_t, std::string_view bytes) {
                                     auto v = DecodeVersion(bytes);
                                     if (!v.ok()) {
                                       decode = v.status();
                                       return false;
                                     }
                                     ++in_block;
                                     flush(&*v);
                                     held = *v;
                                     return go;
                                   }));
    REVFS_RETURN_IF_ERROR(decode);
  }
  if (go) flush(nullptr);
  return Status::OK();
}

Status ListHistoryNames(ReadTrx& trx, std::string_view path,
                        const std::function<bool(std::string_view)>& fn) {
  REVFS_ASSIGN_OR_RETURN(auto found, ResolveHistoryPath(trx, path));
  return MapScan(trx, kNamesBlockBase, found.second.names, "",
                 [&](std::string_view name, std::string_view) { return fn(name); });
}

}  // namespace revfs
