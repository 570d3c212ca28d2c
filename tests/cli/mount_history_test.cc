// history/ through a real mount, against brute force over a 300-revision
// generated history (adds, edits, metadata-only changes, type changes,
// renames, deletions and re-creations of files, symlinks, FIFOs and
// directories, names that collide with the version naming): for every
// path that ever existed, its directory lists exactly the revisions where
// its state changed to one that is not a directory, each version holds
// that revision's bytes (or target) with the st_ino of revisions/N, and
// @current names the last; `find MOUNT/history | wc -l` is the count brute
// force gives; diff between two versions is diff of the two sources; and
// `revfs log PATH` lists the same changes. Again after a remount and after
// `revfs reindex`.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "mount_fixture.h"
#include "support/tree_mutator.h"

namespace revfs::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kRevisions = 300;
constexpr time_t kT0 = 1'893'456'000;  // 2030-01-01T00:00:00Z; revision r at r minutes

// What brute force compares of a path at one revision.
struct State {
  char type = 0;      // 'f' file, 'l' symlink, 'p' FIFO, 'd' directory
  std::string bytes;  // a file's content, a symlink's target
  std::string meta;   // mode and mtime
  bool operator==(const State&) const = default;
};
using Tree = std::map<std::string, State>;  // relative path -> state

std::string Utc(time_t t, const char* format) {
  char buf[64];
  struct tm tm;
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof(buf), format, &tm);
  return buf;
}

std::string VersionName(int r) {
  char digits[16];
  std::snprintf(digits, sizeof(digits), "%08d", r);
  return std::string("@") + digits + "_" + Utc(kT0 + r * 60, "%Y-%m-%dT%H%M%SZ");
}

// A stored name as history/ shows it.
std::string Escaped(const std::string& path) {
  std::string out;
  for (const auto& part : fs::path(path)) {
    const std::string name = part.string();
    out += (out.empty() ? "" : "/") + (name[0] == '@' ? "@" + name : name);
  }
  return out;
}

class MountHistoryTest : public MountTest {
 protected:
  Tree Walk() {
    Tree t;
    for (auto it = fs::recursive_directory_iterator(src_); it != fs::recursive_directory_iterator();
         ++it) {
      const std::string rel = fs::relative(it->path(), src_).string();
      struct stat st;
      EXPECT_EQ(::lstat(it->path().c_str(), &st), 0);
      State s;
      s.meta = std::to_string(st.st_mode) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
               std::to_string(st.st_mtim.tv_nsec);
      if (S_ISDIR(st.st_mode)) s.type = 'd';
      if (S_ISFIFO(st.st_mode)) s.type = 'p';
      if (S_ISLNK(st.st_mode)) {
        s.type = 'l';
        s.bytes = fs::read_symlink(it->path()).string();
      }
      if (S_ISREG(st.st_mode)) {
        s.type = 'f';
        s.bytes = ReadWhole(it->path().string());
      }
      t[rel] = s;
    }
    return t;
  }

  std::set<std::string> Listing(const std::string& dir) {
    std::set<std::string> names;
    DIR* d = ::opendir(dir.c_str());
    EXPECT_NE(d, nullptr) << dir;
    if (d == nullptr) return names;
    while (struct dirent* e = ::readdir(d)) names.insert(e->d_name);
    ::closedir(d);
    return names;
  }

