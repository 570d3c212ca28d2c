// The libfuse3 low-level operations of a RevFs mount (ops.cc): one handler
// per operation, each calling one RevFs function and making exactly one
// reply behind an exception wall (bad_alloc -> ENOMEM, anything else ->
// EIO). Every write-side operation answers EROFS. The session's userdata
// is the RevFs.
//
// Thread safety: the handlers run on the loop's threads, any number at once.
#ifndef REVFS_FUSEFS_OPS_H_
#define REVFS_FUSEFS_OPS_H_

#include <fuse_lowlevel.h>

namespace revfs::fusefs {

// Returns the operations table for fuse_session_new.
fuse_lowlevel_ops MakeOps();

}  // namespace revfs::fusefs

#endif  // REVFS_FUSEFS_OPS_H_
