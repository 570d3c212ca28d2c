// Extended attributes of any size through the CLI and a real FUSE mount: a
// 64 KiB value, 1,000 names on one file, a POSIX ACL (setfacl) and a file
// capability (setcap) survive commit and read back byte for byte from
// `revfs ls -l --json` (base64 values) and from the mount (getfattr -d,
// getfacl, getcap equal the source's). The source lies on a filesystem
// that takes such attributes (support/xattr_source.h). Under CI=true a
// mount that cannot be made fails the test instead of skipping it.
#include <sys/xattr.h>

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "cli/mount_fixture.h"
#include "revfs/json.h"
#include "support/xattr_source.h"

namespace revfs::testing {
namespace {

std::string Bytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen());
  return s;
}

std::string GetXattr(const std::string& path, const std::string& name) {
  std::string value(1 << 16, '\0');
  const ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
  EXPECT_GE(n, 0) << path << " " << name;
  value.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return value;
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + 1)) ++n;
  return n;
}

class MountXattrTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    if (HasFatalFailure()) return;
    source_ = std::make_unique<XattrSourceDir>(Path("xsrc"));
    ASSERT_TRUE(source_->ok()) << "no filesystem for large attributes: " << source_->why();
    src_ = source_->path();
  }
  void TearDown() override {
    MountTest::TearDown();
    source_.reset();
  }

  std::string Revfs() const { return REVFS_BINARY; }

  // Runs `tool` on `name` in the source and in revision 1 of the mount,
  // from within each directory (so that the names printed are the same),
  // and expects the same output.
  void ExpectSameOutput(const std::string& tool, const std::string& name) {
    const ShResult want = Sh("cd " + src_ + " && " + tool + " " + name);
    const ShResult got = Sh("cd " + mnt_ + "/revisions/1 && " + tool + " " + name);
    ASSERT_EQ(want.code, 0) << tool << " " << name << ": " << want.out;
    EXPECT_EQ(got.code, 0) << tool << " " << name << ": " << got.out;
    EXPECT_GT(want.out.size(), name.size() + 10) << want.out;  // not empty
    EXPECT_TRUE(got.out == want.out)
        << tool << " " << name << " differs: " << got.out.size() << " bytes through the mount, "
        << want.out.size() << " from the source\n" << got.out.substr(0, 2000);
  }

  std::unique_ptr<XattrSourceDir> source_;
};

TEST_F(MountXattrTest, LargeManyAclAndCapabilityRoundTrip) {
  WriteFile(src_ + "/big", "b");
  WriteFile(src_ + "/many", "m");
  WriteFile(src_ + "/acl", "a");
  WriteFile(src_ + "/cap", "c");
  ASSERT_EQ(::mkdir((src_ + "/acldir").c_str(), 0755), 0);
  const std::string big = Bytes(65536, 1);
  ASSERT_EQ(::setxattr((src_ + "/big").c_str(), "user.big", big.data(), big.size(), 0), 0);
  for (int i = 0; i < 1000; ++i) {
    const std::string name = "user.name." + std::to_string(10000 + i);
    const std::string value = "value " + std::to_string(i * 37);
    ASSERT_EQ(::setxattr((src_ + "/many").c_str(), name.c_str(), value.data(), value.size(), 0),
              0);
  }
  ShResult r = Sh("setfacl -m u:nobody:rwx,g:daemon:r-x " + src_ + "/acl && setfacl -m "
                  "u:nobody:r-x -d -m u:nobody:rwx,g:daemon:r-x " + src_ + "/acldir");
  ASSERT_EQ(r.code, 0) << r.out;
  r = Sh("setcap cap_net_raw+ep " + src_ + "/cap");
  ASSERT_EQ(r.code, 0) << r.out;

  r = Sh(Revfs() + " commit " + store_ + " " + src_ + " -m r1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("extended attributes"), std::string::npos) << r.out;

  // ls -l --json: every attribute, values in base64.
  r = Sh(Revfs() + " ls -l --json " + store_ + " 1");
  ASSERT_EQ(r.code, 0) << r.out.substr(0, 2000);
  const std::string& json = r.out;
  EXPECT_NE(json.find("\"user.big\":\"" + Base64(big) + "\""), std::string::npos);
  EXPECT_EQ(Count(json, "\"user.name.1"), 1000u);
  EXPECT_NE(json.find("\"user.name.10999\":\"" + Base64("value " + std::to_string(999 * 37)) +
                      "\""),
            std::string::npos);
  for (const auto& [file, name] :
       std::vector<std::pair<std::string, std::string>>{
           {"acl", "system.posix_acl_access"},
           {"acldir", "system.posix_acl_access"},
           {"acldir", "system.posix_acl_default"},
           {"cap", "security.capability"}}) {
    const std::string value = GetXattr(src_ + "/" + file, name);
    ASSERT_FALSE(value.empty()) << file << " " << name;
    EXPECT_NE(json.find("\"" + name + "\":\"" + Base64(value) + "\""), std::string::npos)
        << file << " " << name;
  }
  // One entry alone, and an entry without attributes.
  r = Sh(Revfs() + " ls --json " + store_ + " 1 cap");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"security.capability\":\"" +
                       Base64(GetXattr(src_ + "/cap", "security.capability")) + "\"}"),
            std::string::npos)
      << r.out;
  WriteFile(src_ + "/plain", "p");
  r = Sh(Revfs() + " commit " + store_ + " " + src_ + " -m r2 && " + Revfs() + " ls --json " +
         store_ + " 2 plain");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"xattrs\":{}"), std::string::npos) << r.out;

  if (!Mount()) return;
  const std::string getfattr = "getfattr -d -m - --absolute-names";
  for (const char* name : {"big", "many", "acl", "acldir", "cap"}) ExpectSameOutput(getfattr, name);
  EXPECT_NE(Sh("cd " + mnt_ + "/revisions/1 && " + getfattr + " many").out.find(
                "user.name.10999=\"value 36963\""),
            std::string::npos);
  ExpectSameOutput("getfacl", "acl");
  ExpectSameOutput("getfacl", "acldir");
  ExpectSameOutput("getcap", "cap");
  EXPECT_NE(Sh("getcap " + mnt_ + "/revisions/1/cap").out.find("cap_net_raw=ep"),
            std::string::npos);
  // A size query, then the value: 64 KiB through one getxattr.
  EXPECT_EQ(GetXattr(mnt_ + "/revisions/1/big", "user.big"), big);
}

}  // namespace
}  // namespace revfs::testing