  // history/ against the trees of revisions 1..N (trees_[r]).
  void CheckMount() {
    ASSERT_TRUE(Mount());
    const std::string history = mnt_ + "/history";
    std::set<std::string> every;
    for (const Tree& t : trees_) {
      for (const auto& [p, s] : t) every.insert(p);
    }
    size_t count = 1;  // history/ itself
    const Tree& latest = trees_.back();
    for (const std::string& p : every) {
      SCOPED_TRACE(p);
      std::vector<int> versions;
      for (int r = 1; r < static_cast<int>(trees_.size()); ++r) {
        auto now = trees_[r].find(p);
        auto before = trees_[r - 1].find(p);
        if (now == trees_[r].end() || now->second.type == 'd') continue;
        if (before == trees_[r - 1].end() || !(before->second == now->second)) versions.push_back(r);
      }
      const auto cur = latest.find(p);
      const bool current = cur != latest.end() && cur->second.type != 'd';
      std::set<std::string> want = {".", ".."};
      for (int r : versions) want.insert(VersionName(r));
      if (current) want.insert("@current");
      for (const std::string& q : every) {
        if (q.size() > p.size() && q.compare(0, p.size() + 1, p + "/") == 0 &&
            q.find('/', p.size() + 1) == std::string::npos) {
          want.insert(Escaped(q).substr(Escaped(p).size() + 1));
        }
      }
      const std::string dir = history + "/" + Escaped(p);
      ASSERT_EQ(Listing(dir), want);
      count += 1 + versions.size() + (current ? 1 : 0);
      for (int r : versions) {
        const State& s = trees_[r].at(p);
        const std::string v = dir + "/" + VersionName(r);
        struct stat st, in_rev;
        ASSERT_EQ(::lstat(v.c_str(), &st), 0) << v;
        ASSERT_EQ(::lstat((mnt_ + "/revisions/" + std::to_string(r) + "/" + p).c_str(), &in_rev), 0);
        EXPECT_EQ(st.st_ino, in_rev.st_ino) << v;
        if (s.type == 'f') {
          EXPECT_EQ(ReadWhole(v), s.bytes) << v;
        } else if (s.type == 'l') {
          EXPECT_EQ(fs::read_symlink(v).string(), s.bytes) << v;
        } else {
          EXPECT_TRUE(S_ISFIFO(st.st_mode)) << v;
        }
      }
      if (current) {
        EXPECT_EQ(fs::read_symlink(dir + "/@current").string(), VersionName(versions.back()));
      }
    }
    ShResult find = Sh("find " + history + " | wc -l");
    EXPECT_EQ(find.out, std::to_string(count) + "\n");
    // diff between versions is diff between the sources.
    int diffs = 0;
    for (const std::string& p : every) {
      int last = 0;
      for (int r = 1; r < static_cast<int>(trees_.size()) && diffs < 5; ++r) {
        auto s = trees_[r].find(p);
        auto before = trees_[r - 1].find(p);
        if (s == trees_[r].end() || s->second.type != 'f') continue;
        if (before != trees_[r - 1].end() && before->second == s->second) continue;  // no version
        if (last != 0 && trees_[last].at(p).bytes != s->second.bytes) {
          std::ofstream(Path("one")) << trees_[last].at(p).bytes;
          std::ofstream(Path("two")) << s->second.bytes;
          const std::string dir = history + "/" + Escaped(p) + "/";
          ShResult through = Sh("diff " + dir + VersionName(last) + " " + dir + VersionName(r));
          ShResult sources = Sh("diff " + Path("one") + " " + Path("two"));
          EXPECT_EQ(through.code, 1);
          EXPECT_EQ(through.out, sources.out);
          ++diffs;
        }
        last = r;
      }
    }
    EXPECT_EQ(diffs, 5);
    Unmount();
  }

  // revfs log PATH of every path that was never a directory: the revisions
  // where it changed, deletions included.
  void CheckLog() {
    std::set<std::string> every;
    for (const Tree& t : trees_) {
      for (const auto& [p, s] : t) every.insert(p);
    }
    size_t checked = 0;
    for (const std::string& p : every) {
      bool dir = false;
      std::string want;
      for (int r = 1; r < static_cast<int>(trees_.size()); ++r) {
        auto now = trees_[r].find(p);
        auto before = trees_[r - 1].find(p);
        if (now != trees_[r].end() && now->second.type == 'd') dir = true;
        const bool had = before != trees_[r - 1].end(), has = now != trees_[r].end();
        if (had != has || (has && !(before->second == now->second))) {
          want += std::to_string(r) + "\n";
        }
      }
      if (dir) continue;
      ShResult log = Sh(std::string(REVFS_BINARY) + " log --json " + store_ + " '" + p +
                        "' | grep -o '\"revision\":[0-9]*' | cut -d: -f2");
      EXPECT_EQ(log.out, want) << p;
      ++checked;
    }
    EXPECT_GE(checked, 3u);
  }

  std::vector<Tree> trees_;  // [r]: the source committed as revision r
};

TEST_F(MountHistoryTest, HistoryEqualsBruteForce) {
  fs::create_directories(src_);
  trees_.push_back(Tree{});  // revision 0, the empty tree
  std::mt19937 rng(20261202);
  for (int r = 1; r <= kRevisions; ++r) {
    const int changes = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < changes; ++k) {
      ASSERT_TRUE(MutateTree(src_, {"a.c", "b", "@current", "d/x", "d/@y", "d/e/z", "f", "g/h"},
                             rng, r));
    }
    trees_.push_back(Walk());
    ShResult c = Sh(std::string(REVFS_BINARY) + " commit " + store_ + " " + src_ + " --time " +
                    Utc(kT0 + r * 60, "%Y-%m-%dT%H:%M:%SZ"));
    ASSERT_EQ(c.code, 0) << c.out;
  }
  ASSERT_NO_FATAL_FAILURE(CheckMount());
  ASSERT_NO_FATAL_FAILURE(CheckLog());
  ASSERT_NO_FATAL_FAILURE(CheckMount());  // a new daemon: the store opened again
  ShResult reindex = Sh(std::string(REVFS_BINARY) + " reindex " + store_);
  ASSERT_EQ(reindex.code, 0) << reindex.out;
  ASSERT_NO_FATAL_FAILURE(CheckMount());
  ASSERT_NO_FATAL_FAILURE(CheckLog());
}

}  // namespace
}  // namespace revfs::testing
