// Names through `revfs ls --json` and `revfs diff --json`, losslessly: a
// name with bytes that are not UTF-8 comes with its exact bytes in base64
// (name_b64 / path_b64 / target_b64), so it can be told apart from a name
// holding the characters U+00XX; valid UTF-8, a newline and 255-byte names
// are plain JSON strings.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "support/engine_test.h"

namespace revfs::testing {
namespace {

class CliCoverageTest : public EngineTest {
 protected:
  // Runs a bash script under a time limit; returns exit status and stdout.
  std::pair<int, std::string> Run(const std::string& cmd, int seconds = 120) {
    const std::string script = Path("cmd.sh"), out = Path("cmd.out");
    std::ofstream(script, std::ios::trunc) << cmd << "\n";
    int status = std::system(("timeout " + std::to_string(seconds) + " bash " + script + " > " +
                              out + " 2>&1")
                                 .c_str());
    std::ifstream f(out);
    std::stringstream ss;
    ss << f.rdbuf();
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ss.str()};
  }
};

TEST_F(CliCoverageTest, JsonNamesAreLossless) {
  const std::string store = Path("store"), src = Path("src"), revfs = REVFS_BINARY;
  const std::string n255(255, 'n');
  ASSERT_EQ(Run("set -e; mkdir -p " + src + "; cd " + src +
                "; echo a > $'new\\nline'; echo b > $'\\xff\\xfe bad'; echo c > $'\\xe9x'; "
                "echo d > $'\\xc3\\xa9x'; echo e > " + n255 + "; ln -s $'\\xe9x' $'link\\x80'; " +
                revfs + " init " + store + " >/dev/null; " + revfs + " commit " + store + " " +
                src + " >/dev/null")
                .first,
            0);
  auto [code, ls] = Run(revfs + " ls " + store + " 1 --json");
  ASSERT_EQ(code, 0) << ls;
  // The byte 0xE9 alone and the character U+00E9 (0xC3 0xA9) differ.
  EXPECT_NE(ls.find("\"name\":\"\\u00e9x\",\"name_b64\":\"6Xg=\""), std::string::npos) << ls;
  EXPECT_NE(ls.find("\"name\":\"\xc3\xa9x\",\"type\""), std::string::npos) << ls;
  EXPECT_NE(ls.find("\"name\":\"\\u00ff\\u00fe bad\",\"name_b64\":\"//4gYmFk\""),
            std::string::npos)
      << ls;
  EXPECT_NE(ls.find("\"name\":\"new\\nline\",\"type\""), std::string::npos) << ls;
  EXPECT_NE(ls.find("\"name\":\"" + n255 + "\",\"type\""), std::string::npos) << ls;
  // "link\x80" -> "\xe9x": both name and target carry their bytes.
  EXPECT_NE(ls.find("\"name_b64\":\"bGlua4A=\""), std::string::npos) << ls;
  EXPECT_NE(ls.find("\"target\":\"\\u00e9x\",\"target_b64\":\"6Xg=\""), std::string::npos) << ls;
  ASSERT_EQ(Run("set -e; cd " + src + "; rm $'\\xe9x'; echo changed > $'\\xff\\xfe bad'; " + revfs +
                " commit " + store + " " + src + " >/dev/null")
                .first,
            0);
  auto [dc, diff] = Run(revfs + " diff " + store + " 1 2 --json");
  ASSERT_EQ(dc, 0) << diff;
  EXPECT_NE(diff.find("\"change\":\"D\",\"path\":\"\\u00e9x\",\"path_b64\":\"6Xg=\""),
            std::string::npos)
      << diff;
  EXPECT_NE(diff.find("\"change\":\"M\",\"path\":\"\\u00ff\\u00fe bad\",\"path_b64\":\"//4gYmFk\""),
            std::string::npos)
      << diff;
  // Plain `ls` and `cat` take and give the raw bytes.
  EXPECT_EQ(Run(revfs + " cat " + store + " 2 $'\\xff\\xfe bad'").second, "changed\n");
  EXPECT_EQ(Run(revfs + " ls " + store + " 1 | grep -c $'^\\xe9x$'").second, "1\n");
}

}  // namespace
}  // namespace revfs::testing
