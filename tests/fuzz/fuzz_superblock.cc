// Fuzzes the superblock parser: the input fills a slot (zero-padded) whose
// checksum is then made right, so the fuzzer reaches the fields behind it.
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "util/coding.h"
#include "store/superblock.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace revfs;
  std::string slot(kSuperblockSlotSize, '\0');
  std::memcpy(slot.data(), data, std::min(size, kSuperblockSlotSize));
  (void)DecodeSuperblock(slot);  // as read: the checksum usually wrong
  const size_t at = kSuperblockSlotSize - 8;
  EncodeFixed64(slot.data() + at, XXH3_64bits(slot.data(), at));
  (void)DecodeSuperblock(slot);
  return 0;
}
