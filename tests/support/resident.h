// Which pages of a range of this process's memory are resident (mincore),
// and whether the kernel can populate pages on request (MADV_POPULATE_WRITE,
// Linux 5.14): for the tests of memory populated in one call.
#ifndef REVFS_TESTS_SUPPORT_RESIDENT_H_
#define REVFS_TESTS_SUPPORT_RESIDENT_H_

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace revfs::testing {

// Returns the number of resident pages among the pages of [p, p + bytes),
// or -1 if mincore fails.
inline int ResidentPages(const void* p, size_t bytes) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t start = reinterpret_cast<uintptr_t>(p) & ~(page - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(p) + bytes;
  std::vector<unsigned char> in((end - start + page - 1) / page);
  if (::mincore(reinterpret_cast<void*>(start), end - start, in.data()) != 0) return -1;
  int n = 0;
  for (unsigned char c : in) n += c & 1;
  return n;
}

// Returns whether madvise(MADV_POPULATE_WRITE) works here.
inline bool KernelPopulates() {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  void* p = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  const bool ok = ::madvise(p, page, MADV_POPULATE_WRITE) == 0;
  ::munmap(p, page);
  return ok;
}

}  // namespace revfs::testing

#endif  // REVFS_TESTS_SUPPORT_RESIDENT_H_
