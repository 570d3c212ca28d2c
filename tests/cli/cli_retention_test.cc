// revfs forget / hold / release and what log, ls, cat and diff show after:
// forgotten revisions are gone from every command, kept ones keep their
// numbers, bad input is one line and exit 1.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "support/engine_test.h"
#include "support/json_number.h"

namespace revfs::testing {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class CliRetentionTest : public EngineTest {
 protected:
  struct Run {
    int code = -1;
    std::string out, err;
  };

  void SetUp() override {
    EngineTest::SetUp();
    store_ = Path("store");
    src_ = Path("src");
    ASSERT_EQ(Revfs("init " + store_ + " --time 2026-01-01T00:00:00Z").code, 0);
    ASSERT_EQ(std::system(("mkdir -p " + src_).c_str()), 0);
    // Revisions 1..8: 1-5 one a day at 10:00 (Jan 1-5), 6-8 on Jan 5 later.
    const char* times[] = {"2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z",
                           "2026-01-03T10:00:00Z", "2026-01-04T10:00:00Z",
                           "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z",
                           "2026-01-05T12:00:00Z", "2026-01-05T12:30:00Z"};
    for (int i = 0; i < 8; ++i) {
      std::ofstream(src_ + "/f", std::ios::trunc) << "version " << i + 1;
      Run r = Revfs("commit " + store_ + " " + src_ + " --time " + times[i]);
      ASSERT_EQ(r.code, 0) << r.err;
    }
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

  void ExpectOneLineError(const Run& r, const std::string& text) {
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.rfind("revfs: ", 0), 0u) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    EXPECT_NE(r.err.find(text), std::string::npos) << r.err;
  }

  // The revision numbers `revfs log --json` lists.
  std::string LoggedRevisions() {
    Run r = Revfs("log " + store_ + " --json");
    EXPECT_EQ(r.code, 0) << r.err;
    std::string list;
    for (size_t at = 0; (at = r.out.find("{\"revision\":", at)) != std::string::npos;) {
      at += 12;
      list += (list.empty() ? "" : " ") + r.out.substr(at, r.out.find_first_of(",}", at) - at);
    }
    return list;
  }

