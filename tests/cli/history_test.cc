// revfs log STORE PATH and revfs reindex: the versions of one path from the
// history index, as a table and as JSON; a path that never existed is one
// line and exit 1; reindex rebuilds the same history.
#include <string>

#include "mount_fixture.h"

namespace revfs::testing {
namespace {

const std::string kRevfs = REVFS_BINARY;

class HistoryCliTest : public MountTest {
 protected:
  void CommitAt(const std::string& time, const std::string& message) {
    ShResult r = Sh(kRevfs + " commit " + store_ + " " + src_ + " --time " + time + " -m " +
                    message);
    ASSERT_EQ(r.code, 0) << r.out;
  }
};

TEST_F(HistoryCliTest, LogOfAPathListsItsVersions) {
  ASSERT_EQ(Sh("mkdir -p " + src_ + "/dir && printf one > " + src_ + "/a.txt && printf b > " +
               src_ + "/dir/b")
                .code,
            0);
  ASSERT_NO_FATAL_FAILURE(CommitAt("2030-03-01T10:00:00Z", "first"));
  ASSERT_EQ(Sh("printf two2 > " + src_ + "/a.txt").code, 0);
  ASSERT_NO_FATAL_FAILURE(CommitAt("2030-03-02T10:00:00Z", "second"));
  ASSERT_EQ(Sh("rm " + src_ + "/a.txt && printf bb > " + src_ + "/dir/b").code, 0);
  ASSERT_NO_FATAL_FAILURE(CommitAt("2030-03-03T10:00:00Z", "third"));
  ASSERT_EQ(Sh("mkdir " + src_ + "/a.txt").code, 0);
  ASSERT_NO_FATAL_FAILURE(CommitAt("2030-03-04T10:00:00Z", "fourth"));

  const std::string table =
      "     REV  TIME                  CHANGE    TYPE              SIZE  MESSAGE\n"
      "       1  2030-03-01T10:00:00Z  added     file                 3  first\n"
      "       2  2030-03-02T10:00:00Z  modified  file                 4  second\n"
      "       3  2030-03-03T10:00:00Z  deleted   file                 -  third\n"
      "       4  2030-03-04T10:00:00Z  added     dir              " ;
  ShResult log = Sh(kRevfs + " log " + store_ + " a.txt");
  ASSERT_EQ(log.code, 0) << log.out;
  EXPECT_EQ(log.out.substr(0, table.size()), table) << log.out;
  EXPECT_NE(log.out.find("  fourth\n"), std::string::npos) << log.out;
  EXPECT_EQ(std::count(log.out.begin(), log.out.end(), '\n'), 5) << log.out;

  ShResult json = Sh(kRevfs + " log --json " + store_ + " /dir/b");
  ASSERT_EQ(json.code, 0) << json.out;
  EXPECT_NE(json.out.find("{\"path\":\"/dir/b\",\"versions\":[{\"revision\":1,\"time\":"
                          "\"2030-03-01T10:00:00Z\",\"change\":\"added\",\"type\":\"file\","
                          "\"size\":1,"),
            std::string::npos)
      << json.out;
  EXPECT_NE(json.out.find("{\"revision\":3,\"time\":\"2030-03-03T10:00:00Z\",\"change\":"
                          "\"modified\",\"type\":\"file\",\"size\":2,"),
            std::string::npos)
      << json.out;
  EXPECT_EQ(std::count(json.out.begin(), json.out.end(), '{'), 3) << json.out;

  ShResult never = Sh(kRevfs + " log " + store_ + " no/such");
  EXPECT_EQ(never.code, 1);
  EXPECT_EQ(never.out, "revfs: " + store_ + ": no/such: never existed up to revision 4\n");

  // Rebuilt from the revisions alone: the same history.
  ShResult reindex = Sh(kRevfs + " reindex " + store_);
  ASSERT_EQ(reindex.code, 0) << reindex.out;
  EXPECT_NE(reindex.out.find("reindexed " + store_ + ": 5 revisions, "), std::string::npos)
      << reindex.out;
  EXPECT_EQ(Sh(kRevfs + " log " + store_ + " a.txt").out, log.out);
  EXPECT_EQ(Sh(kRevfs + " verify " + store_).code, 0);
}

}  // namespace
}  // namespace revfs::testing
