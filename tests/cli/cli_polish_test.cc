// Errors that name their real cause: an unknown option is named before any
// missing argument, for every subcommand.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "support/engine_test.h"

namespace revfs::testing {
namespace {

class CliPolishTest : public EngineTest {
 protected:
  struct Run {
    int code = -1;
    std::string err;
  };
  Run Revfs(const std::string& args) {
    const std::string err = Path("stderr");
    const int status =
        std::system((REVFS_BINARY " " + args + " >/dev/null 2>" + err).c_str());
    Run r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream f(err);
    std::stringstream ss;
    ss << f.rdbuf();
    r.err = ss.str();
    return r;
  }
};

TEST_F(CliPolishTest, UnknownOptionIsNamedBeforeMissingArguments) {
  const std::string store = Path("store");
  ASSERT_EQ(Revfs("init " + store).code, 0);
  // Each with too few arguments after the bad option, and with all of them.
  for (const std::string sub : {"ls", "cat", "diff", "log", "commit", "mount"}) {
    for (const std::string& args : {std::string(" --bogus x"), " " + store + " --bogus x",
                                   " --bogus=1 " + store + " x y"}) {
      SCOPED_TRACE(sub + args);
      Run r = Revfs(sub + args);
      EXPECT_EQ(r.code, 1) << r.err;
      EXPECT_EQ(r.err.rfind("revfs: --bogus: unknown option", 0), 0u) << r.err;
      EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    }
  }
}

TEST_F(CliPolishTest, OptionValuesAreNotTakenForOptions) {
  const std::string store = Path("store");
  ASSERT_EQ(Revfs("init " + store).code, 0);
  ASSERT_EQ(std::system(("mkdir -p " + Path("src")).c_str()), 0);
  // A message that looks like an option is the value of -m.
  Run r = Revfs("commit " + store + " " + Path("src") + " -m --not-an-option");
  EXPECT_EQ(r.code, 0) << r.err;
  r = Revfs("ls " + store + " latest -l --json");
  EXPECT_EQ(r.code, 0) << r.err;
  r = Revfs("ls " + store + " latest -x");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("revfs: -x: unknown option", 0), 0u) << r.err;
}

}  // namespace
}  // namespace revfs::testing
