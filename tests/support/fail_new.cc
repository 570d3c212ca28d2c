// The replaceable global operator new and delete of the test binaries. The
// array and nothrow forms of libstdc++ call these, so they fail too.
#include "support/fail_new.h"

#include <cstdlib>
#include <new>
#include <utility>

namespace revfs::testing {
namespace {

thread_local int countdown = 0;
thread_local bool fired = false;

}  // namespace

void ArmAllocationFailure(int n) {
  countdown = n;
  fired = false;
}

int PauseAllocationFailure() { return std::exchange(countdown, 0); }

void ResumeAllocationFailure(int left) { countdown = left; }

bool AllocationFailureFired() { return fired; }

}  // namespace revfs::testing

void* operator new(std::size_t size) {
  using revfs::testing::countdown;
  if (countdown > 0 && --countdown == 0) {
    revfs::testing::fired = true;
    throw std::bad_alloc();
  }
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
