#include "revfs/fusefs/fuse_errno.h"

#include <cerrno>

namespace revfs::fusefs {

int ToErrno(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk: return 0;
    case Status::Code::kNotFound: return ENOENT;
    case Status::Code::kCorruption: return EIO;
    case Status::Code::kIOError: return EIO;
    case Status::Code::kInvalidArgument: return EINVAL;
    case Status::Code::kReadOnly: return EROFS;
    case Status::Code::kResourceExhausted: return ENOMEM;
    case Status::Code::kBusy: return EBUSY;
    case Status::Code::kNotSupported: return EOPNOTSUPP;
    case Status::Code::kAborted: return EINTR;
    case Status::Code::kNoSpace: return ENOSPC;
    case Status::Code::kPermissionDenied: return EACCES;
  }
  return EIO;
}

}  // namespace revfs::fusefs
