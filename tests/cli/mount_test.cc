// The mount, tested on real FUSE mounts with the tools users run: diff -r,
// find, stat, readlink, getfattr, cat, mount/umount, kill. Under CI=true a
// mount that cannot be made fails the test instead of skipping it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "cli/mount_fixture.h"
#include "revfs/tree.h"
#include "support/engine_test.h"
#include "support/fault_env.h"
#include "support/json_number.h"

namespace revfs::testing {
namespace {

TEST_F(MountTest, EveryRevisionMatchesItsSource) {
  ASSERT_EQ(Sh("cd " + src_ + " && mkdir -p a/b/c empty && echo hello > a/f && "
               "head -c 3000000 /dev/urandom > a/b/big && truncate -s 50M sparse && "
               "ln -s a/f link && ln a/f a/b/hard && mkfifo fifo && : > zero && "
               "printf 'x' > 'odd name\n' && setfattr -n user.k -v v a/f && "
               "chmod 4750 a/b/big && chown 1234:4321 a/b/c && "
               "{ [ $(id -u) != 0 ] || mknod chr c 1 3; }")
                .code,
            0);
  Commit(1);
  constexpr int kRevisions = 20;
  for (int rev = 2; rev <= kRevisions; ++rev) {
    ASSERT_EQ(Sh("cd " + src_ + " && echo r" + std::to_string(rev) + " >> a/f && echo n > new" +
                 std::to_string(rev) + " && rm -f new" + std::to_string(rev - 2) +
                 (rev == 3 ? " && mv a/b/c a/c2 && setfattr -n user.k -v w a/f" : "") +
                 (rev == 4 ? " && rm -rf a/c2 && dd if=/dev/urandom of=a/b/big bs=1k count=5 "
                             "seek=100 conv=notrunc status=none"
                           : ""))
                  .code,
              0);
    Commit(rev);
  }
  if (!Mount()) return;
  for (int rev = 1; rev <= kRevisions; ++rev) {
    SCOPED_TRACE("revision " + std::to_string(rev));
    std::string m = mnt_ + "/revisions/" + std::to_string(rev);
    std::string ref = Path("ref/") + std::to_string(rev);
    ShResult d = Sh("diff -r --no-dereference -x fifo -x chr " + m + " " + ref);
    EXPECT_EQ(d.code, 0) << d.out;
    EXPECT_EQ(Listing(m), Listing(ref));
    EXPECT_EQ(Sh("cd " + m + " && getfattr -R -h -d -m - . 2>&1").out,
              Sh("cd " + ref + " && getfattr -R -h -d -m - . 2>&1").out);
    EXPECT_EQ(Sh("stat -c %i " + m + "/a/f").out, Sh("stat -c %i " + m + "/a/b/hard").out);
    EXPECT_EQ(Sh("readlink " + m + "/link").out, "a/f\n");
  }
}

TEST_F(MountTest, LatestFollowsCommitsAndAtResolvesTimes) {
  WriteFile(src_ + "/f", "one");
  ASSERT_EQ(Sh(std::string(REVFS_BINARY) + " commit " + store_ + " " + src_ +
               " --time 2030-01-01T00:00:00Z").code, 0);
  if (!Mount()) return;
  EXPECT_EQ(Sh("readlink " + mnt_ + "/latest").out, "revisions/1\n");
  EXPECT_EQ(Sh("ls " + mnt_ + "/revisions").out, "0\n1\n");
  WriteFile(src_ + "/f", "two");
  ASSERT_EQ(Sh(std::string(REVFS_BINARY) + " commit " + store_ + " " + src_ +
               " --time 2030-06-01T00:00:00Z").code, 0);
  std::string latest;
  for (int i = 0; i < 40 && latest != "revisions/2\n"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    latest = Sh("readlink " + mnt_ + "/latest").out;
  }
  EXPECT_EQ(latest, "revisions/2\n");
  // Listings of revisions/ and at/ that the kernel cached follow the commit.
  std::string listing;
  for (int i = 0; i < 40 && listing != "0\n1\n2\n"; ++i) {
    listing = Sh("ls " + mnt_ + "/revisions").out;
    if (listing != "0\n1\n2\n") std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(listing, "0\n1\n2\n");
  EXPECT_EQ(Sh("cat " + mnt_ + "/latest/f").out, "two");
  EXPECT_NE(Sh("ls " + mnt_ + "/at").out.find("2030-01-01T000000Z\n2030-06-01T000000Z\n"),
            std::string::npos);
  EXPECT_EQ(Sh("cat " + mnt_ + "/at/2030-03-01T12:00:00Z/f").out, "one");
  EXPECT_EQ(Sh("cat " + mnt_ + "/at/2030-01-01T000000Z/f").out, "one");
  EXPECT_EQ(Sh("cat " + mnt_ + "/at/2031-01-01/f").out, "two");
  EXPECT_EQ(Sh("readlink " + mnt_ + "/at/2030-07-01").out, "../revisions/2\n");
  EXPECT_NE(Sh("ls " + mnt_ + "/at/1999-01-01").code, 0);
  EXPECT_NE(Sh("ls " + mnt_ + "/revisions/3").code, 0);
}

TEST_F(MountTest, WritesAreReadOnlyFileSystem) {
  WriteFile(src_ + "/f", "data");
  Commit(1);
  if (!Mount()) return;
  const std::string r = mnt_ + "/revisions/1";
  for (const std::string& cmd :
       {"touch " + r + "/new", "mkdir " + r + "/d", "rm " + r + "/f", "mv " + r + "/f " + r + "/g",
        "sh -c 'echo x > " + r + "/f'", "chmod 600 " + r + "/f", "setfattr -n user.x -v y " + r + "/f",
        "ln -s f " + r + "/l", "touch " + mnt_ + "/revisions/new"}) {
    ShResult s = Sh(cmd);
    EXPECT_NE(s.code, 0) << cmd;
    EXPECT_NE(s.out.find("Read-only file system"), std::string::npos) << cmd << ": " << s.out;
  }
  EXPECT_EQ(Sh("cat " + r + "/f").out, "data");
}

TEST_F(MountTest, UnchangedFilesAndSubtreesKeepTheirInodeNumbers) {
  ASSERT_EQ(Sh("cd " + src_ + " && mkdir -p same/deep changed && echo s > same/deep/f && "
               "echo a > changed/f && echo k > keep").code, 0);
  Commit(1);
  WriteFile(src_ + "/changed/f", "b");
  Commit(2);
  if (!Mount()) return;
  auto ino = [&](int rev, const std::string& p) {
    return Sh("stat -c %i " + mnt_ + "/revisions/" + std::to_string(rev) + "/" + p).out;
  };
  EXPECT_EQ(ino(1, "keep"), ino(2, "keep"));
  EXPECT_EQ(ino(1, "same/deep/f"), ino(2, "same/deep/f"));
  EXPECT_NE(ino(1, "changed/f"), ino(2, "changed/f"));
  // A directory has its own per revision (cp -a of two revisions must not
  // take an unchanged one for a hard link).
  EXPECT_NE(ino(1, "same"), ino(2, "same"));
  // diff -r reports only what changed.
  EXPECT_EQ(Sh("diff -r " + mnt_ + "/revisions/1 " + mnt_ + "/revisions/2").out,
            "diff -r " + mnt_ + "/revisions/1/changed/f " + mnt_ + "/revisions/2/changed/f\n1c1\n< a\n---\n> b\n\\ No newline at end of file\n");
  Unmount();
  ASSERT_TRUE(Mount("unique_ino"));
  EXPECT_NE(ino(1, "keep"), ino(2, "keep"));
}

TEST_F(MountTest, CorruptChunkIsEioForThatFileOnly) {
  WriteFile(src_ + "/bad", std::string(100000, 'b'));
  WriteFile(src_ + "/good", std::string(100000, 'g'));
  Commit(1);
  DamageFirstChunk(1, "bad");
  if (!Mount()) return;
  ShResult bad = Sh("cat " + mnt_ + "/revisions/1/bad > /dev/null");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("Input/output error"), std::string::npos) << bad.out;
  EXPECT_EQ(Sh("cat " + mnt_ + "/revisions/1/good").out, std::string(100000, 'g'));
  EXPECT_EQ(Sh("ls " + mnt_ + "/revisions/1").out, "bad\ngood\n");
}

TEST_F(MountTest, StatsShowNoPinsOnceReadersAreGone) {
  for (int rev = 1; rev <= 3; ++rev) {
    ASSERT_EQ(Sh("head -c 2000000 /dev/urandom > " + src_ + "/r" + std::to_string(rev)).code, 0);
    Commit(rev);
  }
  if (!Mount()) return;
  ASSERT_EQ(Sh("cat " + mnt_ + "/revisions/*/* > /dev/null").code, 0);
  Sh("sync; echo 3 > /proc/sys/vm/drop_caches");
  // The prefetcher may still hold a pin for a moment after the last read.
  std::string stats;
  for (int i = 0; i < 20; ++i) {
    stats = Sh("cat " + mnt_ + "/.revfs/stats").out;
    if (stats.find("\"pins_held\":0,") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(stats.find("\"pins_held\":0,"), std::string::npos) << stats;
  auto number = [&](const std::string& key) { return JsonNumber(stats, key); };
  EXPECT_GT(number("bytes_in_use"), 0);
  // Every read of the stats file is fresh: reading more shows more reads.
  auto reads = [&](const std::string& json) {
    const size_t at = json.find("\"read\":{");
    return at == std::string::npos ? -1LL : JsonNumber(json, "count", at);
  };
  const long long before = reads(stats);
  ASSERT_EQ(Sh("cat " + mnt_ + "/revisions/1/r1 > /dev/null; cat " + src_ + "/r1 > /dev/null").code, 0);
  Sh("echo 3 > /proc/sys/vm/drop_caches; cat " + mnt_ + "/revisions/2/r2 > /dev/null");
  const long long after = reads(Sh("cat " + mnt_ + "/.revfs/stats").out);
  EXPECT_GT(before, 0);
  EXPECT_GT(after, before) << "stats must not be served from a stale cache";
  EXPECT_EQ(number("bytes_in_use"), number("cached_bytes")) << "cached + free = total";
  EXPECT_GT(number("hits") + number("misses"), 0);
}

TEST_F(MountTest, MountTypeFuseRevfsAndSigterm) {
  WriteFile(src_ + "/f", "x");
  Commit(1);
  // mount(8) hands fuse mounts to mount.fuse3, which runs `revfs STORE
  // MOUNTPOINT -o OPTS`; `-t fuse.revfs` finds revfs on the system PATH once
  // installed, `-t fuse PROGRAM#STORE` names it here.
  ShResult m = Sh("mount -t fuse '" + std::string(REVFS_BINARY) + "#" + store_ + "' " + mnt_ +
                  " -o allow_other");
  if (m.code != 0) {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") FAIL() << m.out;
    GTEST_SKIP() << m.out;
  }
  EXPECT_NE(Sh("grep ' " + mnt_ + " ' /proc/mounts").out.find("revfs:" + store_ + " " + mnt_ + " fuse.revfs ro,"),
            std::string::npos);
  EXPECT_EQ(Sh("cat " + mnt_ + "/latest/f").out, "x");
  EXPECT_EQ(Sh("umount " + mnt_).code, 0);
  WaitDaemonsGone();
  // `-t fuse.revfs` as users type it, with revfs on the system PATH that
  // mount.fuse3 searches: linked into /usr/local/bin for the test when no
  // revfs is installed there (a throwaway CI machine), as cmake --install does.
  const std::string link = "/usr/local/bin/revfs";
  struct stat st;
  if (::lstat(link.c_str(), &st) != 0 &&
      ::symlink(REVFS_BINARY, link.c_str()) == 0) {
    ShResult t = Sh("mount -t fuse.revfs " + store_ + " " + mnt_);
    EXPECT_EQ(t.code, 0) << t.out;
    EXPECT_EQ(Sh("cat " + mnt_ + "/latest/f").out, "x");
    EXPECT_EQ(Sh("umount " + mnt_).code, 0);
    WaitDaemonsGone();
    ::unlink(link.c_str());
  } else {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") ADD_FAILURE() << link << " exists or cannot be made";
  }
  ASSERT_TRUE(Mount());
  ASSERT_EQ(Sh("pkill -TERM -f '[r]evfs mount " + store_ + " " + mnt_ + "'").code, 0);
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    gone = Sh("grep -c ' " + mnt_ + " ' /proc/mounts").out == "0\n";
  }
  EXPECT_TRUE(gone) << "SIGTERM unmounts";
  // And the store is not left locked: a commit works.
  EXPECT_EQ(Sh(std::string(REVFS_BINARY) + " commit " + store_ + " " + src_).code, 0);
}

// Directory read-ahead through the kernel: once the first file of a listed
// directory has been read, the others are in the page cache — reading them
// all sends no read request — and every byte is right.
TEST_F(MountTest, FirstReadInADirectoryCachesItsSmallFiles) {
  ASSERT_EQ(Sh("mkdir -p " + src_ + "/d && cd " + src_ + "/d && for i in $(seq 10 49); do "
               "head -c $((i * 700)) /dev/urandom > f$i; done && head -c 400000 /dev/urandom > "
               "big && : > empty").code, 0);
  Commit(1);
  if (!Mount()) return;
  const std::string d = mnt_ + "/revisions/1/d";
  auto stat = [&](const std::string& key) {
    std::string json = Sh("cat " + mnt_ + "/.revfs/stats").out;
    size_t at = json.find(key);
    return at == std::string::npos ? -1L : std::atol(json.c_str() + at + key.size());
  };
  ASSERT_EQ(Sh("ls -l " + d + " > /dev/null").code, 0);
  EXPECT_EQ(stat("\"files_read_ahead\":"), 0) << "a listing alone reads nothing ahead";
  ASSERT_EQ(Sh("cat " + d + "/f10 > /dev/null").code, 0);
  for (int i = 0; i < 1000 && stat("\"dirs_read_ahead\":") < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(stat("\"files_read_ahead\":"), 39);  // f11..f49, not big, empty or f10
  const long reads = stat("\"read\":{\"count\":");
  ShResult got = Sh("cd " + d + " && for i in $(seq 11 49); do cat f$i; done | sha256sum");
  ShResult want = Sh("cd " + src_ + "/d && for i in $(seq 11 49); do cat f$i; done | sha256sum");
  EXPECT_EQ(got.out, want.out);
  // Reading the stats file is itself one read.
  EXPECT_EQ(stat("\"read\":{\"count\":"), reads + 1) << "read from the page cache";
  EXPECT_EQ(Sh("cmp " + d + "/big " + src_ + "/d/big").code, 0);
  EXPECT_GT(stat("\"read\":{\"count\":"), reads);
}

// A signal while whole trees are being read (directory read-ahead storing
// into files being read) still unmounts promptly, and the store is free.
TEST_F(MountTest, SigtermWhileTreesAreReadUnmounts) {
  ASSERT_EQ(Sh("cd " + src_ + " && for d in $(seq 1 30); do mkdir d$d; for i in $(seq 1 40); do "
               "head -c $((d * i * 37)) /dev/urandom > d$d/f$i; done; done").code, 0);
  Commit(1);
  if (!Mount()) return;
  ASSERT_EQ(Sh("for t in 1 2 3 4; do (find " + mnt_ + "/revisions/1 -type f -print0 | "
               "xargs -0 cat > /dev/null 2>&1 &) ; done; sleep 0.2; "
               "pkill -TERM -f '[r]evfs mount " + store_ + " " + mnt_ + "'").code, 0);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    gone = Sh("grep -c ' " + mnt_ + " ' /proc/mounts").out == "0\n" &&
           Sh("pgrep -f '[r]evfs mount " + store_ + " '").code != 0;
  }
  EXPECT_TRUE(gone) << "SIGTERM unmounts and the daemon ends";
  EXPECT_EQ(Sh(std::string(REVFS_BINARY) + " commit " + store_ + " " + src_).code, 0);
}

// Readers of old revisions and of latest/ while a commit of a changed tree
// lands: old revisions read the same throughout, and each snapshot a reader
// takes of latest/ (cd resolves the link once) is the old tree or the new
// one exactly, never a mix.
TEST_F(MountTest, ParallelReadersWhileACommitLands) {
  for (int rev = 1; rev <= 4; ++rev) {
    ASSERT_EQ(Sh("mkdir -p " + src_ + "/d" + std::to_string(rev) + " && head -c 3000000 /dev/urandom > " +
                 src_ + "/d" + std::to_string(rev) + "/f && echo " + std::to_string(rev) + " > " + src_ + "/v").code, 0);
    Commit(rev);
  }
  if (!Mount()) return;
  // The fifth tree: a new large file, a changed one, a deleted one.
  ASSERT_EQ(Sh("mkdir -p " + src_ + "/d5 && head -c 8000000 /dev/urandom > " + src_ + "/d5/f && echo 5 > " +
               src_ + "/v && head -c 1000000 /dev/urandom >> " + src_ + "/d2/f && rm " + src_ + "/d1/f").code, 0);
  const std::string done = Path("commit.done");
  std::string script;
  for (int t = 0; t < 4; ++t) {
    script += "(for i in 1 2 3; do cd " + mnt_ + "/revisions/" + std::to_string(1 + t) +
              " && find . -type f -exec sha256sum {} + | sort; done > " + Path("out") + std::to_string(t) + ") & ";
  }
  // Readers of latest/: snapshots until the commit is done, and two after.
  for (int t = 0; t < 4; ++t) {
    const std::string out = Path("latest") + std::to_string(t) + "_";
    script += "(n=0; after=0; while [ $after -lt 2 ] && [ $n -lt 200 ]; do [ -e " + done +
              " ] && after=$((after + 1)); cd " + mnt_ + "/latest && find . -type f -exec sha256sum {} + | sort > " +
              out + "$n; n=$((n + 1)); done) & ";
  }
  script += "timeout 120 " + std::string(REVFS_BINARY) + " commit " + store_ + " " + src_ + " > " + Path("commit.out") +
            " 2>&1; echo $? > " + Path("commit.rc") + "; touch " + done + "; wait";
  ASSERT_EQ(Sh("timeout 300 bash -c '" + script + "'").code, 0);
  ASSERT_EQ(Sh("cat " + Path("commit.rc")).out, "0\n") << Sh("cat " + Path("commit.out")).out;
  ASSERT_EQ(Sh("cp -a " + src_ + " " + Path("ref/5")).code, 0);
  for (int t = 0; t < 4; ++t) {
    int rev = 1 + t;
    std::string want = Sh("cd " + Path("ref/") + std::to_string(rev) + " && find . -type f -exec sha256sum {} + | sort").out;
    std::string got = Sh("cat " + Path("out") + std::to_string(t)).out;
    EXPECT_EQ(got, want + want + want) << "reader " << t;
  }
  const std::string old_tree =
      Sh("cd " + Path("ref/4") + " && find . -type f -exec sha256sum {} + | sort").out;
  const std::string new_tree =
      Sh("cd " + Path("ref/5") + " && find . -type f -exec sha256sum {} + | sort").out;
  ASSERT_NE(old_tree, new_tree);
  int saw_new = 0, old_snapshots = 0, new_snapshots = 0;
  for (int t = 0; t < 4; ++t) {
    const int n = std::stoi(Sh("ls " + Path("") + " | grep -c '^latest" + std::to_string(t) + "_'").out);
    ASSERT_GE(n, 2) << "reader " << t;
    for (int i = 0; i < n; ++i) {
      std::string got = Sh("cat " + Path("latest") + std::to_string(t) + "_" + std::to_string(i)).out;
      EXPECT_TRUE(got == old_tree || got == new_tree) << "reader " << t << " snapshot " << i << ":\n" << got;
      old_snapshots += got == old_tree;
      new_snapshots += got == new_tree;
    }
    std::string last = Sh("cat " + Path("latest") + std::to_string(t) + "_" + std::to_string(n - 1)).out;
    EXPECT_EQ(last, new_tree) << "reader " << t << " never saw the new revision";
    saw_new += last == new_tree;
  }
  EXPECT_EQ(saw_new, 4);
  std::printf("latest/ while a commit landed: %d snapshots of the old tree, %d of the new\n",
              old_snapshots, new_snapshots);
}

TEST_F(MountTest, MemoryStaysBoundedWithASmallCache) {
  ASSERT_EQ(Sh("for i in 1 2 3 4 5 6; do head -c 20000000 /dev/urandom > " + src_ + "/f$i; done").code, 0);
  Commit(1);
  if (!Mount("cache_size=16M")) return;
  std::string pid = Sh("pgrep -f '[r]evfs mount " + store_ + " " + mnt_ + "'").out;
  ASSERT_FALSE(pid.empty());
  pid = pid.substr(0, pid.find('\n'));
  auto rss_kb = [&] {
    std::string rss = Sh("grep VmRSS /proc/" + pid + "/status").out;
    return std::atol(rss.c_str() + rss.find_first_of("0123456789"));
  };
  const long before = rss_kb();
  ShResult same = Sh("bash -c 'cmp <(cat " + mnt_ + "/revisions/1/*) <(cat " + src_ + "/f*)'");
  ASSERT_EQ(same.code, 0) << same.out;
  std::string stats = Sh("cat " + mnt_ + "/.revfs/stats").out;
  EXPECT_EQ(stats.find("\"chunks_prefetched\":0,"), std::string::npos) << "sequential reads prefetch";
  const long after = rss_kb();
#ifdef REVFS_SANITIZED
  // Sanitizer shadow memory and quarantine inflate RSS: bound the growth.
  EXPECT_LT(after - before, (16 + 32) * 1024) << before << " kB before, " << after << " after";
#else
  EXPECT_LT(after, (16 + 32) * 1024) << before << " kB before, " << after << " after";
#endif
}

// A store on a read-only filesystem still mounts (read-only, without its
// lock file), and commits to it are a one-line error.
TEST_F(MountTest, StoreOnAReadOnlyFilesystemStillMounts) {
  WriteFile(src_ + "/f", "on a read-only disk\n");
  Commit(1);
  const std::string ro = Path("ro");
  ASSERT_EQ(Sh("mkdir -p " + ro).code, 0);
  ShResult bind = Sh("mount --bind -o ro " + store_ + " " + ro);
  if (bind.code != 0) {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") FAIL() << "cannot bind-mount under CI: " << bind.out;
    GTEST_SKIP() << "cannot bind-mount here: " << bind.out;
  }
  struct Cleanup {
    std::function<void()> undo;
    ~Cleanup() { undo(); }
  } unbind{[&] {
    // The daemon holds the store open until it exits: only then is the
    // read-only bind mount free to go.
    Unmount();
    WaitDaemonsGone();
    EXPECT_EQ(Sh("umount " + ro).code, 0);
  }};
  ShResult commit = Sh(std::string(REVFS_BINARY) + " commit " + ro + " " + src_);
  EXPECT_EQ(commit.code, 1);
  EXPECT_NE(commit.out.find("Read-only file system"), std::string::npos) << commit.out;
  ShResult r = Sh(std::string(REVFS_BINARY) + " mount " + ro + " " + mnt_);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(Sh("cat " + mnt_ + "/latest/f").out, "on a read-only disk\n");
  EXPECT_EQ(Sh(std::string(REVFS_BINARY) + " verify " + ro).code, 0);
}

}  // namespace
}  // namespace revfs::testing
