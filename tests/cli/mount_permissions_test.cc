// Sharing a mount must not expose what the stored modes forbid: tested on
// real FUSE mounts as root, reading as other users (setpriv) with the tools
// they run (cat, getfacl, getfattr, a setuid copy of id). Under CI=true a
// mount that cannot be made fails the test instead of skipping it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <utility>

#include "cli/mount_fixture.h"

namespace revfs::testing {
namespace {

constexpr int kOwner = 1234;    // owns the stored files
constexpr int kNobody = 65534;  // another local user

class MountPermissionsTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    if (HasFatalFailure()) return;
    // mkdtemp makes the test directory 0700: other users must reach the
    // mount point to be refused by the mount itself, not by its parent.
    ASSERT_EQ(::chmod(dir().c_str(), 0755), 0);
  }

  // Runs `cmd` with sh as uid and gid `id`, without supplementary groups.
  ShResult As(int id, const std::string& cmd) {
    const std::string n = std::to_string(id);
    return Sh("setpriv --reuid=" + n + " --regid=" + n + " --clear-groups -- sh -c " +
              Quote(cmd));
  }

  static std::string Quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  }

  // The /proc/mounts line of the mount point, without its newline.
  std::string MountsLine() {
    std::string line = Sh("grep ' " + mnt_ + " ' /proc/mounts").out;
    while (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }

  // The options field of the /proc/mounts line, with commas at both ends
  // so that ",name," finds a whole option.
  std::string MountOptions() {
    std::string line = MountsLine();
    size_t pos = 0;
    for (int field = 0; field < 3 && pos != std::string::npos; ++field) {
      pos = line.find(' ', pos);
      if (pos != std::string::npos) ++pos;
    }
    if (pos == std::string::npos) return "";
    return "," + line.substr(pos, line.find(' ', pos) - pos) + ",";
  }

  // A 0600 and a 0644 file of kOwner.
  void CommitOwnedFiles() {
    WriteFile(src_ + "/secret", "secret\n");
    WriteFile(src_ + "/public", "public\n");
    ASSERT_EQ(Sh("chown " + std::to_string(kOwner) + ":" + std::to_string(kOwner) + " " + src_ +
                 "/secret " + src_ + "/public && chmod 600 " + src_ + "/secret && chmod 644 " +
                 src_ + "/public")
                  .code,
              0);
    Commit(1);
  }
};

// allow_other lets other users reach the mount; the kernel then checks the
// stored modes and owners as on any filesystem.
TEST_F(MountPermissionsTest, AllowOtherEnforcesStoredModes) {
  CommitOwnedFiles();
  if (!Mount("allow_other")) return;
  EXPECT_NE(MountOptions().find(",default_permissions,"), std::string::npos) << MountsLine();
  const std::string latest = mnt_ + "/latest/";
  ShResult r = As(kNobody, "cat " + latest + "secret");
  EXPECT_NE(r.code, 0) << "another user read a 0600 file: " << r.out;
  EXPECT_NE(r.out.find("Permission denied"), std::string::npos) << r.out;
  EXPECT_EQ(As(kOwner, "cat " + latest + "secret").out, "secret\n") << "its owner reads it";
  EXPECT_EQ(As(kNobody, "cat " + latest + "public").out, "public\n");
  EXPECT_EQ(Sh("cat " + latest + "secret").out, "secret\n") << "root reads everything";
}

// The opt-out is explicit: other users then read every stored file.
TEST_F(MountPermissionsTest, NoDefaultPermissionsIsTheExplicitOptOut) {
  CommitOwnedFiles();
  ShResult both = Sh(std::string(REVFS_BINARY) + " mount " + store_ + " " + mnt_ +
                     " -o allow_other,default_permissions,no_default_permissions");
  EXPECT_EQ(both.code, 1);
  EXPECT_EQ(both.out,
            "revfs: -o no_default_permissions: contradicts default_permissions\n");
  if (!Mount("allow_other,no_default_permissions")) return;
  EXPECT_EQ(MountOptions().find(",default_permissions,"), std::string::npos) << MountsLine();
  EXPECT_EQ(As(kNobody, "cat " + mnt_ + "/latest/secret").out, "secret\n");
}

