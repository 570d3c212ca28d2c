// ExcludeMatcher: gitignore-style exclusion of source entries from a
// capture.
//
// Patterns, one per line (as in a .gitignore file at the captured root):
//   - blank lines and lines starting with '#' are ignored; "\#" and "\!"
//     start a pattern with a literal '#' or '!'; trailing spaces are dropped
//     unless escaped with '\';
//   - a leading '!' negates: a path it matches is included again (unless a
//     directory above it is excluded: the walk never enters one);
//   - a trailing '/' makes the pattern match directories only;
//   - a pattern with no '/' other than a trailing one matches the entry's
//     name at any depth; otherwise it is anchored at the root (a leading '/'
//     only anchors) and matched against the whole relative path;
//   - '*', '?', '[...]' and '\' escapes as fnmatch(3) with FNM_PATHNAME ('*'
//     never matches '/'); a "**" path segment matches any number of
//     segments ("**/x" anywhere, "a/**/b", "a/**" everything inside a).
// The last pattern that matches a path decides, as in gitignore.
//
// Thread safety: immutable after construction; Excluded may be called from
// any thread.
#ifndef REVFS_TREE_EXCLUDE_H_
#define REVFS_TREE_EXCLUDE_H_

#include <string>
#include <string_view>
#include <vector>

namespace revfs {

class ExcludeMatcher {
 public:
  // Parses `lines` (each one pattern line, comments and blanks allowed).
  explicit ExcludeMatcher(const std::vector<std::string>& lines);

  bool empty() const { return rules_.empty(); }
  // Whether the entry at `rel_path` (relative to the root, '/'-separated,
  // no leading '/') is excluded; `is_dir` says if it is a directory.
  bool Excluded(std::string_view rel_path, bool is_dir) const;

  // The pattern lines that count (comments and blank lines dropped), as
  // recorded with a revision.
  static std::vector<std::string> Normalize(const std::vector<std::string>& lines);

 private:
  struct Rule {
    std::vector<std::string> segments;  // anchored: the path's segments
    std::string pattern;                // unanchored: the name pattern
    bool anchored = false, negate = false, dir_only = false, has_globstar = false;
  };
  static bool MatchSegments(const std::vector<std::string>& pat, size_t pi,
                            const std::vector<std::string_view>& path, size_t si);

  std::vector<Rule> rules_;
};

}  // namespace revfs

#endif  // REVFS_TREE_EXCLUDE_H_
