// Fuzzes record decoding: inodes, attribute lists, directory entries, tree
// metadata, revision roots and index entries, chunk and page references,
// tree roots.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "util/coding.h"
#include "store/revision.h"
#include "revfs/inode.h"
#include "tree/sorted_map.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace revfs;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)DecodeInode(in);
  (void)DecodeXattrList(in);
  (void)DecodeDirEntry(in);
  (void)DecodeTreeMeta(in);
  (void)DecodeRevisionRoot(in);
  (void)DecodeRevisionEntry(in);
  {
    Decoder d(in);
    (void)DecodeChunkRef(&d, 0);
  }
  {
    Decoder d(in);
    (void)DecodePageRef(&d);
  }
  {
    Decoder d(in);
    (void)DecodeMapRoot(&d);
  }
  return 0;
}
