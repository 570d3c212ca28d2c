// Helpers for tests that commit opaque pages to a Store and check them back.
#ifndef REVFS_TESTS_SUPPORT_STORE_UTIL_H_
#define REVFS_TESTS_SUPPORT_STORE_UTIL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "revfs/store.h"

namespace revfs::testing {

// What one committed revision holds: its opaque pages and their contents.
struct CommittedRevision {
  uint64_t number = 0;
  int64_t time_ns = 0;
  std::vector<std::pair<PageRef, std::string>> pages;
};

// Returns deterministic page content for (revision, index).
std::string PageContent(uint64_t revision, int index);

// Commits `npages` opaque pages at `time_ns`; the tree root is the first page.
Result<CommittedRevision> CommitPages(Store* store, int npages, int64_t time_ns);

// Checks that every page of `rev` reads back with its exact bytes and that its
// revision root matches; returns a failed status describing the first
// difference.
Status CheckRevision(const Store& store, const CommittedRevision& rev);

}  // namespace revfs::testing

#endif  // REVFS_TESTS_SUPPORT_STORE_UTIL_H_