// Stored POSIX ACLs are enforced by the kernel like the modes: an entry
// denying one user keeps a 0644 file from that user only. A directory's
// default ACL is served as stored.
TEST_F(MountPermissionsTest, StoredAclsAreEnforced) {
  WriteFile(src_ + "/f", "acl\n");
  ASSERT_EQ(Sh("chmod 644 " + src_ + "/f && setfacl -m u:" + std::to_string(kNobody) + ":--- " +
               src_ + "/f && mkdir " + src_ + "/d && setfacl -d -m u:" +
               std::to_string(kOwner) + ":r-x " + src_ + "/d")
                .code,
            0);
  Commit(1);
  for (const char* opts : {"allow_other", "allow_other,default_permissions"}) {
    SCOPED_TRACE(opts);
    if (!Mount(opts)) return;
    const std::string f = mnt_ + "/latest/f";
    EXPECT_NE(Sh("getfacl -n " + f).out.find("user:" + std::to_string(kNobody) + ":---"),
              std::string::npos)
        << "the ACL is served";
    EXPECT_NE(Sh("getfacl -n " + mnt_ + "/latest/d").out.find(
                  "default:user:" + std::to_string(kOwner) + ":r-x"),
              std::string::npos)
        << "the default ACL is served";
    ShResult r = As(kNobody, "cat " + f);
    EXPECT_NE(r.code, 0) << "the user the ACL denies read the file: " << r.out;
    EXPECT_NE(r.out.find("Permission denied"), std::string::npos) << r.out;
    EXPECT_EQ(As(kOwner, "cat " + f).out, "acl\n") << "everyone else reads it";
    Unmount();
  }
}

// The opt-out covers ACLs too: with no_default_permissions neither modes nor
// ACLs are checked (asking the kernel to enforce ACLs would turn its
// permission checks back on).
TEST_F(MountPermissionsTest, NoDefaultPermissionsChecksNoAclEither) {
  WriteFile(src_ + "/f", "acl\n");
  ASSERT_EQ(Sh("setfacl -m u:" + std::to_string(kNobody) + ":--- " + src_ + "/f").code, 0);
  Commit(1);
  if (!Mount("allow_other,no_default_permissions")) return;
  EXPECT_EQ(MountOptions().find(",default_permissions,"), std::string::npos) << MountsLine();
  EXPECT_EQ(As(kNobody, "cat " + mnt_ + "/latest/f").out, "acl\n");
}

// A stored setuid-root program runs with the caller's rights, and a stored
// device node opens nothing, however the mount was made: mount.fuse3 (mount
// -t fuse.revfs, fstab) asks for suid and dev unless told nosuid, nodev.
TEST_F(MountPermissionsTest, StoredSetuidBitsAndDeviceNodesGainNothing) {
  ASSERT_EQ(Sh("cp /usr/bin/id " + src_ + "/id && chown 0:0 " + src_ + "/id && chmod 4755 " +
               src_ + "/id && mknod " + src_ + "/null c 1 3 && chmod 666 " + src_ + "/null")
                .code,
            0);
  ASSERT_EQ(As(kNobody, src_ + "/id -u").out, "0\n") << "the copy runs setuid where it is";
  Commit(1);
  const std::string helper = "mount -t fuse '" + std::string(REVFS_BINARY) + "#" + store_ + "' " +
                             mnt_ + " -o allow_other";
  for (const std::string& how : {helper, std::string(REVFS_BINARY) + " mount " + store_ + " " +
                                             mnt_ + " -o allow_other"}) {
    SCOPED_TRACE(how);
    ShResult m = Sh(how);
    ASSERT_EQ(m.code, 0) << m.out;
    const std::string opts = MountOptions();
    EXPECT_NE(opts.find(",nosuid,"), std::string::npos) << MountsLine();
    EXPECT_NE(opts.find(",nodev,"), std::string::npos) << MountsLine();
    EXPECT_EQ(Sh("stat -c %A " + mnt_ + "/latest/id").out, "-rwsr-xr-x\n") << "served as stored";
    EXPECT_EQ(As(kNobody, mnt_ + "/latest/id -u").out, std::to_string(kNobody) + "\n");
    ShResult dev = As(kNobody, "head -c 1 " + mnt_ + "/latest/null");
    EXPECT_NE(dev.code, 0) << "a stored device node opened";
    EXPECT_NE(dev.out.find("Permission denied"), std::string::npos) << dev.out;
    ASSERT_EQ(Sh("umount " + mnt_).code, 0);
    WaitDaemonsGone();
  }
}

