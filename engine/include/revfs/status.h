// Status: the outcome of a fallible operation, after LevelDB's status.h.
//
// An OK status holds no allocation, so returning one is as cheap as returning
// an int. A failed status carries a kind (NotFound, Corruption, ...) and a
// message with context (file, revision, offset). No exception crosses a
// module boundary in revfs: fallible calls return Status or Result<T>.
//
// Thread safety: a Status is a value; distinct objects may be used from
// distinct threads without synchronization.
#ifndef REVFS_STATUS_H_
#define REVFS_STATUS_H_

#include <memory>
#include <string>
#include <string_view>

namespace revfs {

class [[nodiscard]] Status {
 public:
  enum class Code : unsigned char {
    kOk = 0,
    kNotFound,
    kCorruption,
    kIOError,
    kInvalidArgument,
    kReadOnly,
    kResourceExhausted,
    kBusy,
    kNotSupported,
    kAborted,
    kNoSpace,
    kPermissionDenied,
  };

  Status() noexcept = default;
  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return {Code::kNotFound, msg}; }
  static Status Corruption(std::string_view msg) {
    return {Code::kCorruption, msg};
  }
  static Status IOError(std::string_view msg) { return {Code::kIOError, msg}; }
  static Status InvalidArgument(std::string_view msg) {
    return {Code::kInvalidArgument, msg};
  }
  static Status ReadOnly(std::string_view msg) { return {Code::kReadOnly, msg}; }
  static Status ResourceExhausted(std::string_view msg) {
    return {Code::kResourceExhausted, msg};
  }
  static Status Busy(std::string_view msg) { return {Code::kBusy, msg}; }
  static Status NotSupported(std::string_view msg) {
    return {Code::kNotSupported, msg};
  }
  static Status Aborted(std::string_view msg) { return {Code::kAborted, msg}; }
  static Status NoSpace(std::string_view msg) { return {Code::kNoSpace, msg}; }
  static Status PermissionDenied(std::string_view msg) {
    return {Code::kPermissionDenied, msg};
  }
  // Maps an errno value from a failed OS call on `context` (usually a path).
  static Status FromErrno(int err, std::string_view context);

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  bool IsNotFound() const { return code() == Code::kNotFound; }
  bool IsCorruption() const { return code() == Code::kCorruption; }
  bool IsIOError() const { return code() == Code::kIOError; }
  bool IsInvalidArgument() const { return code() == Code::kInvalidArgument; }
  bool IsReadOnly() const { return code() == Code::kReadOnly; }
  bool IsResourceExhausted() const {
    return code() == Code::kResourceExhausted;
  }
  bool IsBusy() const { return code() == Code::kBusy; }
  bool IsNoSpace() const { return code() == Code::kNoSpace; }

  // Returns the message alone ("" when OK).
  std::string_view message() const;
  // Returns "<Kind>: <message>", or "OK".
  std::string ToString() const;
  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

 private:
  struct Rep {
    Code code;
    std::string msg;
  };
  Status(Code code, std::string_view msg);

  std::unique_ptr<Rep> rep_;  // null means OK
};

const char* CodeName(Status::Code code);

}  // namespace revfs

// Returns early from the enclosing function with `expr`'s status if it failed.
#define REVFS_RETURN_IF_ERROR(expr)          \
  do {                                       \
    ::revfs::Status revfs_status_ = (expr);  \
    if (!revfs_status_.ok()) return revfs_status_; \
  } while (0)

#endif  // REVFS_STATUS_H_
