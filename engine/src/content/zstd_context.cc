#include "content/zstd_context.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

namespace revfs::internal {
namespace {

// Each block starts with a header holding the bytes mapped or allocated in
// all, 16 bytes so that what zstd gets stays as aligned as malloc's.
constexpr size_t kHeader = 16;
// Smaller blocks come from malloc; from here on they are mapped whole with
// MAP_POPULATE (zstd asks for a context's work space in one block).
constexpr size_t kMapFrom = 64 << 10;

void* Allocate(void*, size_t size) {
  const size_t total = size + kHeader;
  void* base = nullptr;
  if (total < kMapFrom) {
    base = std::malloc(total);
    if (base == nullptr) return nullptr;
  } else {
    base = ::mmap(nullptr, total, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (base == MAP_FAILED) return nullptr;
  }
  std::memcpy(base, &total, sizeof(total));
  return static_cast<char*>(base) + kHeader;
}

void Free(void*, void* p) {
  if (p == nullptr) return;
  char* base = static_cast<char*>(p) - kHeader;
  size_t total = 0;
  std::memcpy(&total, base, sizeof(total));
  if (total < kMapFrom) {
    std::free(base);
  } else {
    ::munmap(base, total);
  }
}

}  // namespace

ZSTD_customMem ZstdMemory() { return ZSTD_customMem{Allocate, Free, nullptr}; }

}  // namespace revfs::internal
