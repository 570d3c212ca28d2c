// Result<T>: a value or a failed Status, after Abseil's StatusOr (C++20 has no
// std::expected).
//
// A Result is either OK and holds a T, or holds a non-OK Status. Accessing the
// value of a failed Result is a programming error checked in debug builds.
#ifndef REVFS_RESULT_H_
#define REVFS_RESULT_H_

#include <cassert>
#include <optional>
#include <utility>

#include "revfs/status.h"

namespace revfs {

template <typename T>
class [[nodiscard]] Result {
 public:
  // Implicit so that `return value;` and `return Status::NotFound(...)` work.
  Result(T value) : value_(std::move(value)) {}  // NOLINT
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "Result constructed from an OK status");
    if (status_.ok()) status_ = Status::InvalidArgument("OK status without value");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace revfs

#define REVFS_CONCAT_INNER_(a, b) a##b
#define REVFS_CONCAT_(a, b) REVFS_CONCAT_INNER_(a, b)

// Declares `lhs` from a Result expression, or returns its status on failure:
//   REVFS_ASSIGN_OR_RETURN(auto file, env->NewRandomAccessFile(path));
#define REVFS_ASSIGN_OR_RETURN(lhs, expr) \
  REVFS_ASSIGN_OR_RETURN_IMPL_(REVFS_CONCAT_(revfs_result_, __COUNTER__), lhs, expr)
#define REVFS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();     \
  lhs = std::move(tmp).value()

#endif  // REVFS_RESULT_H_
