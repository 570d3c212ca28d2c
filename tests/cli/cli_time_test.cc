// @TIME revision names on the command line: any year resolves sanely (past
// the last commit: the latest revision; before revision 0: one line and exit
// 1), and ls shows times before 1970 as they were.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "support/engine_test.h"

namespace revfs::testing {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class CliTimeTest : public EngineTest {
 protected:
  struct Run {
    int code = -1;
    std::string out, err;
  };

  void SetUp() override {
    EngineTest::SetUp();
    store_ = Path("store");
    src_ = Path("src");
    ASSERT_EQ(Revfs("init " + store_).code, 0);
    ASSERT_EQ(std::system(("mkdir -p " + src_).c_str()), 0);
  }

  Run Revfs(const std::string& args) {
    const std::string out = Path("stdout"), err = Path("stderr");
    int status = std::system((REVFS_BINARY " " + args + " >" + out + " 2>" + err).c_str());
    Run r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = Slurp(out);
    r.err = Slurp(err);
    return r;
  }

  void CommitFile(const std::string& bytes) {
    std::ofstream(src_ + "/f", std::ios::binary | std::ios::trunc) << bytes;
    Run r = Revfs("commit " + store_ + " " + src_);
    ASSERT_EQ(r.code, 0) << r.err;
  }

  void ExpectOneLineError(const Run& r, const std::string& text) {
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.rfind("revfs: ", 0), 0u) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    EXPECT_NE(r.err.find(text), std::string::npos) << r.err;
  }

  std::string store_, src_;
};

TEST_F(CliTimeTest, FarTimesResolveToTheLatestRevision) {
  CommitFile("one");
  CommitFile("second");
  for (const char* t : {"@2300-01-01", "@2610-01-01", "@9999-12-31T23:59:59Z",
                        "@9999-12-31T23:59:59.999999999Z"}) {
    Run r = Revfs("cat " + store_ + " " + t + " f");
    EXPECT_EQ(r.code, 0) << t << ": " << r.err;
    EXPECT_EQ(r.out, "second") << t;
    EXPECT_EQ(r.err, "") << t;
  }
}

TEST_F(CliTimeTest, TimesBeforeRevisionZeroAreOneLineErrors) {
  CommitFile("one");
  for (const char* t : {"@0000-01-01", "@1600-01-01", "@1677-09-21T00:12:43Z", "@1970-01-01"}) {
    ExpectOneLineError(Revfs("cat " + store_ + " " + t + " f"), "no revision at or before");
  }
  ExpectOneLineError(Revfs("cat " + store_ + " @2030-02-30 f"), "not an ISO-8601 time");
  ExpectOneLineError(Revfs("ls " + store_ + " @" + std::string(255, '9')),
                     "not an ISO-8601 time");
}

TEST_F(CliTimeTest, ListsTimesBefore1970AsTheyWere) {
  CommitFile("old");
  ASSERT_EQ(std::system(("touch -d '1969-12-31 23:59:59.5 UTC' " + src_ + "/f").c_str()), 0);
  ASSERT_EQ(Revfs("commit " + store_ + " " + src_).code, 0);
  Run l = Revfs("ls " + store_ + " latest -l");
  EXPECT_EQ(l.code, 0) << l.err;
  EXPECT_NE(l.out.find("1969-12-31T23:59:59.500000000Z f"), std::string::npos) << l.out;
  Run j = Revfs("ls " + store_ + " latest --json");
  EXPECT_EQ(j.code, 0) << j.err;
  EXPECT_NE(j.out.find("\"mtime_ns\":-500000000"), std::string::npos) << j.out;
  EXPECT_NE(j.out.find("\"mtime\":\"1969-12-31T23:59:59.500000000Z\""), std::string::npos)
      << j.out;
}

}  // namespace
}  // namespace revfs::testing
