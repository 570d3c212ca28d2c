// Status -> errno, the second and last place errno is converted (the first is
// the Env). Every FUSE handler replies with ToErrno(status) on failure.
#ifndef REVFS_FUSEFS_FUSE_ERRNO_H_
#define REVFS_FUSEFS_FUSE_ERRNO_H_

#include "revfs/status.h"

namespace revfs::fusefs {

// Returns the positive errno for a failed status: NotFound -> ENOENT,
// Corruption -> EIO, ReadOnly (a write to history) -> EROFS, ... OK -> 0.
int ToErrno(const Status& status);

}  // namespace revfs::fusefs

#endif  // REVFS_FUSEFS_FUSE_ERRNO_H_
