// The writer of the history index (engine/FORMAT.md, "The history of every
// path"): the version entries of one revision's changes, for a commit
// (RecordHistory) or for every kept revision (Reindex).
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "revfs/diff.h"
#include "revfs/history.h"
#include "revfs/tree.h"
#include "tree/history_records.h"
#include "tree/sorted_map.h"
#include "util/coding.h"

namespace revfs {
namespace {

using history::kRootPath;
using history::kMaxPathId;
using history::kMaxVersions;
using history::PathKey;
using history::VersionKey;
using history::Header;
using history::EncodeHeader;
using history::DecodeHeader;
using history::PathRecord;
using history::EncodePath;
using history::EncodeVersion;
using history::LoadPath;
using history::DecodeId;

std::string Child(const std::string& parent, std::string_view name) {
  return parent.empty() ? std::string(name) : parent + "/" + std::string(name);
}

// Builds the version entries of one revision and writes them to `trx`.

class HistoryWriter {
 public:
  HistoryWriter(WriteTrx& trx, uint64_t revision)
      : trx_(trx), view_(trx.View()), revision_(revision) {}

  // The changes from `before` (none: the empty tree) to `after`.
  Status Collect(ReadTrx* before, ReadTrx& after, bool compare_bytes) {
    if (!before) return Walk(after, "", HistoryChange::kAdded);
    std::vector<std::pair<ChangeKind, std::string>> changes;
    REVFS_RETURN_IF_ERROR(DiffTrees(
        *before, after, "",
        [&](ChangeKind k, const std::string& p) { changes.emplace_back(k, p == "/" ? "" : p); },
        compare_bytes));
    for (const auto& [kind, path] : changes) {
      switch (kind) {
        case ChangeKind::kAdded:
          REVFS_RETURN_IF_ERROR(Walk(after, path, HistoryChange::kAdded));
          break;
        case ChangeKind::kDeleted:
          REVFS_RETURN_IF_ERROR(Walk(*before, path, HistoryChange::kDeleted));
          break;
        case ChangeKind::kTypeChanged:
          REVFS_RETURN_IF_ERROR(Walk(*before, path, HistoryChange::kDeleted, /*below=*/true));
          REVFS_RETURN_IF_ERROR(Walk(after, path, HistoryChange::kTypeChanged));
          break;
        case ChangeKind::kModified:
        case ChangeKind::kMetadata: {
          REVFS_ASSIGN_OR_RETURN(auto found, ResolvePath(after, path));
          Note(path, kind == ChangeKind::kModified ? HistoryChange::kModified
                                                   : HistoryChange::kMetadata,
               found.first, found.second);
          break;
        }
      }
    }
    return Status::OK();
  }

