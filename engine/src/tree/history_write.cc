// The writer of the history index (engine/FORMAT.md, "The history of every
// path"): the version entries of one revision's changes, for a commit
// (RecordHistory) or for every kept revision (Reindex).
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
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

// Builds the version entries of one revision and writes them to `trx`, a
// batch of at most kBatchPaths changed paths at a time: what it holds is
// bounded whatever the number of changes (a first commit of 10^6 files).
// The records a batch wrote are read back by the next through the
// transaction's view.
class HistoryWriter {
 public:
  static constexpr size_t kBatchPaths = 8192;

  HistoryWriter(WriteTrx& trx, uint64_t revision)
      : trx_(trx), view_(trx.View()), revision_(revision) {}

  // The changes from `before` (none: the empty tree) to `after`.
  Status Collect(ReadTrx* before, ReadTrx& after, bool compare_bytes) {
    REVFS_ASSIGN_OR_RETURN(auto header, view_->Get(kMetaKey | kHistoryKey));
    if (header) {
      header_found_ = std::string(header->value());
      REVFS_ASSIGN_OR_RETURN(header_, DecodeHeader(*header_found_));
    }
    if (!before) return Walk(after, "", HistoryChange::kAdded);
    Status status;
    REVFS_RETURN_IF_ERROR(DiffTrees(
        *before, after, "",
        [&](ChangeKind kind, const std::string& p) {
          if (status.ok()) status = Change(*before, after, kind, p == "/" ? "" : p);
        },
        compare_bytes));
    return status;
  }

  // Writes the last batch and the header.
  Result<HistoryStats> Write() {
    REVFS_RETURN_IF_ERROR(Flush());
    const std::string bytes = EncodeHeader(header_);
    if (header_found_ != bytes) {
      REVFS_RETURN_IF_ERROR(trx_.Put(kMetaKey | kHistoryKey, bytes));
    }
    return stats_;
  }

 private:
  Status Change(ReadTrx& before, ReadTrx& after, ChangeKind kind, const std::string& path) {
    switch (kind) {
      case ChangeKind::kAdded:
        return Walk(after, path, HistoryChange::kAdded);
      case ChangeKind::kDeleted:
        return Walk(before, path, HistoryChange::kDeleted);
      case ChangeKind::kTypeChanged:
        REVFS_RETURN_IF_ERROR(Walk(before, path, HistoryChange::kDeleted, /*below=*/true));
        return Walk(after, path, HistoryChange::kTypeChanged);
      case ChangeKind::kModified:
      case ChangeKind::kMetadata: {
        REVFS_ASSIGN_OR_RETURN(auto found, ResolvePath(after, path));
        return Note(path,
                    kind == ChangeKind::kModified ? HistoryChange::kModified
                                                  : HistoryChange::kMetadata,
                    found.first, found.second);
      }
    }
    return Status::OK();
  }

  Status Note(const std::string& path, HistoryChange change, uint64_t ino, const Inode& inode) {
    // The root is always there: only its metadata has versions.
    if (path.empty() && change != HistoryChange::kMetadata) return Status::OK();
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
    return events_.size() < kBatchPaths ? Status::OK() : Flush();
  }

