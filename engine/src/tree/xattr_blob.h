// Extended attributes of any size (engine/FORMAT.md, format 3): an inode
// record keeps its attributes inline while it fits one record; otherwise
// the attribute list, in the same encoding (EncodeXattrList), is stored as
// chunks like file content and the record holds an XattrBlob naming its
// size, hash and chunk list. Readers load the list only when asked
// (LoadXattrs, revfs/tree.h): stat never needs it.
//
// Also the reading of a source entry's attributes, shared by the capture
// walk (by path) and the chunk pipeline's workers (by descriptor).
//
// Thread safety: StoreXattrBlob belongs to the writer thread; the rest are
// functions over their arguments.
#ifndef REVFS_TREE_XATTR_BLOB_H_
#define REVFS_TREE_XATTR_BLOB_H_

#include <cstdint>
#include <functional>
#include <string>

#include "revfs/database.h"
#include "revfs/inode.h"
#include "revfs/tree.h"

namespace revfs {

// Stores `xattrs` as a blob: cut like file content, each chunk stored once
// per store (StoreChunk), the chunk list inline up to kInlineChunks, else a
// sorted map (blocks from `next_block`) built over `old_map`, the blob map
// of the inode's base version (its unchanged blocks are reused, the others
// deleted). Writer thread only.
Result<XattrBlob> StoreXattrBlob(WriteTrx& trx, Database& db, const XattrList& xattrs,
                                 const MapRoot& old_map,
                                 const std::function<uint64_t()>& next_block,
                                 ContentStats* stats);

// Whether `a` and `b` hold the same attributes, without loading a blob: an
// inline list is compared with a blob by the hash of its encoding.
bool SameXattrs(const Inode& a, const Inode& b);

// Reads every extended attribute of the source entry `path` (not following
// a symlink) or of the open file `fd`, sorted by name. A list or value that
// grows between the size query and the read (ERANGE) is read again; an
// attribute removed meanwhile (ENODATA) is left out, as it is gone.
// Returns 0, or the errno of a failure (ENOTSUP, a filesystem without
// attributes, reads as none).
int ReadPathXattrs(const std::string& path, XattrList* out);
int ReadFdXattrs(int fd, XattrList* out);

}  // namespace revfs

#endif  // REVFS_TREE_XATTR_BLOB_H_
