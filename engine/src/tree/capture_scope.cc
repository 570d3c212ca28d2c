// TreeCapture's scopes of a watched capture and its reading of directory
// names with exclusions (see tree/capture_walk.h).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "revfs/time_util.h"
#include "tree/capture_walk.h"

namespace revfs {

TreeCapture::Scope TreeCapture::ChildScope(Scope parent, const std::string& rel) const {
  if (!partial_ || parent == Scope::kAll) return Scope::kAll;
  const ChangedDirs& c = *options_.changed;
  if (c.subtrees.count(rel)) return Scope::kAll;
  if (c.dirs.count(rel)) return Scope::kChanged;
  if (Above(rel)) return Scope::kAncestor;
  return Scope::kReuse;
}

bool TreeCapture::Above(const std::string& rel) const {
  const std::string prefix = rel.empty() ? "" : rel + "/";
  const ChangedDirs& c = *options_.changed;
  for (const std::set<std::string>* set : {&c.dirs, &c.subtrees, &c.entries}) {
    auto it = set->lower_bound(prefix);
    if (it != set->end() && it->empty()) ++it;  // the root is not below itself
    if (it != set->end() && it->compare(0, prefix.size(), prefix) == 0) return true;
  }
  return false;
}

std::string TreeCapture::RelPath(const std::string& path) const {
  if (path.size() <= source_len_ + 1) return "";
  std::string rel = path.substr(source_len_ + 1);
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);  // a source given as "dir/"
  return rel;
}

bool TreeCapture::SameDirMetadata(const Inode& old, const struct stat& st) {
  return old.type == FileType::kDirectory && old.mode == st.st_mode && old.uid == st.st_uid &&
         old.gid == st.st_gid && old.nlink == static_cast<uint32_t>(st.st_nlink) &&
         old.mtime_ns == NanosFromTimespec(st.st_mtim) &&
         old.ctime_ns == NanosFromTimespec(st.st_ctim) &&
         old.src_ino == static_cast<uint64_t>(st.st_ino) &&
         old.src_dev == static_cast<uint64_t>(st.st_dev);
}

Status TreeCapture::CheckLinks(const std::string& path, const std::optional<DirEntry>& old_entry,
                               const std::optional<DirEntry>& entry) {
  if (!entry || entry->type == FileType::kDirectory) return Status::OK();  // skipped: RemoveUnused
  uint32_t old_nlink = 0, new_nlink = 0;
  if (old_entry && old_entry->type != FileType::kDirectory) {
    std::optional<Inode> old = OldInode(old_entry);
    if (old) old_nlink = old->nlink;
  }
  if (entry->ino != 0) {  // 0: a pending file, not linked (finished at once if it is)
    REVFS_ASSIGN_OR_RETURN(auto record, trx_.Get(kInodeBase | entry->ino));
    if (record) {
      auto inode = DecodeInode(*record);
      if (inode.ok()) new_nlink = inode->nlink;
    }
  }
  if (old_nlink <= 1 && new_nlink <= 1) return Status::OK();
  if (old_entry && old_entry->ino == entry->ino && old_entry->identity == entry->identity &&
      old_nlink == new_nlink) {
    return Status::OK();  // unchanged: every name still reads it right
  }
  return NeedFullWalk(path + ": a file with several hard links changed");
}

Status TreeCapture::NeedFullWalk(const std::string& why) {
  needs_full_walk_ = why;
  return Status::Aborted("watched capture needs a full walk: " + why);
}

Status TreeCapture::ListNames(int fd, const std::string& path, const std::string& rel,
                              Scope scope, const Inode* old, const struct stat& st,
                              const Entries& old_entries, std::vector<Listed>* names,
                              bool* ok) {
  const auto& walk = options_.base_walk;
  if (scope == Scope::kAncestor && old && walk && walk->revision == base_.revision() &&
      SameDirMetadata(*old, st) && old->ctime_ns < walk->started_ns - kNamesTrustMarginNs) {
    names->reserve(old_entries.size());
    for (const auto& [name, entry] : old_entries) names->push_back(Listed{name, 0, {}, 0, false});
    *ok = true;
    return Status::OK();
  }
  ++summary_->names_read;
  return ReadNames(fd, path, rel, names, ok);
}

Status TreeCapture::ReadNames(int fd, const std::string& path, const std::string& rel,
                              std::vector<Listed>* names, bool* ok) {
  int dup = ::dup(fd);
  DIR* d = dup >= 0 ? ::fdopendir(dup) : nullptr;
  if (!d) {
    if (dup >= 0) ::close(dup);
    return SkipErrno(path, errno);
  }
  ::rewinddir(d);
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) break;
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    if (!exclude_.empty()) {
      bool is_dir = e->d_type == DT_DIR;
      if (e->d_type == DT_UNKNOWN) {
        struct stat st;
        is_dir = ::fstatat(fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
      }
      if (exclude_.Excluded(rel.empty() ? n : rel + "/" + n, is_dir)) continue;
    }
    names->push_back(Listed{std::move(n), e->d_ino, {}, 0, false});
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return SkipErrno(path, err);
  std::sort(names->begin(), names->end(),
            [](const Listed& a, const Listed& b) { return a.name < b.name; });
  *ok = true;
  return Status::OK();
}

void TreeCapture::StatListed(int dirfd, std::vector<Listed>* listed) {
  std::sort(listed->begin(), listed->end(),
            [](const Listed& a, const Listed& b) { return a.d_ino < b.d_ino; });
  for (Listed& l : *listed) {
    if (l.reuse) continue;
    if (::fstatat(dirfd, l.name.c_str(), &l.st, AT_SYMLINK_NOFOLLOW) != 0) l.err = errno;
  }
  std::sort(listed->begin(), listed->end(),
            [](const Listed& a, const Listed& b) { return a.name < b.name; });
}

}  // namespace revfs
