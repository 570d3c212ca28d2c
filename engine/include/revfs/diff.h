// Diff of two revisions' trees. Subtrees whose identities are equal are
// skipped without being walked: the cost is what changed, not the tree.
#ifndef REVFS_DIFF_H_
#define REVFS_DIFF_H_

#include <functional>
#include <string>

#include "revfs/tree.h"

namespace revfs {

enum class ChangeKind : char {
  kAdded = 'A',
  kDeleted = 'D',
  kModified = 'M',      // content (or symlink target) differs
  kTypeChanged = 'T',
  kMetadata = 'P',      // mode, owner, times or xattrs only
};

// Calls fn(kind, path) for each difference between `path` in `a` and in `b`,
// in name order. An added or deleted directory is one change (not walked).
Status DiffTrees(ReadTrx& a, ReadTrx& b, const std::string& path,
                 const std::function<void(ChangeKind, const std::string&)>& fn);

}  // namespace revfs

#endif  // REVFS_DIFF_H_
