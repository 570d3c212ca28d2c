#include "revfs/status.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace revfs {

Status::Status(Code code, std::string_view msg)
    : rep_(std::make_unique<Rep>(Rep{code, std::string(msg)})) {}

Status::Status(const Status& other)
    : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) {
    rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
  }
  return *this;
}

Status Status::FromErrno(int err, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return NotFound(msg);
    case EACCES:
    case EPERM:
      return PermissionDenied(msg);
    case ENOSPC:
    case EDQUOT:
      return NoSpace(msg);
    case EROFS:
      return ReadOnly(msg);
    case ENOMEM:
      return ResourceExhausted(msg);
    case EWOULDBLOCK:
      return Busy(msg);
    case EINVAL:
    case ENAMETOOLONG:
      return InvalidArgument(msg);
    default:
      return IOError(msg);
  }
}

std::string_view Status::message() const {
  return rep_ ? std::string_view(rep_->msg) : std::string_view();
}

const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kNotFound: return "NotFound";
    case Status::Code::kCorruption: return "Corruption";
    case Status::Code::kIOError: return "IOError";
    case Status::Code::kInvalidArgument: return "InvalidArgument";
    case Status::Code::kReadOnly: return "ReadOnly";
    case Status::Code::kResourceExhausted: return "ResourceExhausted";
    case Status::Code::kBusy: return "Busy";
    case Status::Code::kNotSupported: return "NotSupported";
    case Status::Code::kAborted: return "Aborted";
    case Status::Code::kNoSpace: return "NoSpace";
    case Status::Code::kPermissionDenied: return "PermissionDenied";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out = CodeName(rep_->code);
  out += ": ";
  out += rep_->msg;
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += rep_->msg;
  return Status(rep_->code, msg);
}

}  // namespace revfs
