// Under AddressSanitizer a released segment is poisoned until it is handed
// out again: a read through a pointer kept past its unpin is reported
// instead of returning stale bytes (the pool is mapped memory ASan would
// not otherwise watch). Built into the sanitized test binaries only: a
// plain build cannot observe poisoning.
#include <gtest/gtest.h>

#include "memory/segment_allocator.h"

namespace revfs::testing {
namespace {

#if defined(__SANITIZE_ADDRESS__)

TEST(SegmentPoisonDeathTest, AReadAfterReleaseIsReported) {
  auto allocator = SegmentAllocator::Create(AllocatorOptions{});
  ASSERT_TRUE(allocator.ok());
  const char* stale = nullptr;
  {
    auto segment = (*allocator)->Allocate(10000);
    ASSERT_TRUE(segment.ok());
    segment->data()[0] = 'x';
    stale = segment->data();
  }
  EXPECT_DEATH(
      {
        volatile char c = stale[0];
        (void)c;
      },
      "use-after-poison");
  // Handed out again, the memory is usable.
  auto again = (*allocator)->Allocate(10000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->data(), stale);
  again->data()[0] = 'y';
  EXPECT_EQ(again->data()[0], 'y');
}

#endif

}  // namespace
}  // namespace revfs::testing