  // Appends the entries collected, in path order, and writes the records.
  Result<HistoryStats> Write() {
    REVFS_ASSIGN_OR_RETURN(auto header, view_->Get(kMetaKey | kHistoryKey));
    if (header) {
      REVFS_ASSIGN_OR_RETURN(header_, DecodeHeader(header->value()));
    }
    std::sort(events_.begin(), events_.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    for (const auto& [path, version] : events_) {
      REVFS_ASSIGN_OR_RETURN(uint64_t id, IdOf(path));
      REVFS_RETURN_IF_ERROR(Append(id, version));
    }
    for (auto& [parent, names] : new_names_) {
      REVFS_ASSIGN_OR_RETURN(PathRecord * rec, Rec(parent));
      REVFS_RETURN_IF_ERROR(MergeNames(rec, &names));
    }
    for (const auto& [id, rec] : paths_) {
      std::string bytes = EncodePath(rec);
      auto was = loaded_.find(id);
      if (was == loaded_.end() || was->second != bytes) {
        REVFS_RETURN_IF_ERROR(trx_.Put(PathKey(id), bytes));
      }
    }
    for (const auto& [key, bytes] : entries_) REVFS_RETURN_IF_ERROR(trx_.Put(key, bytes));
    const std::string bytes = EncodeHeader(header_);
    if (!header || header->value() != bytes) {
      REVFS_RETURN_IF_ERROR(trx_.Put(kMetaKey | kHistoryKey, bytes));
    }
    return stats_;
  }

 private:
  void Note(const std::string& path, HistoryChange change, uint64_t ino, const Inode& inode) {
    // The root is always there: only its metadata has versions.
    if (path.empty() && change != HistoryChange::kMetadata) return;
    PathVersion v;
    v.revision = revision_;
    v.change = change;
    v.type = inode.type;
    v.ino = change == HistoryChange::kDeleted ? 0 : ino;
    if (change != HistoryChange::kDeleted) {
      v.identity = inode.identity;
      v.size = inode.size;
      v.mtime_ns = inode.mtime_ns;
    }
    events_.emplace_back(path, v);
  }

  // `path` in `trx` and, if it is a directory, every path below it, with
  // `change` (the paths below only when `below`).
  Status Walk(ReadTrx& trx, const std::string& path, HistoryChange change, bool below = false) {
    auto found = ResolvePath(trx, path);
    if (!found.ok()) return found.status().IsNotFound() ? Status::OK() : found.status();
    if (!below) Note(path, change, found->first, found->second);
    if (found->second.type != FileType::kDirectory) return Status::OK();
    const HistoryChange inner =
        change == HistoryChange::kDeleted ? HistoryChange::kDeleted : HistoryChange::kAdded;
    std::vector<std::pair<std::string, DirEntry>> stack;
    auto push_children = [&](const std::string& dir, const Inode& inode) {
      return ListDirectory(trx, inode, "", [&](std::string_view name, const DirEntry& e) {
        stack.emplace_back(Child(dir, name), e);
        return true;
      });
    };
    REVFS_RETURN_IF_ERROR(push_children(path, found->second));
    while (!stack.empty()) {
      auto [child, entry] = std::move(stack.back());
      stack.pop_back();
      REVFS_ASSIGN_OR_RETURN(Inode inode, GetInode(trx, entry.ino));
      Note(child, inner, entry.ino, inode);
      if (inode.type == FileType::kDirectory) REVFS_RETURN_IF_ERROR(push_children(child, inode));
    }
    return Status::OK();
  }

  Result<PathRecord*> Rec(uint64_t id) {
    auto it = paths_.find(id);
    if (it != paths_.end()) return &it->second;
    REVFS_ASSIGN_OR_RETURN(auto rec, LoadPath(*view_, id));
    if (rec) loaded_.emplace(id, EncodePath(*rec));
    if (!rec) {
      if (id != kRootPath) {
        return Status::Corruption("history: path " + std::to_string(id) + " is missing");
      }
      rec = PathRecord{};
    }
    return &paths_.emplace(id, std::move(*rec)).first->second;
  }

  Result<uint64_t> IdOf(const std::string& path) {
    if (path.empty()) return kRootPath;
    if (auto it = ids_.find(path); it != ids_.end()) return it->second;
    const size_t slash = path.rfind('/');
    const std::string parent = slash == std::string::npos ? "" : path.substr(0, slash);
    const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    REVFS_ASSIGN_OR_RETURN(uint64_t pid, IdOf(parent));
    REVFS_ASSIGN_OR_RETURN(PathRecord * prec, Rec(pid));
    uint64_t id = 0;
    REVFS_ASSIGN_OR_RETURN(auto value, MapGet(*view_, kNamesBlockBase, prec->names, name));
    if (value) {
      REVFS_ASSIGN_OR_RETURN(id, DecodeId(*value));
    } else {
      if (header_.next_path >= kMaxPathId) return Status::ResourceExhausted("history: path ids");
      id = header_.next_path++;
      paths_.emplace(id, PathRecord{pid, name, MapRoot{}});
      created_.insert(id);
      new_names_[pid].emplace_back(name, id);
      ++stats_.new_paths;
    }
    ids_.emplace(path, id);
    return id;
  }

  // Appends entry n to the path, n the number it has (found by a binary
  // search of its dense entries, once per path and transaction).
  Status Append(uint64_t id, const PathVersion& v) {
    auto next = next_.find(id);
    if (next == next_.end()) {
      uint64_t lo = 0, hi = kMaxVersions;  // entries [0, lo) exist, [hi, ...) do not
      if (!created_.count(id)) {
        while (lo < hi) {
          const uint64_t mid = lo + (hi - lo) / 2;
          REVFS_ASSIGN_OR_RETURN(auto rec, view_->Get(VersionKey(id, mid)));
          if (rec) {
            lo = mid + 1;
          } else {
            hi = mid;
          }
        }
      }
      next = next_.emplace(id, lo).first;
    }
    if (next->second >= kMaxVersions) {
      return Status::ResourceExhausted("history: versions of one path");
    }
    entries_.emplace(VersionKey(id, next->second++), EncodeVersion(v));
    ++stats_.entries;
    return Status::OK();
  }

  Status MergeNames(PathRecord* rec, std::vector<std::pair<std::string, uint64_t>>* added) {
    std::sort(added->begin(), added->end());
    std::vector<std::pair<std::string, std::string>> all;
    REVFS_RETURN_IF_ERROR(MapScan(*view_, kNamesBlockBase, rec->names, "",
                                  [&](std::string_view k, std::string_view v) {
                                    all.emplace_back(std::string(k), std::string(v));
                                    return true;
                                  }));
    for (const auto& [name, id] : *added) {
      std::string v;
      PutVarint64(&v, id);
      all.emplace_back(name, std::move(v));
    }
    std::sort(all.begin(), all.end());
    SortedMapWriter writer(&trx_, kNamesBlockBase, [this] { return header_.next_block++; },
                           rec->names);
    for (const auto& [k, v] : all) REVFS_RETURN_IF_ERROR(writer.Add(k, v));
    REVFS_ASSIGN_OR_RETURN(rec->names, writer.Finish());
    return Status::OK();
  }

  WriteTrx& trx_;
  std::unique_ptr<ReadTrx> view_;
  const uint64_t revision_;
  Header header_;
  std::vector<std::pair<std::string, PathVersion>> events_;
  std::map<uint64_t, PathRecord> paths_;  // read or made, by id
  std::map<uint64_t, std::string> loaded_;  // the bytes of those read
  std::map<uint64_t, std::string> entries_;    // new version entries, by key
  std::unordered_map<uint64_t, uint64_t> next_;  // a path's next entry number
  std::unordered_set<uint64_t> created_;         // paths made by this revision
  std::unordered_map<std::string, uint64_t> ids_;
  std::map<uint64_t, std::vector<std::pair<std::string, uint64_t>>> new_names_;
  HistoryStats stats_;
};

bool IsHistoryKey(uint64_t key) {
  const uint64_t kind = key >> 60;
  return key == (kMetaKey | kHistoryKey) || kind == kPathBase >> 60 ||
         kind == kVersionBase >> 60 || kind == kNamesBlockBase >> 60;
}

}  // namespace

Status RecordHistory(Database&, WriteTrx& trx, HistoryStats* stats) {
  *stats = HistoryStats{};
  REVFS_ASSIGN_OR_RETURN(bool has, HasHistory(trx.base()));
  if (!has && trx.base().revision() != 0) return Status::OK();
  HistoryWriter writer(trx, trx.revision());
  std::unique_ptr<ReadTrx> after = trx.View();
  REVFS_RETURN_IF_ERROR(writer.Collect(&trx.base(), *after, /*compare_bytes=*/false));
  REVFS_ASSIGN_OR_RETURN(*stats, writer.Write());
  return Status::OK();
}

Result<uint64_t> Reindex(Database& db) {
  const std::vector<uint64_t> kept = db.store().KeptRevisions();
  uint64_t entries = 0;
  std::optional<uint64_t> prev;
  Database::RewriteOptions options;
  options.keep_base = IsHistoryKey;
  options.edit = [&](uint64_t r, WriteTrx& trx) -> Status {
    HistoryWriter writer(trx, r);
    REVFS_ASSIGN_OR_RETURN(auto after, db.BeginRead(r));
    std::unique_ptr<ReadTrx> before;
    if (prev) {
      REVFS_ASSIGN_OR_RETURN(before, db.BeginRead(*prev));
    }
    REVFS_RETURN_IF_ERROR(writer.Collect(before.get(), *after, /*compare_bytes=*/true));
    REVFS_ASSIGN_OR_RETURN(HistoryStats stats, writer.Write());
    entries += stats.entries;
    prev = r;
    return Status::OK();
  };
  Database::RewriteReport report;
  REVFS_RETURN_IF_ERROR(db.RewriteRevisions(std::nullopt, kept, &report, options));
  return entries;
}

}  // namespace revfs
