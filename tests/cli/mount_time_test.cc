// Times on a real mount: at/ names of any year resolve sanely (past the last
// commit: the latest revision; before revision 0, or not a date: ENOENT),
// and files older than 1970 keep their exact times through stat, find and
// cp -p.
#include <string>

#include "cli/mount_fixture.h"

namespace revfs::testing {
namespace {

class MountTimeTest : public MountTest {
 protected:
  // Returns "ok: BYTES" when at/NAME/f can be read, else the error.
  std::string CatAt(const std::string& name) {
    ShResult r = Sh("LC_ALL=C cat '" + mnt_ + "/at/" + name + "/f'");
    return r.code == 0 ? "ok: " + r.out : r.out;
  }
  // Returns stat's answer for at/NAME (the error text on failure).
  ShResult StatAt(const std::string& name) {
    return Sh("LC_ALL=C stat -c %F '" + mnt_ + "/at/" + name + "'");
  }
  void ExpectNoEntry(const std::string& name) {
    ShResult r = StatAt(name);
    EXPECT_NE(r.code, 0) << name << ": " << r.out;
    EXPECT_NE(r.out.find("No such file or directory"), std::string::npos) << name << ": " << r.out;
  }
};

TEST_F(MountTimeTest, FarTimesUnderAtResolveSanely) {
  WriteFile(src_ + "/f", "one");
  Commit(1);
  WriteFile(src_ + "/f", "second");
  Commit(2);
  if (!Mount()) return;
  // Past the last commit, up to the last second of year 9999: the latest.
  for (const char* name : {"2300-01-01", "2610-01-01", "2263-01-01T00:00:00Z",
                           "9999-12-31T23:59:59Z", "9999-12-31T235959Z",
                           "9999-12-31T23:59:59.999999999Z"}) {
    EXPECT_EQ(CatAt(name), "ok: second") << name;
    EXPECT_EQ(Sh("readlink '" + mnt_ + "/at/" + name + "'").out, "../revisions/2\n") << name;
  }
  // Before revision 0 (its time is now), in any year back to 0000: ENOENT.
  for (const char* name : {"0000-01-01", "0000-02-29", "1600-01-01", "1677-09-21T00:12:43Z",
                           "1970-01-01", "2000-01-01T00:00:00Z"}) {
    ExpectNoEntry(name);
  }
  // Not a date at all.
  ExpectNoEntry("2030-02-30");
  ExpectNoEntry("2030-02-29T00:00:00Z");
  ExpectNoEntry(std::string(255, '9'));
  ExpectNoEntry("2300-01-01T00:00:00." + std::string(224, '9') + "x");
  // A 255-byte name that is a time: the fraction's tail is ignored.
  EXPECT_EQ(CatAt("2300-01-01T00:00:00." + std::string(234, '9') + "Z"), "ok: second");
  // The mount is still serving.
  EXPECT_EQ(Sh("cat " + mnt_ + "/latest/f").out, "second");
}

TEST_F(MountTimeTest, TimesBefore1970RoundTrip) {
  WriteFile(src_ + "/f", "old bytes");
  ASSERT_EQ(Sh("mkdir " + src_ + "/d && echo x > " + src_ + "/d/g && ln -s f " + src_ +
               "/l").code, 0);
  ASSERT_EQ(Sh("cd " + src_ + " && touch -d '1969-12-31 23:59:59.5 UTC' f d/g && "
               "touch -d '1969-12-31 23:59:58.25 UTC' d && "
               "touch -h -d '1960-06-01 12:00:00.75 UTC' l").code, 0);
  Commit(1);
  if (!Mount()) return;
  const std::string rev = mnt_ + "/revisions/1";
  for (const char* path : {"f", "d", "d/g", "l"}) {
    EXPECT_EQ(Sh("TZ=UTC stat -c '%y %Y' " + rev + "/" + path).out,
              Sh("TZ=UTC stat -c '%y %Y' " + src_ + "/" + path).out)
        << path;
  }
  EXPECT_EQ(Sh("TZ=UTC stat -c %y " + rev + "/f").out,
            "1969-12-31 23:59:59.500000000 +0000\n");
  EXPECT_EQ(Sh("cd " + rev + " && find . -printf '%p %T@\\n' | sort").out,
            Sh("cd " + src_ + " && find . -printf '%p %T@\\n' | sort").out);
  // cp -p sets the times it read back with utimensat, which refuses a
  // tv_nsec outside [0, 1e9).
  ASSERT_EQ(Sh("mkdir -p " + Path("copy")).code, 0);
  ShResult cp = Sh("cp -pr " + rev + "/f " + rev + "/d " + Path("copy"));
  EXPECT_EQ(cp.code, 0) << cp.out;
  EXPECT_EQ(cp.out, "");
  for (const char* path : {"f", "d", "d/g"}) {
    EXPECT_EQ(Sh("TZ=UTC stat -c '%y' " + Path("copy") + "/" + path).out,
              Sh("TZ=UTC stat -c '%y' " + src_ + "/" + path).out)
        << path;
  }
  EXPECT_EQ(Sh("cat " + Path("copy") + "/f").out, "old bytes");
}

}  // namespace
}  // namespace revfs::testing
