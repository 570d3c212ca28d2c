// The revfs program as users run it: exit status 0 on success, 1 with exactly
// one line `revfs: <what>: <why>` on stderr for every user-facing failure.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "revfs/store.h"
#include "store/superblock.h"
#include "support/engine_test.h"
#include "support/fault_env.h"
#include "support/store_util.h"

namespace revfs::testing {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
  int err_lines() const {
    int n = 0;
    for (char c : err) n += c == '\n';
    return n;
  }
};

std::string ReadAll(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class CliTest : public EngineTest {
 protected:
  // Runs `revfs ARGS` through the shell (prefix may be e.g. a setpriv call).
  CliRun Revfs(const std::string& args, const std::string& prefix = "") {
    std::string out = Path("stdout"), err = Path("stderr");
    std::string cmd = prefix + " " REVFS_BINARY " " + args + " >" + out + " 2>" + err;
    int status = std::system(cmd.c_str());
    CliRun r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = ReadAll(out);
    r.err = ReadAll(err);
    return r;
  }

  // Expects exit 1 and one stderr line that starts "revfs: " and contains `text`.
  void ExpectOneLineError(const CliRun& r, const std::string& text) {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err_lines(), 1) << r.err;
    EXPECT_EQ(r.err.rfind("revfs: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(text), std::string::npos) << r.err;
  }
};

TEST_F(CliTest, VersionAndHelp) {
  CliRun v = Revfs("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out, "revfs " REVFS_VERSION "\n");
  for (const char* sub : {"init", "commit", "log", "ls", "cat", "diff", "verify", "mount"}) {
    CliRun h = Revfs(std::string(sub) + " --help");
    EXPECT_EQ(h.exit_code, 0) << sub;
    EXPECT_NE(h.out.find("STORE"), std::string::npos) << sub;
  }
  CliRun top = Revfs("--help");
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("verify"), std::string::npos);
}

TEST_F(CliTest, WrongSubcommandOrOptionIsOneLine) {
  ExpectOneLineError(Revfs("frobnicate"), "revfs --help");
  ExpectOneLineError(Revfs("init"), "STORE");
  ExpectOneLineError(Revfs("init " + Path("s") + " --bogus"), "--bogus");
  ExpectOneLineError(Revfs(""), "subcommand");
}

// Mount options and mount points are checked before anything is mounted:
// each bad one is a one-line error naming it, and nothing is left mounted.
TEST_F(CliTest, BadMountOptionsAndMountPoints) {
  const std::string store = Path("store"), mnt = Path("mnt");
  ASSERT_EQ(Revfs("init " + store).exit_code, 0);
  ASSERT_EQ(std::system(("mkdir -p " + mnt).c_str()), 0);
  const std::pair<const char*, const char*> bad[] = {
      {"cache_size=0", "cache_size=0"},           {"cache_size=100T", "cache_size=100T"},
      {"cache_size=lots", "cache_size=lots"},     {"max_threads=0", "max_threads=0"},
      {"max_threads=1000", "max_threads=1000"},   {"prefetch_threads=65", "prefetch_threads=65"},
      {"prefetch_threads=x", "prefetch_threads=x"}, {"readahead=2G", "readahead=2G"},
      {"dir_readahead=2G", "dir_readahead=2G"},   {"dir_readahead=-1", "dir_readahead=-1"},
      {"bogus=1", "unknown mount option"},
  };
  for (const auto& [opt, text] : bad) {
    SCOPED_TRACE(opt);
    ExpectOneLineError(Revfs("mount " + store + " " + mnt + " -o " + opt), text);
  }
  ExpectOneLineError(Revfs("mount " + Path("nostore") + " " + mnt), "nostore");
  ExpectOneLineError(Revfs("mount " + store + " " + Path("nodir")), "no such directory");
  ASSERT_EQ(std::system(("touch " + Path("file")).c_str()), 0);
  ExpectOneLineError(Revfs("mount " + store + " " + Path("file")), "not a directory");
  ASSERT_EQ(std::system(("mkdir -p " + Path("full") + " && touch " + Path("full/x")).c_str()), 0);
  ExpectOneLineError(Revfs("mount " + store + " " + Path("full")), "not empty");
  ExpectOneLineError(Revfs("mount " + Path("file") + " " + mnt), "file");
  std::ifstream mounts("/proc/mounts");
  std::stringstream ss;
  ss << mounts.rdbuf();
  EXPECT_EQ(ss.str().find(mnt), std::string::npos) << "left mounted";
}

TEST_F(CliTest, InitThenLogAndVerify) {
  std::string store = Path("store");
  CliRun init = Revfs("init " + store + " --versioning incremental --full-dump-every 8");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  CliRun log = Revfs("log " + store);
  EXPECT_EQ(log.exit_code, 0) << log.err;
  EXPECT_NE(log.out.find("versioning incremental (full dump every 8)"), std::string::npos) << log.out;
  EXPECT_NE(log.out.find("empty tree"), std::string::npos);
  CliRun json = Revfs("log --json " + store);
  EXPECT_EQ(json.exit_code, 0);
  EXPECT_NE(json.out.find("\"versioning\":\"incremental\""), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"full_dump_every\":8"), std::string::npos);
  EXPECT_NE(json.out.find("\"revisions\":[{\"revision\":0,"), std::string::npos);
  CliRun verify = Revfs("verify " + store);
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_NE(verify.out.find("checked 1 revisions and 1 pages: clean"), std::string::npos)
      << verify.out;
}

TEST_F(CliTest, BadInputs) {
  std::string store = Path("store");
  ASSERT_EQ(Revfs("init " + store).exit_code, 0);
  ExpectOneLineError(Revfs("init " + store), "already exists");
  ExpectOneLineError(Revfs("log " + Path("missing")), "no such store");
  ExpectOneLineError(Revfs("verify " + Path("missing")), "no such store");
  ExpectOneLineError(Revfs("log " + dir().string()), "not a revfs store");
  ExpectOneLineError(Revfs("init " + Path("x") + " --window 1"), "window: 1 is out of range");
  ExpectOneLineError(Revfs("init " + Path("x") + " --versioning weird"), "weird");
  ExpectOneLineError(Revfs("init " + Path("x") + " --compression lz4"), "lz4");
  ExpectOneLineError(Revfs("init " + Path("x") + " --segment-size 32K"),
                     "segment-size: '32K' is out of range 64KiB..1TiB");
  ExpectOneLineError(Revfs("init " + Path("x") + " --segment-size 2T"), "out of range");
  ExpectOneLineError(Revfs("init " + Path("x") + " --segment-size lots"), "'lots' is not a size");
  EXPECT_FALSE(std::filesystem::exists(Path("x")));
  ExpectOneLineError(Revfs("init " + Path("no/such/parent/x")), "no such directory");
}

TEST_F(CliTest, PermissionDenied) {
  std::string store = Path("store");
  ASSERT_EQ(Revfs("init " + store).exit_code, 0);
  // CliRun as an unprivileged user: root bypasses permission checks.
  std::string prefix = ::geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups" : "";
  ASSERT_EQ(::chmod(dir().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(store.c_str(), 0700), 0);
  if (::geteuid() != 0) {
    ASSERT_EQ(::chmod(store.c_str(), 0000), 0);
  }
  ExpectOneLineError(Revfs("log " + store, prefix), "Permission denied");
  ASSERT_EQ(::chmod(store.c_str(), 0755), 0);
}

TEST_F(CliTest, NewerStoreFormat) {
  std::string store = Path("store");
  ASSERT_EQ(Revfs("init " + store).exit_code, 0);
  Superblock sb = (*Store::Open(store, {}))->superblock();
  sb.format_version = kStoreFormatVersion + 1;
  auto file = Env::Default()->NewRandomRWFile(store + "/superblock", false);
  ASSERT_TRUE((*file)->Write(0, EncodeSuperblock(sb)).ok());
  ASSERT_TRUE((*file)->Write(kSuperblockSlotSize, EncodeSuperblock(sb)).ok());
  ExpectOneLineError(Revfs("log " + store), "newer than this program");
  ASSERT_EQ(std::system(("mkdir -p " + Path("mnt")).c_str()), 0);
  ExpectOneLineError(Revfs("mount " + store + " " + Path("mnt")), "newer than this program");
}

TEST_F(CliTest, OlderStoreFormat) {
  std::string store = Path("store");
  ASSERT_EQ(Revfs("init " + store).exit_code, 0);
  Superblock sb = (*Store::Open(store, {}))->superblock();
  sb.format_version = 1;
  auto file = Env::Default()->NewRandomRWFile(store + "/superblock", false);
  ASSERT_TRUE((*file)->Write(0, EncodeSuperblock(sb)).ok());
  ASSERT_TRUE((*file)->Write(kSuperblockSlotSize, EncodeSuperblock(sb)).ok());
  const std::string expected = store + ": store format 1 is older than this program (format " +
                               std::to_string(kStoreFormatVersion) + ")";
  ExpectOneLineError(Revfs("log " + store), expected);
  ExpectOneLineError(Revfs("verify " + store), expected);
  ASSERT_EQ(std::system(("mkdir -p " + Path("src")).c_str()), 0);
  ExpectOneLineError(Revfs("commit " + store + " " + Path("src")), expected);
  ASSERT_EQ(std::system(("mkdir -p " + Path("mnt")).c_str()), 0);
  ExpectOneLineError(Revfs("mount " + store + " " + Path("mnt")), expected);
}

TEST_F(CliTest, Format2StoreIsRefusedWithTheUpgradeCommand) {
  // A format-2 store as that program left it: the page log in STORE/pages.
  std::string store = Path("store");
  ASSERT_EQ(Revfs("init " + store).exit_code, 0);
  Superblock sb = (*Store::Open(store, {}))->superblock();
  sb.format_version = 2;
  auto file = Env::Default()->NewRandomRWFile(store + "/superblock", false);
  ASSERT_TRUE((*file)->Write(0, EncodeSuperblock(sb)).ok());
  ASSERT_TRUE((*file)->Write(kSuperblockSlotSize, EncodeSuperblock(sb)).ok());
  std::filesystem::rename(store + "/segments/0000000000", store + "/pages");
  std::filesystem::remove(store + "/segments");
  const std::string expected = store + ": store format 2 is older than this program (format 3)" +
                               "; run `revfs upgrade " + store + "`";
  ExpectOneLineError(Revfs("log " + store), expected);
  ExpectOneLineError(Revfs("verify " + store), expected);
  ASSERT_EQ(std::system(("mkdir -p " + Path("src")).c_str()), 0);
  ExpectOneLineError(Revfs("commit " + store + " " + Path("src")), expected);
  ASSERT_EQ(std::system(("mkdir -p " + Path("mnt")).c_str()), 0);
  ExpectOneLineError(Revfs("mount " + store + " " + Path("mnt")), expected);
}

// A format-2 store as that program left it: the page log in STORE/pages,
// zeros where format 3 keeps the segment size and the retention page.
void MakeFormat2(const std::string& store) {
  Superblock sb = (*Store::Open(store, {}))->superblock();
  sb.format_version = 2;
  sb.config.segment_size = 0;
  sb.retention = PageRef{};
  auto file = Env::Default()->NewRandomRWFile(store + "/superblock", false);
  ASSERT_TRUE((*file)->Write(0, EncodeSuperblock(sb)).ok());
  ASSERT_TRUE((*file)->Write(kSuperblockSlotSize, EncodeSuperblock(sb)).ok());
  std::filesystem::rename(store + "/segments/0000000000", store + "/pages");
  std::filesystem::remove(store + "/segments");
}

TEST_F(CliTest, UpgradeTurnsAFormat2StoreIntoThisFormatAndIsRestartable) {
  const std::string store = Path("store"), src = Path("src");
  ASSERT_EQ(Revfs("init " + store).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(MakeFormat2(store));
  EXPECT_EQ(Revfs("log " + store).exit_code, 1);

  // Killed after the rename, before the superblock: still refused as
  // format 2, and a rerun finishes.
  std::filesystem::create_directory(store + "/segments");
  std::filesystem::rename(store + "/pages", store + "/segments/0000000000");
  EXPECT_EQ(Revfs("log " + store).exit_code, 1);
  CliRun up = Revfs("upgrade " + store);
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(up.out.find("from format 2 to 3 (1 revisions"), std::string::npos) << up.out;
  CliRun verify = Revfs("verify " + store);
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  ASSERT_EQ(std::system(("mkdir -p " + src + " && seq 5000 > " + src + "/a").c_str()), 0);
  ASSERT_EQ(Revfs("commit " + store + " " + src).exit_code, 0);
  EXPECT_EQ(Revfs("cat " + store + " 1 a").out, ReadAll(src + "/a"));
  EXPECT_EQ(Revfs("log " + store).exit_code, 0);
  CliRun again = Revfs("upgrade " + store);
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("already of format 3"), std::string::npos) << again.out;

  // The whole way in one run, from the layout format 2 left.
  const std::string other = Path("other");
  ASSERT_EQ(Revfs("init " + other).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(MakeFormat2(other));
  ASSERT_EQ(Revfs("upgrade " + other).exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(other + "/pages"));
  ASSERT_EQ(Revfs("commit " + other + " " + src).exit_code, 0);
  EXPECT_EQ(Revfs("cat " + other + " 1 a").out, ReadAll(src + "/a"));

  ExpectOneLineError(Revfs("upgrade " + Path("nostore")), "nostore");
}

TEST_F(CliTest, InitSegmentSizeRollsTheLog) {
  std::string store = Path("store");
  CliRun init = Revfs("init " + store + " --segment-size 64KiB");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_NE(init.out.find("segment size 64KiB"), std::string::npos) << init.out;
  EXPECT_EQ((*Store::Open(store, {}))->config().segment_size, 64u << 10);
  ASSERT_EQ(std::system(("mkdir -p " + Path("src") + " && head -c 300000 /dev/urandom > " +
                         Path("src/big") + " && seq 20000 > " + Path("src/text"))
                            .c_str()),
            0);
  ASSERT_EQ(Revfs("commit " + store + " " + Path("src")).exit_code, 0);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(store + "/segments")) {
    (void)e;
    ++files;
  }
  EXPECT_GE(files, 3);
  CliRun verify = Revfs("verify " + store);
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  CliRun cat = Revfs("cat " + store + " 1 big");
  ASSERT_EQ(cat.exit_code, 0) << cat.err;
  EXPECT_TRUE(cat.out == ReadAll(Path("src/big"))) << "cat differs from the source";
}

TEST_F(CliTest, CorruptStore) {
  std::string store = Path("store");
  ASSERT_EQ(Revfs("init " + store).exit_code, 0);
  {
    auto s = Store::Open(store, StoreOptions{nullptr, true});
    ASSERT_TRUE(CommitPages(s->get(), 3, (*s)->superblock().created_ns + 1).ok());
  }
  FlipByte(store + "/segments/0000000000", 200);
  CliRun verify = Revfs("verify " + store);
  ExpectOneLineError(verify, "damaged");
  EXPECT_NE(verify.out.find("damaged: "), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.find("pages at offset "), std::string::npos) << verify.out;
  // Both superblock slots damaged: the store cannot be opened at all.
  FlipByte(store + "/superblock", 50);
  FlipByte(store + "/superblock", kSuperblockSlotSize + 50);
  ExpectOneLineError(Revfs("log " + store), "superblock");
  ExpectOneLineError(Revfs("verify " + store), "superblock");
}

TEST_F(CliTest, CommitLsCatDiffRoundTrip) {
  std::string store = Path("store"), src = Path("src");
  ASSERT_EQ(Revfs("init " + store).exit_code, 0);
  ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((src + "/d").c_str(), 0750), 0);
  { std::ofstream(src + "/a.txt") << "first version\n"; }
  { std::ofstream(src + "/d/b") << "bee"; }
  ASSERT_EQ(::symlink("a.txt", (src + "/ln").c_str()), 0);
  CliRun c1 = Revfs("commit " + store + " " + src + " -m 'first commit' --time 2030-01-01T00:00:00Z");
  ASSERT_EQ(c1.exit_code, 0) << c1.err;
  EXPECT_NE(c1.out.find("committed revision 1"), std::string::npos) << c1.out;
  { std::ofstream(src + "/a.txt") << "second version\n"; }
  ASSERT_EQ(::unlink((src + "/d/b").c_str()), 0);
  { std::ofstream(src + "/new") << "n"; }
  CliRun c2 = Revfs("commit " + store + " " + src + " -m second --time 2030-02-01T00:00:00Z");
  ASSERT_EQ(c2.exit_code, 0) << c2.err;

  EXPECT_EQ(Revfs("cat " + store + " 1 a.txt").out, "first version\n");
  EXPECT_EQ(Revfs("cat " + store + " latest a.txt").out, "second version\n");
  EXPECT_EQ(Revfs("cat " + store + " @2030-01-15 a.txt").out, "first version\n");
  EXPECT_EQ(Revfs("ls " + store + " 1").out, "a.txt\nd\nln\n");
  EXPECT_EQ(Revfs("ls " + store + " 2 d").out, "");
  CliRun ll = Revfs("ls -l " + store + " 1");
  EXPECT_NE(ll.out.find("drwxr-x--- "), std::string::npos) << ll.out;
  EXPECT_NE(ll.out.find(" ln -> a.txt\n"), std::string::npos) << ll.out;
  EXPECT_EQ(Revfs("diff " + store + " 1 2").out, "P /\nM a.txt\nP d\nD d/b\nA new\n");
  // The JSON shapes scripts rely on.
  EXPECT_EQ(Revfs("diff --json " + store + " 1 2").out,
            "[{\"change\":\"P\",\"path\":\"/\"},{\"change\":\"M\",\"path\":\"a.txt\"},"
            "{\"change\":\"P\",\"path\":\"d\"},{\"change\":\"D\",\"path\":\"d/b\"},"
            "{\"change\":\"A\",\"path\":\"new\"}]\n");
  EXPECT_EQ(Revfs("diff --json " + store + " 2 2").out, "[]\n");
  CliRun lj = Revfs("ls --json " + store + " 1");
  EXPECT_EQ(lj.exit_code, 0);
  EXPECT_EQ(lj.out.rfind("[{\"name\":\"a.txt\",\"type\":\"file\",\"mode\":", 0), 0u) << lj.out;
  EXPECT_NE(lj.out.find("{\"name\":\"d\",\"type\":\"dir\",\"mode\":488,"), std::string::npos)
      << lj.out;
  EXPECT_NE(lj.out.find("\"size\":14,"), std::string::npos) << lj.out;
  EXPECT_NE(lj.out.find("\"type\":\"symlink\""), std::string::npos) << lj.out;
  EXPECT_NE(lj.out.find("\"target\":\"a.txt\",\"xattrs\":{}}]"), std::string::npos) << lj.out;
  EXPECT_EQ(Revfs("ls --json " + store + " 1 d/b").out.rfind("[{\"name\":\"d/b\",", 0), 0u);
  CliRun text = Revfs("log " + store);
  EXPECT_NE(text.out.find("FILES         ADDED        STORED"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("2030-01-01T00:00:00Z         2 "), std::string::npos) << text.out;
  CliRun log = Revfs("log --json " + store);
  EXPECT_NE(log.out.find("\"message\":\"first commit\""), std::string::npos);
  EXPECT_NE(log.out.find("\"files\":"), std::string::npos);
  EXPECT_EQ(Revfs("verify " + store).exit_code, 0);

  ExpectOneLineError(Revfs("cat " + store + " 9 a.txt"), "revision 9 does not exist");
  ExpectOneLineError(Revfs("cat " + store + " 1 nope"), "nope: no such file");
  ExpectOneLineError(Revfs("cat " + store + " 1 d"), "is a dir");
  ExpectOneLineError(Revfs("ls " + store + " bogus"), "expected a number, latest or @TIME");
  ExpectOneLineError(Revfs("cat " + store + " @2025-01-01 a.txt"), "no revision at or before");
  ExpectOneLineError(Revfs("commit " + store + " " + Path("missing")), "no such directory");
  ExpectOneLineError(Revfs("commit " + store + " " + src + " --time 2029-01-01T00:00:00Z"),
                     "earlier");
  ExpectOneLineError(Revfs("commit " + store + " " + src + " --time yesterday"), "ISO-8601");
}

TEST_F(CliTest, LockedStoreIsRefused) {
  std::string store = Path("store");
  ASSERT_EQ(Revfs("init " + store).exit_code, 0);
  auto writer = Store::Open(store, StoreOptions{nullptr, true});
  ASSERT_TRUE(writer.ok());
  ExpectOneLineError(Revfs("commit " + store + " " + dir().string()), "locked by another writer");
}

TEST_F(CliTest, UnreadableEntriesMakeAPartialCommit) {
  // Unprivileged, so that permissions apply (root reads everything).
  std::string prefix = ::geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups" : "";
  std::string store = Path("store"), src = Path("src");
  ASSERT_EQ(::chmod(dir().c_str(), 0777), 0);
  ASSERT_EQ(Revfs("init " + store, prefix).exit_code, 0);
  ASSERT_EQ(::mkdir(src.c_str(), 0777), 0);
  { std::ofstream(src + "/readable") << "ok"; }
  { std::ofstream(src + "/secret") << "no"; }
  ASSERT_EQ(::chmod((src + "/secret").c_str(), 0000), 0);
  ASSERT_EQ(::chmod((src + "/readable").c_str(), 0644), 0);
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(src.c_str(), 65534, 65534), 0);
    ASSERT_EQ(::chown((src + "/readable").c_str(), 65534, 65534), 0);
  }
  ASSERT_EQ(::mkdir(Path("closed").c_str(), 0700), 0);
  ExpectOneLineError(Revfs("commit " + store + " " + Path("closed"), prefix), "Permission denied");
  CliRun r = Revfs("commit " + store + " " + src, prefix);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("skipped " + src + "/secret"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 entries skipped"), std::string::npos) << r.err;
  EXPECT_EQ(Revfs("ls " + store + " 1", prefix).out, "readable\n");
  EXPECT_EQ(Revfs("cat " + store + " 1 readable", prefix).out, "ok");
}

}  // namespace
}  // namespace revfs::testing
