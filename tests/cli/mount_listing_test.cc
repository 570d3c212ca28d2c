// Listings and inode numbers on a real mount: every name is listed even when
// its record cannot be read (its stat is EIO), a huge directory listed by a
// hundred readers at once costs bounded memory, and st_ino never lies —
// distinct paths distinct, hard links shared, d_ino equal to st_ino, stable
// across the kernel forgetting nodes.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "cli/mount_fixture.h"
#include "revfs/tree.h"

namespace revfs::testing {
namespace {

using MountListingTest = MountTest;

TEST_F(MountListingTest, AChildWhoseRecordIsDamagedIsListedAndItsStatIsEio) {
  ASSERT_EQ(Sh("mkdir " + src_ + "/d && cd " + src_ + "/d && for i in $(seq 10 49); do "
               "echo $i > f$i; done").code, 0);
  Commit(1);
  {  // Revision 2: the inode record of d/f25 replaced by bytes that do not decode.
    DatabaseOptions options;
    options.store.writable = true;
    auto rs = Database::Open(store_, options);
    ASSERT_TRUE(rs.ok()) << rs.status().ToString();
    auto trx = (*rs)->BeginRead(1);
    ASSERT_TRUE(trx.ok());
    auto f = ResolvePath(**trx, "d/f25");
    ASSERT_TRUE(f.ok());
    auto w = (*rs)->BeginWrite();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Put(kInodeBase | f->first, "not an inode").ok());
    ASSERT_TRUE((*w)->Commit(1'800'000'000'000'000'000, "damage").ok());
  }
  if (!Mount()) return;
  const std::string d = mnt_ + "/revisions/2/d";
  // ls (readdirplus, then the kernel's cached listing) and find list all 40.
  for (int pass = 0; pass < 2; ++pass) {
    EXPECT_EQ(Sh("ls " + d + " | wc -l").out, "40\n");
    EXPECT_EQ(Sh("ls -f " + d + " | grep -c '^f25$'").out, "1\n");
  }
  EXPECT_EQ(Sh("find " + d + " | wc -l").out, "41\n");
  ShResult st = Sh("stat " + d + "/f25");
  EXPECT_NE(st.code, 0);
  EXPECT_NE(st.out.find("Input/output error"), std::string::npos) << st.out;
  ShResult ls = Sh("ls -l " + d);
  EXPECT_NE(ls.code, 0) << "the damage is reported, not hidden";
  EXPECT_NE(ls.out.find("f26"), std::string::npos);
  EXPECT_EQ(Sh("cat " + d + "/f24 " + d + "/f26").out, "24\n26\n");
  EXPECT_EQ(Sh("ls " + mnt_ + "/revisions/1/d | wc -l").out, "40\n");
}

TEST_F(MountListingTest, InodeNumbersNeverLie) {
  ASSERT_EQ(Sh("cd " + src_ + " && mkdir -p a/empty b/empty && : > a/__init__.py && "
               ": > b/__init__.py && echo licence > a/LICENSE && echo licence > b/LICENSE && "
               "ln a/LICENSE a/LICENSE.link && touch -d 2020-01-01 a/* b/* a b").code, 0);
  Commit(1);
  Commit(2);  // the same tree: two identical revisions
  if (!Mount()) return;
  const std::string r1 = mnt_ + "/revisions/1", r2 = mnt_ + "/revisions/2";
  auto ino = [&](const std::string& p) { return Sh("stat -c %i " + p).out; };
  EXPECT_NE(ino(r1 + "/a/__init__.py"), ino(r1 + "/b/__init__.py"));
  EXPECT_NE(ino(r1 + "/a/LICENSE"), ino(r1 + "/b/LICENSE"));
  EXPECT_NE(ino(r1 + "/a/empty"), ino(r1 + "/b/empty"));
  EXPECT_NE(Sh("test " + r1 + "/a/__init__.py -ef " + r1 + "/b/__init__.py").code, 0);
  EXPECT_EQ(Sh("test " + r1 + "/a/LICENSE -ef " + r1 + "/a/LICENSE.link").code, 0);
  EXPECT_EQ(Sh("cd " + r1 + " && find . -samefile a/LICENSE | sort").out,
            "./a/LICENSE\n./a/LICENSE.link\n");
  EXPECT_EQ(Sh("cd " + r1 + " && find . -samefile a/__init__.py").out, "./a/__init__.py\n");
  // Unchanged files keep theirs across revisions (diff -r skips them).
  EXPECT_EQ(ino(r1 + "/a/LICENSE"), ino(r2 + "/a/LICENSE"));
  // cp -a of two identical revisions: no directory taken for a hard link.
  const std::string dst = Path("dst");
  ShResult cp = Sh("mkdir " + dst + " && cp -a " + r1 + " " + r2 + " " + dst);
  EXPECT_EQ(cp.code, 0) << cp.out;
  EXPECT_EQ(Sh("diff -r " + dst + "/1 " + src_ + " && diff -r " + dst + "/2 " + src_).code, 0);
  EXPECT_EQ(Sh("test " + dst + "/1/a/LICENSE -ef " + dst + "/1/a/LICENSE.link").code, 0);
  // d_ino (ls -i, from the listing) equals st_ino (stat), on a listing read
  // fresh (plain readdir after the first request) and from the kernel's cache.
  const std::string by_listing =
      Sh("cd " + r1 + " && for d in a b; do ls -i1f $d | while read i n; do "
         "case $n in .|..) ;; *) echo \"$i $d/$n\";; esac; done; done | sort -k2").out;
  const std::string by_stat =
      Sh("cd " + r1 + " && for p in $(find a b -mindepth 1); do echo \"$(stat -c %i $p) $p\"; "
         "done | sort -k2").out;
  EXPECT_EQ(std::count(by_stat.begin(), by_stat.end(), '\n'), 7);
  EXPECT_EQ(by_listing, by_stat);
  EXPECT_EQ(Sh("ls -i1 " + mnt_ + "/revisions | awk '$2 == \"1\" {print $1}'").out,
            ino(r1));
  // -o unique_ino: every path of every revision its own, stable when the
  // kernel forgets its nodes.
  Unmount();
  ASSERT_TRUE(Mount("unique_ino"));
  const std::string before = ino(r1 + "/a/LICENSE");
  EXPECT_NE(before, ino(r2 + "/a/LICENSE"));
  Sh("sync; echo 2 > /proc/sys/vm/drop_caches");
  EXPECT_EQ(ino(r1 + "/a/LICENSE"), before);
}

// Listings are read by position, nothing of them held between requests: a
// hundred readers listing a 200,000-entry directory at once with a 16 MiB
// cache keep the daemon within 16 + 48 MiB.
TEST_F(MountListingTest, AHundredListingsOfAHugeDirectoryStayInBoundedMemory) {
  ASSERT_EQ(Sh("mkdir " + src_ + "/d && cd " + src_ + "/d && seq -w 1 200000 | "
               "sed 's/^/entry-/' | xargs touch").code, 0);
  ShResult c = Sh(std::string(REVFS_BINARY) + " commit " + store_ + " " + src_);
  ASSERT_EQ(c.code, 0) << c.out;
  if (!Mount("cache_size=16M")) return;
  std::string pid = Sh("pgrep -f '[r]evfs mount " + store_ + " " + mnt_ + "'").out;
  ASSERT_FALSE(pid.empty());
  pid = pid.substr(0, pid.find('\n'));
  const std::string out = Path("counts");
  ASSERT_EQ(Sh("for i in $(seq 1 100); do (ls -f " + mnt_ + "/revisions/1/d | wc -l >> " + out +
               ") & done; wait").code, 0);
  EXPECT_EQ(Sh("sort " + out + " | uniq -c | sed 's/^ *//'").out, "100 200002\n");
  std::string hwm = Sh("grep VmHWM /proc/" + pid + "/status").out;
  const long peak_kb = std::atol(hwm.c_str() + hwm.find_first_of("0123456789"));
#ifdef REVFS_SANITIZED
  // AddressSanitizer keeps up to 256 MiB of freed memory in quarantine,
  // plus shadow memory (596 MiB peak measured): the bound that means
  // something is the plain build's; here only a runaway fails.
  EXPECT_LT(peak_kb, 1024 * 1024) << hwm;
#else
  EXPECT_LT(peak_kb, (16 + 48) * 1024) << hwm;
#endif
}

// -o readdirplus=auto on a real mount: a name walk (find) makes the kernel
// no inode per file (files are listed by name alone), a stat walk on a
// fresh mount switches listings to entries after a burst of lookups, and
// both see exactly the source's names and attributes.
TEST_F(MountListingTest, FindMakesNoInodePerFileAndAStatWalkGetsEntries) {
  constexpr int kDirs = 20, kFiles = 50;
  ASSERT_EQ(Sh("cd " + src_ + " && for d in $(seq 10 " + std::to_string(9 + kDirs) +
               "); do mkdir d$d && for f in $(seq 10 " + std::to_string(9 + kFiles) +
               "); do head -c $((d * f)) /dev/zero > d$d/f$f; done; done").code, 0);
  Commit(1);
  const std::string lookups = "lookup\":{\"count";  // in .revfs/stats' ops
  const std::string r1 = mnt_ + "/revisions/1";
  const std::string walk = " -printf '%P %y %s %m %T@\\n' | sort";
  const std::string want = Sh("cd " + src_ + " && find ." + walk).out;
  ASSERT_NE(want.find("d29/f59 f 1711 "), std::string::npos) << want.substr(0, 300);

  // A name walk first: every file listed by name, no node made for any.
  if (!Mount()) return;
  EXPECT_EQ(Sh("find " + r1 + " | wc -l").out, std::to_string(1 + kDirs * (1 + kFiles)) + "\n");
  EXPECT_EQ(StatsCounter("files_listed_by_name"), uint64_t{kDirs * kFiles});
  EXPECT_LT(StatsCounter("nodes"), uint64_t{kDirs + 20}) << "an inode made per file";
  // A stat walk over those cached listings looks each file up once.
  uint64_t before = StatsCounter(lookups);
  EXPECT_EQ(Sh("cd " + r1 + " && find ." + walk).out, want);
  EXPECT_GE(StatsCounter(lookups) - before, uint64_t{kDirs * kFiles});
  EXPECT_GE(StatsCounter("file_entry_switches"), 1u);

  // A stat walk on a fresh mount: after a burst of lookups the listings
  // carry the files' entries, so most files are never looked up.
  Unmount();
  if (!Mount()) return;
  before = StatsCounter(lookups);
  EXPECT_EQ(Sh("cd " + r1 + " && find ." + walk).out, want);
  const uint64_t looked = StatsCounter(lookups) - before;
  EXPECT_LT(looked, uint64_t{3 * kFiles}) << "files looked up one by one";
  EXPECT_EQ(StatsCounter("file_entry_switches"), 1u);
  EXPECT_LT(StatsCounter("files_listed_by_name"), uint64_t{3 * kFiles});

  // -o readdirplus=dirs: never entries, so a stat walk looks every file up.
  Unmount();
  if (!Mount("readdirplus=dirs")) return;
  before = StatsCounter(lookups);
  EXPECT_EQ(Sh("cd " + r1 + " && find ." + walk).out, want);
  EXPECT_GE(StatsCounter(lookups) - before, uint64_t{kDirs * kFiles});
  EXPECT_EQ(StatsCounter("file_entry_switches"), 0u);
}

}  // namespace
}  // namespace revfs::testing