  std::string store_, src_;
};

TEST_F(CliRetentionTest, ForgetByNumberHidesRevisionsEverywhere) {
  Run r = Revfs("forget " + store_ + " 2 4");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "forgot 2 revisions: 2 4; 7 kept\n");
  EXPECT_EQ(LoggedRevisions(), "0 1 3 5 6 7 8");
  ExpectOneLineError(Revfs("cat " + store_ + " 2 f"), "revision 2 was forgotten");
  ExpectOneLineError(Revfs("ls " + store_ + " 4"), "revision 4 was forgotten");
  ExpectOneLineError(Revfs("diff " + store_ + " 1 2"), "revision 2 was forgotten");
  r = Revfs("cat " + store_ + " 3 f");
  EXPECT_EQ(r.out, "version 3");
  // @TIME: the newest kept revision at or before it.
  r = Revfs("cat " + store_ + " @2026-01-04T23:00:00Z f");
  EXPECT_EQ(r.out, "version 3") << r.err;
  r = Revfs("verify " + store_);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

TEST_F(CliRetentionTest, PoliciesDryRunAndJson) {
  Run r = Revfs("forget " + store_ + " --keep-daily 2 --keep-last 1 --dry-run --json");
  ASSERT_EQ(r.code, 0) << r.err;
  // Daily: 8 (Jan 5), 4 (Jan 4). Revision 0 (Jan 1 00:00) and 1-3 go.
  EXPECT_EQ(r.out,
            "{\"dry_run\":true,\"forget\":[0,1,2,3,5,6,7],\"keep\":[4,8],"
            "\"reasons\":{\"4\":[\"daily\"],\"8\":[\"latest\",\"last\",\"daily\"]}}\n");
  EXPECT_EQ(LoggedRevisions(), "0 1 2 3 4 5 6 7 8");  // a dry run changes nothing
  r = Revfs("forget " + store_ + " --keep-hourly 3 --keep-within 2d");
  ASSERT_EQ(r.code, 0) << r.err;
  // within 2d of Jan 5 12:30: after Jan 3 12:30 -> 4..8; hourly adds 8 7 6.
  EXPECT_EQ(LoggedRevisions(), "4 5 6 7 8");
}

TEST_F(CliRetentionTest, HoldsProtectAndShowInLog) {
  ASSERT_EQ(Revfs("hold " + store_ + " 3 --tag before-upgrade").code, 0);
  ASSERT_EQ(Revfs("hold " + store_ + " @2026-01-02T10:00:00Z").code, 0);
  Run r = Revfs("log " + store_);
  EXPECT_NE(r.out.find("[held: before-upgrade]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 revisions forgotten, 2 held"), std::string::npos) << r.out;
  r = Revfs("log " + store_ + " --json");
  EXPECT_NE(r.out.find("{\"revision\":3,\"hold\":\"before-upgrade\""), std::string::npos);
  EXPECT_NE(r.out.find("{\"revision\":2,\"hold\":\"\""), std::string::npos);
  ExpectOneLineError(Revfs("forget " + store_ + " 3"),
                     "revision 3 is held (tag before-upgrade); release it first");
  ASSERT_EQ(Revfs("forget " + store_ + " --keep-last 1").code, 0);
  EXPECT_EQ(LoggedRevisions(), "2 3 8");
  ASSERT_EQ(Revfs("release " + store_ + " 3").code, 0);
  ExpectOneLineError(Revfs("release " + store_ + " 3"), "revision 3 is not held");
  ASSERT_EQ(Revfs("forget " + store_ + " 3").code, 0);
  EXPECT_EQ(LoggedRevisions(), "2 8");
}

TEST_F(CliRetentionTest, LogJsonSaysWhereTheSpaceGoes) {
  // Revision 9 alone holds 2 MiB of random bytes (enough for prune to seal
  // the one segment this store has); 10 drops them.
  std::string random(2 << 20, '\0');
  std::srand(9);
  for (char& c : random) c = static_cast<char>(std::rand());
  std::ofstream(src_ + "/own", std::ios::binary) << random;
  ASSERT_EQ(Revfs("commit " + store_ + " " + src_ + " --time 2026-01-06T10:00:00Z").code, 0);
  ASSERT_EQ(std::remove((src_ + "/own").c_str()), 0);
  ASSERT_EQ(Revfs("commit " + store_ + " " + src_ + " --time 2026-01-07T10:00:00Z").code, 0);

  Run r = Revfs("log " + store_ + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const long long live = JsonNumber(r.out, "live_bytes"), dead = JsonNumber(r.out, "dead_bytes");
  EXPECT_EQ(live, JsonNumber(r.out, "alone_bytes") + JsonNumber(r.out, "shared_bytes") +
                      JsonNumber(r.out, "bookkeeping_bytes"));
  EXPECT_EQ(JsonNumber(r.out, "store_bytes"), live + dead);
  long long sum = 0;
  for (size_t at = r.out.find("\"revisions\""); (at = r.out.find("{\"revision\":", at)) !=
                                                 std::string::npos; ++at) {
    sum += JsonNumber(r.out, "alone_bytes", at);
  }
  EXPECT_EQ(sum, JsonNumber(r.out, "alone_bytes"));
  const long long own = JsonNumber(r.out, "alone_bytes", r.out.find("{\"revision\":9,"));
  EXPECT_GE(own, 2 << 20);
  EXPECT_GT(JsonNumber(r.out, "shared_bytes"), 0);  // "version 8" is in 8, 9 and 10

  // Forgotten, revision 9's bytes are dead; pruned, they are gone.
  ASSERT_EQ(Revfs("forget " + store_ + " 9").code, 0);
  r = Revfs("log " + store_ + " --json");
  EXPECT_EQ(JsonNumber(r.out, "dead_bytes"), dead + own);
  ASSERT_EQ(Revfs("prune " + store_ + " --max-unused 0").code, 0);
  r = Revfs("log " + store_ + " --json");
  // Left dead: a few retention pages (the prune's own bookkeeping).
  EXPECT_LT(JsonNumber(r.out, "dead_bytes"), 16 << 10);
  EXPECT_LT(JsonNumber(r.out, "store_bytes"), live + dead - (2 << 20) + (16 << 10));
  r = Revfs("verify " + store_);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

TEST_F(CliRetentionTest, BadInputIsOneLineAndChangesNothing) {
  ExpectOneLineError(Revfs("forget " + store_ + " 8"),
                     "revision 8 is the latest; it cannot be forgotten");
  ExpectOneLineError(Revfs("forget " + store_ + " latest"), "revision 8 is the latest");
  ExpectOneLineError(Revfs("forget " + store_ + " 12"), "revision 12 does not exist");
  ExpectOneLineError(Revfs("forget " + store_ + " x1"), "revision 'x1': expected a number");
  ExpectOneLineError(Revfs("forget " + store_ + " --keep-daily 0"),
                     "--keep-daily '0': expected a number from 1 to 1000000");
  ExpectOneLineError(Revfs("forget " + store_ + " --keep-last -3"), "--keep-last '-3'");
  ExpectOneLineError(Revfs("forget " + store_ + " --keep-yearly 99999999999"),
                     "--keep-yearly '99999999999'");
  ExpectOneLineError(Revfs("forget " + store_ + " --keep-within 5w"),
                     "keep-within duration '5w'");
  ExpectOneLineError(Revfs("forget " + store_), "name revisions or a --keep-* policy");
  ExpectOneLineError(Revfs("forget " + Path("nothing") + " 1"), "no such store");
  ExpectOneLineError(Revfs("hold " + store_ + " 99"), "revision 99 does not exist");
  ExpectOneLineError(Revfs("hold " + store_ + " 1 --tag " + std::string(300, 't')),
                     "hold tag is longer than 255 bytes");
  ExpectOneLineError(Revfs("release " + store_ + " 1"), "revision 1 is not held");
  EXPECT_EQ(LoggedRevisions(), "0 1 2 3 4 5 6 7 8");
  ASSERT_EQ(Revfs("forget " + store_ + " 1").code, 0);
  ExpectOneLineError(Revfs("forget " + store_ + " 1"), "revision 1 was forgotten");
  ExpectOneLineError(Revfs("hold " + store_ + " 1"), "revision 1 was forgotten");
}

}  // namespace
}  // namespace revfs::testing
