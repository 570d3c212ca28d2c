// ExcludeMatcher: gitignore cases, one by one.
#include "tree/exclude.h"

#include <gtest/gtest.h>

namespace revfs::testing {
namespace {

bool Ex(const std::vector<std::string>& lines, const std::string& path, bool dir = false) {
  return ExcludeMatcher(lines).Excluded(path, dir);
}

TEST(ExcludeTest, NamePatternsMatchAtAnyDepth) {
  EXPECT_TRUE(Ex({"*.o"}, "main.o"));
  EXPECT_TRUE(Ex({"*.o"}, "src/lib/main.o"));
  EXPECT_FALSE(Ex({"*.o"}, "main.c"));
  EXPECT_FALSE(Ex({"*.o"}, "main.o.c"));
  EXPECT_TRUE(Ex({"core"}, "a/b/core", true));
  EXPECT_TRUE(Ex({"?.txt"}, "d/a.txt"));
  EXPECT_FALSE(Ex({"?.txt"}, "d/ab.txt"));
  EXPECT_TRUE(Ex({"[ab].txt"}, "b.txt"));
  EXPECT_FALSE(Ex({"[ab].txt"}, "c.txt"));
  EXPECT_TRUE(Ex({"[!ab].txt"}, "c.txt"));
  EXPECT_TRUE(Ex({".*"}, "x/.hidden"));  // '*' matches a leading dot, as in git
}

TEST(ExcludeTest, SlashAnchorsAndStarStopsAtSlash) {
  EXPECT_TRUE(Ex({"/build"}, "build", true));
  EXPECT_FALSE(Ex({"/build"}, "src/build", true));
  EXPECT_TRUE(Ex({"doc/*.html"}, "doc/a.html"));
  EXPECT_FALSE(Ex({"doc/*.html"}, "doc/x/a.html"));
  EXPECT_FALSE(Ex({"doc/*.html"}, "src/doc/a.html"));  // a middle slash anchors too
  EXPECT_FALSE(Ex({"a*b"}, "a/b"));
}

TEST(ExcludeTest, TrailingSlashMeansDirectoriesOnly) {
  EXPECT_TRUE(Ex({"tmp/"}, "tmp", true));
  EXPECT_TRUE(Ex({"tmp/"}, "x/tmp", true));
  EXPECT_FALSE(Ex({"tmp/"}, "tmp", false));
  EXPECT_TRUE(Ex({"/out/"}, "out", true));
  EXPECT_FALSE(Ex({"/out/"}, "x/out", true));
}

TEST(ExcludeTest, DoubleStar) {
  EXPECT_TRUE(Ex({"**/foo"}, "foo"));
  EXPECT_TRUE(Ex({"**/foo"}, "a/b/foo"));
  EXPECT_TRUE(Ex({"**/foo/bar"}, "x/foo/bar"));
  EXPECT_TRUE(Ex({"**/foo/bar"}, "foo/bar"));
  EXPECT_TRUE(Ex({"a/**/b"}, "a/b"));
  EXPECT_TRUE(Ex({"a/**/b"}, "a/x/b"));
  EXPECT_TRUE(Ex({"a/**/b"}, "a/x/y/b"));
  EXPECT_FALSE(Ex({"a/**/b"}, "a/x/c"));
  EXPECT_TRUE(Ex({"abc/**"}, "abc/x"));
  EXPECT_TRUE(Ex({"abc/**"}, "abc/x/y"));
  EXPECT_FALSE(Ex({"abc/**"}, "abc", true));  // everything inside, not itself
  EXPECT_TRUE(Ex({"a/**/*.log"}, "a/q/r.log"));
  EXPECT_FALSE(Ex({"a/**/*.log"}, "b/q/r.log"));
}

TEST(ExcludeTest, NegationAndLastMatchWins) {
  EXPECT_FALSE(Ex({"*.log", "!keep.log"}, "keep.log"));
  EXPECT_TRUE(Ex({"*.log", "!keep.log"}, "drop.log"));
  EXPECT_TRUE(Ex({"!keep.log", "*.log"}, "keep.log"));  // the later pattern decides
  EXPECT_FALSE(Ex({"!x"}, "x"));
}

TEST(ExcludeTest, CommentsBlanksEscapesAndSpaces) {
  EXPECT_FALSE(Ex({"# *.c"}, "# a.c"));
  EXPECT_FALSE(Ex({"# *.c"}, "a.c"));
  EXPECT_TRUE(Ex({"\\#*"}, "#notes"));
  EXPECT_TRUE(Ex({"\\!important"}, "!important"));
  EXPECT_TRUE(Ex({"a\\*b"}, "a*b"));
  EXPECT_FALSE(Ex({"a\\*b"}, "axb"));
  EXPECT_TRUE(Ex({"name   "}, "name"));  // trailing spaces dropped
  EXPECT_TRUE(Ex({"name\\ "}, "name "));  // unless escaped
  EXPECT_FALSE(Ex({"name\\ "}, "name"));
  EXPECT_TRUE(ExcludeMatcher({"", "   ", "# only a comment"}).empty());
  EXPECT_EQ(ExcludeMatcher::Normalize({"", "# c", "*.o", "  ", "!x", "b/\r"}),
            (std::vector<std::string>{"*.o", "!x", "b/"}));
}

}  // namespace
}  // namespace revfs::testing
