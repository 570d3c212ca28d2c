// MutateTree: one random change to a source tree, for the tests that check
// the history index against brute force over a generated history.
#ifndef REVFS_TESTS_SUPPORT_TREE_MUTATOR_H_
#define REVFS_TESTS_SUPPORT_TREE_MUTATOR_H_

#include <string>
#include <random>
#include <vector>

namespace revfs::testing {

// Changes the path `src`/NAME, NAME one of `names` picked by `rng`, in one
// of the ways a history sees: a write (an addition, or an edit appending a
// line of revision `r`), a metadata-only change (mtime, and the mode
// where it has one), a type change to or from a directory, a rename over
// another of `names`, a deletion, a symlink or a FIFO made in its place.
// Returns false (with errno) when the FIFO cannot be made.
bool MutateTree(const std::string& src, const std::vector<std::string>& names, std::mt19937& rng,
                int r);

}  // namespace revfs::testing

#endif  // REVFS_TESTS_SUPPORT_TREE_MUTATOR_H_
