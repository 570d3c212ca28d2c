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
// Files whose content is named by digests of two kinds (a format-2 store's
// and SHA-256, engine/FORMAT.md) are compared by their bytes; with
// `compare_bytes` false (a write transaction's view, whose new chunks
// cannot be read yet) such a file is reported modified.
Status DiffTrees(ReadTrx& a, ReadTrx& b, const std::string& path,
                 const std::function<void(ChangeKind, const std::string&)>& fn,
                 bool compare_bytes = true);

}  // namespace revfs

#endif  // REVFS_DIFF_H_