  // `path` in `trx` and, if it is a directory, every path below it, with
  // `change` (the paths below only when `below`).
  Status Walk(ReadTrx& trx, const std::string& path, HistoryChange change, bool below = false) {
    auto found = ResolvePath(trx, path);
    if (!found.ok()) return found.status().IsNotFound() ? Status::OK() : found.status();
    if (!below) REVFS_RETURN_IF_ERROR(Note(path, change, found->first, found->second));
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
      REVFS_RETURN_IF_ERROR(Note(child, inner, entry.ino, inode));
      if (inode.type == FileType::kDirectory) REVFS_RETURN_IF_ERROR(push_children(child, inode));
    }
    return Status::OK();
  }

  // Writes the batch's entries (in path order), the names new in it and
  // the path records that changed, then lets go of all of it.
  Status Flush() {
    if (events_.empty()) return Status::OK();
    ++stats_.batches;
    std::sort(events_.begin(), events_.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    for (const auto& [path, version] : events_) {
      REVFS_ASSIGN_OR_RETURN(uint64_t id, IdOf(path));
      REVFS_RETURN_IF_ERROR(Append(id, version));
    }
    for (auto& [parent, names] : new_names_) {
      REVFS_ASSIGN_OR_RETURN(PathRecord * rec, Rec(parent));
      REVFS_RETURN_IF_ERROR(MergeNames(rec, &names));
      dirty_.insert(parent);
    }
    for (uint64_t id : dirty_) {
      REVFS_RETURN_IF_ERROR(trx_.Put(PathKey(id), EncodePath(paths_.at(id))));
    }
    events_.clear();
    paths_.clear();
    dirty_.clear();
    created_.clear();
    ids_.clear();
    new_names_.clear();
    return Status::OK();
  }

  Result<PathRecord*> Rec(uint64_t id) {
    auto it = paths_.find(id);
    if (it != paths_.end()) return &it->second;
    REVFS_ASSIGN_OR_RETURN(auto rec, LoadPath(*view_, id));
    if (!rec) {
      if (id != kRootPath) {
        return Status::Corruption("history: path " + std::to_string(id) + " is missing");
      }
      rec = PathRecord{};
      dirty_.insert(id);  // the root's record, made by the first commit
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
      dirty_.insert(id);
      created_.insert(id);
      new_names_[pid].emplace_back(name, id);
      ++stats_.new_paths;
    }
    ids_.emplace(path, id);
    return id;
  }

  // Appends the path's next entry: its number found by a doubling, then
  // binary, search of its dense entries (O(log versions) Gets: a path with
  // one version costs two).
  Status Append(uint64_t id, const PathVersion& v) {
    uint64_t lo = 0, hi = 0;  // entries [0, lo) exist, [hi, ...) do not
    if (!created_.count(id)) {
      for (uint64_t probe = 0;; probe = probe * 2 + 1) {
        if (probe >= kMaxVersions) {
          hi = kMaxVersions;
          break;
        }
        REVFS_ASSIGN_OR_RETURN(auto rec, view_->Get(VersionKey(id, probe)));
        if (!rec) {
          hi = probe;
          break;
        }
        lo = probe + 1;
      }
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
    if (lo >= kMaxVersions) return Status::ResourceExhausted("history: versions of one path");
    REVFS_RETURN_IF_ERROR(trx_.Put(VersionKey(id, lo), EncodeVersion(v)));
    ++stats_.entries;
    return Status::OK();
  }

  // The names map of `rec` with `added` merged in, streamed: the old map is
  // read while the new one is written (new blocks take fresh ids; the old
  // ones are deleted only by Finish).
  Status MergeNames(PathRecord* rec, std::vector<std::pair<std::string, uint64_t>>* added) {
    std::sort(added->begin(), added->end());
    SortedMapWriter writer(&trx_, kNamesBlockBase, [this] { return header_.next_block++; },
                           rec->names);
    auto next = added->begin();
    std::string id_bytes;
    auto add_new_before = [&](std::string_view key, bool all) -> Status {
      for (; next != added->end() && (all || next->first < key); ++next) {
        id_bytes.clear();
        PutVarint64(&id_bytes, next->second);
        REVFS_RETURN_IF_ERROR(writer.Add(next->first, id_bytes));
      }
      return Status::OK();
    };
    Status status;
    REVFS_RETURN_IF_ERROR(MapScan(*view_, kNamesBlockBase, rec->names, "",
                                  [&](std::string_view k, std::string_view v) {
                                    status = add_new_before(k, false);
                                    if (status.ok()) status = writer.Add(k, v);
                                    return status.ok();
                                  }));
    REVFS_RETURN_IF_ERROR(status);
    REVFS_RETURN_IF_ERROR(add_new_before("", true));
    REVFS_ASSIGN_OR_RETURN(rec->names, writer.Finish());
    return Status::OK();
  }

  WriteTrx& trx_;
  std::unique_ptr<ReadTrx> view_;
  const uint64_t revision_;
  Header header_;
  std::optional<std::string> header_found_;  // as the base revision has it
  // The batch: its changed paths, and what it read or made of the index.
  std::vector<std::pair<std::string, PathVersion>> events_;
  std::map<uint64_t, PathRecord> paths_;  // read or made, by id
  std::set<uint64_t> dirty_;              // of paths_, those to write
  std::unordered_set<uint64_t> created_;  // paths made by this revision
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

Status RecordHistory(WriteTrx& trx, HistoryStats* stats) {
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