// suid and dev are refused by name, from revfs mount and from mount.fuse3
// (which appends dev,suid to every option list without nodev,nosuid: only
// what the user wrote is refused); nothing is mounted. mount(8) itself drops
// suid and dev, its defaults, before any helper sees them: there they are
// indistinguishable from nothing, and the mount is nosuid,nodev all the same
// (StoredSetuidBitsAndDeviceNodesGainNothing).
TEST_F(MountPermissionsTest, SuidAndDevOptionsAreRefused) {
  const std::pair<const char*, const char*> refused[] = {
      {"suid", "suid"}, {"dev", "dev"}, {"allow_other,suid", "suid"}, {"dev,nosuid", "dev"}};
  for (const auto& [opt, name] : refused) {
    SCOPED_TRACE(opt);
    for (const std::string& how :
         {std::string(REVFS_BINARY) + " mount " + store_ + " " + mnt_ + " -o " + opt,
          "mount.fuse3 '" + std::string(REVFS_BINARY) + "#" + store_ + "' " + mnt_ + " -o " +
              opt}) {
      SCOPED_TRACE(how);
      ShResult r = Sh(how);
      EXPECT_NE(r.code, 0);
      EXPECT_NE(r.out.find(std::string("revfs: -o ") + name + ": "), std::string::npos) << r.out;
      EXPECT_EQ(MountsLine(), "") << "mounted";
      if (!MountsLine().empty()) Sh("umount " + mnt_);
    }
  }
  ShResult r = Sh(std::string(REVFS_BINARY) + " mount " + store_ + " " + mnt_ + " -o suid");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}

// The store's path is the mount's source whatever it holds: a comma does not
// start a mount option, a backslash is not an escape, and /proc/mounts shows
// the whole path (the kernel writes a space as \040, a backslash as \134).
TEST_F(MountPermissionsTest, StorePathIsTheWholeFsname) {
  const std::string store = Path("store,allow_other");
  ASSERT_EQ(Sh(std::string(REVFS_BINARY) + " init '" + store + "'").code, 0);
  ASSERT_EQ(Sh(std::string(REVFS_BINARY) + " commit '" + store + "' " + src_).code, 0);
  store_ = store;
  if (!Mount()) return;
  EXPECT_EQ(MountsLine().rfind("revfs:" + store + " " + mnt_ + " fuse.revfs ", 0), 0u)
      << MountsLine();
  EXPECT_EQ(MountOptions().find(",allow_other,"), std::string::npos) << MountsLine();
  EXPECT_NE(As(kNobody, "ls " + mnt_).code, 0) << "other users reached the mount";
  Unmount();

  const std::string odd = Path("my store\\1,x");
  ASSERT_EQ(Sh(std::string(REVFS_BINARY) + " init '" + odd + "'").code, 0);
  ShResult m = Sh(std::string(REVFS_BINARY) + " mount '" + odd + "' " + mnt_);
  ASSERT_EQ(m.code, 0) << m.out;
  EXPECT_EQ(MountsLine().rfind("revfs:" + Path("my\\040store\\1341,x") + " " + mnt_ + " ", 0), 0u)
      << MountsLine();
}

// trusted.* attributes are for privileged callers only, as on ext4: other
// users neither see their names nor read them. user.* is for everyone who
// may read the file.
TEST_F(MountPermissionsTest, TrustedXattrsOnlyForRoot) {
  WriteFile(src_ + "/f", "x");
  ASSERT_EQ(Sh("setfattr -n trusted.revfs_test -v hidden " + src_ + "/f && setfattr -n "
               "user.revfs_test -v shown " + src_ + "/f")
                .code,
            0);
  Commit(1);
  if (!Mount("allow_other")) return;
  const std::string f = mnt_ + "/latest/f";
  const std::string root_names = Sh("getfattr -m - --absolute-names " + f).out;
  EXPECT_NE(root_names.find("trusted.revfs_test"), std::string::npos) << root_names;
  EXPECT_NE(root_names.find("user.revfs_test"), std::string::npos) << root_names;
  EXPECT_NE(Sh("getfattr -n trusted.revfs_test --only-values " + f).out.find("hidden"),
            std::string::npos);
  const std::string names = As(kNobody, "getfattr -m - --absolute-names " + f).out;
  EXPECT_EQ(names.find("trusted."), std::string::npos) << names;
  EXPECT_NE(names.find("user.revfs_test"), std::string::npos) << names;
  ShResult r = As(kNobody, "getfattr -n trusted.revfs_test --only-values " + f);
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(r.out.find("hidden"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("No such attribute"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace revfs::testing
