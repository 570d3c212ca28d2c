#include "revfs/fusefs/fuse_errno.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace revfs::fusefs {
namespace {

TEST(FuseErrnoTest, MapsEachKindToItsErrno) {
  EXPECT_EQ(ToErrno(Status::OK()), 0);
  EXPECT_EQ(ToErrno(Status::NotFound("x")), ENOENT);
  EXPECT_EQ(ToErrno(Status::Corruption("x")), EIO);
  EXPECT_EQ(ToErrno(Status::ReadOnly("x")), EROFS);
  EXPECT_EQ(ToErrno(Status::ResourceExhausted("x")), ENOMEM);
  EXPECT_EQ(ToErrno(Status::PermissionDenied("x")), EACCES);
  EXPECT_EQ(ToErrno(Status::NoSpace("x")), ENOSPC);
}

TEST(FuseErrnoTest, RoundTripsThroughStatusFromErrno) {
  for (int err : {ENOENT, EACCES, ENOSPC, EROFS, ENOMEM}) {
    EXPECT_EQ(ToErrno(Status::FromErrno(err, "path")), err) << err;
  }
}

}  // namespace
}  // namespace revfs::fusefs
