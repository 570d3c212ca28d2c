// Capture on a real store: a generated tree with every kind of entry,
// committed over 20+ revisions of edits, renames and deletions; every
// revision read back equals what the source held then.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "content/chunk_loader.h"
#include "content/chunker.h"
#include "content/compression.h"
#include "revfs/diff.h"
#include "revfs/tree.h"
#include "support/engine_test.h"
#include "support/fault_env.h"

namespace revfs::testing {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;

// What one entry looks like, from the source or from a revision.
struct Entry {
  char type = '?';
  uint32_t mode = 0, uid = 0, gid = 0, nlink = 0;
  uint64_t size = 0, rdev = 0;
  int64_t mtime_ns = 0;
  std::string link;
  Digest256 content;
  std::vector<std::pair<std::string, std::string>> xattrs;
  bool operator==(const Entry&) const = default;
};
using Manifest = std::map<std::string, Entry>;

std::string Describe(const Entry& e) {
  return std::string(1, e.type) + " mode " + std::to_string(e.mode) + " uid " +
         std::to_string(e.uid) + " size " + std::to_string(e.size) + " mtime " +
         std::to_string(e.mtime_ns) + " nlink " + std::to_string(e.nlink) + " link " + e.link +
         " content " + e.content.ToHex() + " xattrs " + std::to_string(e.xattrs.size());
}

Digest256 HashFile(const std::string& path) {
  Hasher h;
  int fd = ::open(path.c_str(), O_RDONLY);
  std::string buf(1 << 20, '\0');
  ssize_t n;
  while ((n = ::read(fd, buf.data(), buf.size())) > 0) h.Update(std::string_view(buf.data(), n));
  ::close(fd);
  return h.Digest();
}

void CaptureDir(const std::string& root, const std::string& rel, Manifest* m) {
  for (const auto& de : fs::directory_iterator(root + rel)) {
    std::string name = de.path().filename().string();
    std::string r = rel + "/" + name;
    std::string p = root + r;
    struct stat st;
    ASSERT_EQ(::lstat(p.c_str(), &st), 0);
    Entry e;
    e.type = S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : S_ISLNK(st.st_mode) ? 'l' : 'o';
    e.mode = st.st_mode;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.nlink = e.type == 'd' ? 0 : static_cast<uint32_t>(st.st_nlink);
    e.size = e.type == 'd' ? 0 : static_cast<uint64_t>(st.st_size);
    e.rdev = st.st_rdev;
    e.mtime_ns = st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
    if (e.type == 'l') e.link = fs::read_symlink(p).string();
    if (e.type == 'f') e.content = HashFile(p);
    char names[4096];
    ssize_t n = ::llistxattr(p.c_str(), names, sizeof(names));
    for (ssize_t pos = 0; n > 0 && pos < n;) {
      std::string xn(names + pos);
      pos += static_cast<ssize_t>(xn.size()) + 1;
      char value[4096];
      ssize_t vn = ::lgetxattr(p.c_str(), xn.c_str(), value, sizeof(value));
      if (vn >= 0) e.xattrs.emplace_back(xn, std::string(value, vn));
    }
    std::sort(e.xattrs.begin(), e.xattrs.end());
    (*m)[r] = e;
    if (e.type == 'd') CaptureDir(root, r, m);
  }
}

Manifest Capture(const std::string& root) {
  Manifest m;
  CaptureDir(root, "", &m);
  return m;
}

void ReadBack(Database& rs, ReadTrx& trx, const Inode& dir, const std::string& rel,
              Manifest* m, bool hash_big) {
  std::vector<std::pair<std::string, DirEntry>> entries;
  ASSERT_TRUE(ListDirectory(trx, dir, "", [&](std::string_view n, const DirEntry& e) {
                entries.emplace_back(std::string(n), e);
                return true;
              }).ok());
  for (const auto& [name, de] : entries) {
    auto inode = GetInode(trx, de.ino);
    ASSERT_TRUE(inode.ok()) << inode.status().ToString();
    Entry e;
    const Inode& n = *inode;
    e.type = n.type == FileType::kDirectory ? 'd' : n.type == FileType::kRegular ? 'f'
             : n.type == FileType::kSymlink ? 'l' : 'o';
    e.mode = n.mode;
    e.uid = n.uid;
    e.gid = n.gid;
    e.nlink = e.type == 'd' ? 0 : n.nlink;
    e.size = n.size;
    e.rdev = n.rdev;
    e.mtime_ns = n.mtime_ns;
    e.link = n.symlink;
    auto xattrs = LoadXattrs(rs, trx, n);
    ASSERT_TRUE(xattrs.ok()) << xattrs.status().ToString();
    e.xattrs = *xattrs;
    if (e.type == 'f' && (hash_big || n.size < (64u << 20))) {
      Hasher h;
      ASSERT_TRUE(ReadFile(rs, trx, n, 0, n.size, [&](std::string_view piece) {
                    h.Update(piece);
                    return Status::OK();
                  }).ok());
      e.content = h.Digest();
    }
    (*m)[rel + "/" + name] = e;
    if (e.type == 'd') ReadBack(rs, trx, n, rel + "/" + name, m, hash_big);
  }
}

class CaptureTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    src_ = Path("src");
    fs::create_directory(src_);
    ASSERT_TRUE(Store::Create(Path("store"), StoreConfig{}, {}, kT0).ok());
    Open();
  }
  void ReleaseResources() override { rs_.reset(); }

  void Open(Env* env = nullptr) {
    rs_.reset();
    DatabaseOptions options;
    options.store = StoreOptions{env, true};
    options.memory.shared_allocator = allocator();
    auto rs = Database::Open(Path("store"), options);
    ASSERT_TRUE(rs.ok()) << rs.status().ToString();
    rs_ = std::move(rs).value();
  }

  Result<CaptureSummary> Commit(int64_t t, std::vector<std::string>* skipped = nullptr) {
    CaptureOptions o;
    o.time_ns = kT0 + t;
    o.message = "rev at " + std::to_string(t);
    o.on_skip = [skipped](const std::string& p, const Status&) {
      if (skipped) skipped->push_back(p);
    };
    return CaptureTree(*rs_, src_, o);
  }

  Manifest ReadRevision(uint64_t rev, bool hash_big) {
    auto trx = std::move(rs_->BeginRead(rev)).value();
    auto root = ResolvePath(*trx, "");
    EXPECT_TRUE(root.ok());
    Manifest m;
    ReadBack(*rs_, *trx, root->second, "", &m, hash_big);
    return m;
  }

  void Write(const std::string& rel, const std::string& data) {
    std::ofstream(src_ + "/" + rel, std::ios::binary | std::ios::trunc) << data;
  }

  std::string src_;
  std::unique_ptr<Database> rs_;
};

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&s[i], &v, std::min<size_t>(8, n - i));
  }
  return s;
}

TEST_F(CaptureTest, EveryKindRoundTripsOverTwentyRevisions) {
  // Revision 1: every kind of entry.
  fs::create_directories(src_ + "/dir/sub/deeper");
  fs::create_directory(src_ + "/empty");
  Write("zero", "");
  Write("small.txt", "hello, history\n");
  Write("line\nbreak", "a name with a newline");
  Write(std::string("latin1-\xe9\xff"), "a name that is not UTF-8");
  const ChunkerParams cp;
  Write("dir/exact-min", RandomBytes(cp.min_size, 1));
  Write("dir/exact-avg", RandomBytes(cp.avg_size, 2));
  Write("dir/exact-max", RandomBytes(cp.max_size, 3));
  Write("dir/max-plus-one", RandomBytes(cp.max_size + 1, 4));
  Write("dir/sub/text", std::string(300000, 't'));
  {
    int fd = ::open((src_ + "/sparse").c_str(), O_CREAT | O_WRONLY, 0640);
    ASSERT_EQ(::pwrite(fd, "middle", 6, 512 << 20), 6);
    ASSERT_EQ(::ftruncate(fd, 1LL << 30), 0);
    ::close(fd);
  }
  fs::create_symlink("small.txt", src_ + "/link");
  fs::create_symlink("/nonexistent/target", src_ + "/dangling");
  fs::create_hard_link(src_ + "/small.txt", src_ + "/dir/hardlink");
  ASSERT_EQ(::mkfifo((src_ + "/fifo").c_str(), 0600), 0);
  if (::geteuid() == 0) {
    ASSERT_EQ(::mknod((src_ + "/chardev").c_str(), S_IFCHR | 0600, makedev(1, 3)), 0);
    ASSERT_EQ(::chown((src_ + "/dir/sub/text").c_str(), 1234, 5678), 0);
  }
  ASSERT_EQ(::chmod((src_ + "/dir/exact-min").c_str(), 04751), 0);
  bool xattrs = ::setxattr((src_ + "/small.txt").c_str(), "user.color", "blue", 4, 0) == 0;
  if (xattrs) {
    ASSERT_EQ(::setxattr((src_ + "/dir").c_str(), "user.empty", "", 0, 0), 0);
    ASSERT_EQ(::lsetxattr((src_ + "/dir/sub").c_str(), "user.bin", "\0\1\2", 3, 0), 0);
  }

  std::vector<Manifest> expected;
  std::mt19937 rng(7);
  for (int rev = 1; rev <= 22; ++rev) {
    if (rev > 1) {
      // Edits, renames, deletions, new files, metadata changes.
      Write("small.txt", "hello, history, revision " + std::to_string(rev) + "\n");
      Write("dir/file" + std::to_string(rev), RandomBytes(1000 + rng() % 100000, rev));
      if (rev % 3 == 0 && fs::exists(src_ + "/dir/file" + std::to_string(rev - 1))) {
        fs::rename(src_ + "/dir/file" + std::to_string(rev - 1), src_ + "/dir/sub/moved" + std::to_string(rev));
      }
      if (rev % 4 == 0 && fs::exists(src_ + "/dir/file" + std::to_string(rev - 2))) {
        fs::remove(src_ + "/dir/file" + std::to_string(rev - 2));
      }
      if (rev == 5) {
        std::string big = RandomBytes(cp.max_size * 3, 5);
        Write("dir/exact-max", big);
      }
      if (rev == 8) {  // insert a byte at the start of a multi-chunk file
        std::string big = RandomBytes(cp.max_size * 3, 5);
        Write("dir/exact-max", "X" + big);
      }
      if (rev == 10) fs::remove_all(src_ + "/dir/sub/deeper");
      if (rev == 12) {
        ASSERT_EQ(::chmod((src_ + "/small.txt").c_str(), 0600), 0);
      }
      if (rev == 14) {  // type change: file -> directory
        fs::remove(src_ + "/zero");
        fs::create_directory(src_ + "/zero");
        Write("zero/inside", "now a directory");
      }
      if (rev == 16) {
        int fd = ::open((src_ + "/sparse").c_str(), O_WRONLY);
        ASSERT_EQ(::pwrite(fd, "tail", 4, (1LL << 30) - 4), 4);
        ::close(fd);
      }
      if (rev == 18) {
        fs::remove(src_ + "/link");
        fs::create_symlink("dir/sub/text", src_ + "/link");
      }
      if (rev == 20 && xattrs) ::setxattr((src_ + "/small.txt").c_str(), "user.color", "red", 3, 0);
    }
    auto summary = Commit(rev * 1'000'000'000LL);
    ASSERT_TRUE(summary.ok()) << summary.status().ToString();
    ASSERT_EQ(summary->revision, static_cast<uint64_t>(rev));
    EXPECT_EQ(summary->skipped, 0u);
    expected.push_back(Capture(src_));
  }
  for (int rev = 1; rev <= 22; ++rev) {
    const bool hash_big = rev == 1 || rev == 15 || rev == 22;
    Manifest want = expected[rev - 1];
    Manifest got = ReadRevision(rev, hash_big);
    if (!hash_big) {
      want["/sparse"].content = Digest256{};
      got["/sparse"].content = Digest256{};
    }
    ASSERT_EQ(got.size(), want.size()) << "revision " << rev;
    for (const auto& [path, e] : want) {
      auto it = got.find(path);
      ASSERT_NE(it, got.end()) << "revision " << rev << ": " << path << " missing";
      EXPECT_EQ(it->second, e) << "revision " << rev << ": " << path << "\n got  "
                               << Describe(it->second) << "\n want " << Describe(e);
    }
  }
  // Unchanged files are not read again.
  auto again = Commit(100'000'000'000LL);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->bytes_read, 0u);
  EXPECT_GT(again->unchanged, 10u);
}

TEST_F(CaptureTest, DedupAcrossCopiesAndShiftedContent) {
  fs::create_directory(src_ + "/a");
  for (int i = 0; i < 10; ++i) Write("a/f" + std::to_string(i), RandomBytes(10 << 20, 100 + i));
  ASSERT_TRUE(Commit(1).ok());
  const uint64_t size1 = rs_->store().superblock().pages_end;
  // A copy of the whole tree (new inodes, new mtimes): < 1 % more.
  fs::copy(src_ + "/a", src_ + "/b", fs::copy_options::recursive);
  auto copy = Commit(2);
  ASSERT_TRUE(copy.ok());
  const uint64_t size2 = rs_->store().superblock().pages_end;
  EXPECT_LT(size2 - size1, size1 / 100) << "copy added " << (size2 - size1);
  EXPECT_GT(copy->content.chunks_reused, 50u);
  fs::remove_all(src_ + "/b");
  // One byte inserted at the start of a 100 MB file: < 5 MB more.
  std::string big = RandomBytes(100 << 20, 9);
  Write("big", big);
  ASSERT_TRUE(Commit(3).ok());
  const uint64_t size3 = rs_->store().superblock().pages_end;
  Write("big", "!" + big);
  ASSERT_TRUE(Commit(4).ok());
  const uint64_t size4 = rs_->store().superblock().pages_end;
  EXPECT_LT(size4 - size3, 5u << 20) << "shifted file added " << (size4 - size3);
  // And it reads back shifted.
  auto trx = std::move(rs_->BeginRead(4)).value();
  auto file = ResolvePath(*trx, "big");
  ASSERT_TRUE(file.ok());
  std::string back;
  ASSERT_TRUE(ReadFile(*rs_, *trx, file->second, 0, 16, [&](std::string_view p) {
                back.append(p);
                return Status::OK();
              }).ok());
  EXPECT_EQ(back, "!" + big.substr(0, 15));
}

TEST_F(CaptureTest, EditedFilesAreStoredAsBoundedDeltas) {
  std::mt19937 rng(11);
  std::string text;
  for (int i = 0; i < 40000; ++i) text += "value " + std::to_string(rng() % 1000000) + ";\n";
  std::vector<std::string> versions;
  int whole = 0;
  for (int rev = 1; rev <= 24; ++rev) {
    text.insert(rng() % text.size(), "edit " + std::to_string(rev) + "\n");
    Write("code.c", text);
    auto s = Commit(rev);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    // An edit costs a small delta; a whole copy only when a chain is full.
    if (s->content.bytes_stored >= (8u << 10)) ++whole;
    versions.push_back(text);
  }
  EXPECT_LE(whole, 1 + 24 / (kMaxDeltaDepth + 1)) << "whole copies beyond the chain bound";
  for (int rev = 1; rev <= 24; ++rev) {
    rs_->ClearCaches();  // decode every delta chain from disk
    auto trx = std::move(rs_->BeginRead(rev)).value();
    auto file = ResolvePath(*trx, "code.c");
    ASSERT_TRUE(file.ok());
    for (const ChunkRef& c : file->second.chunks) EXPECT_LE(c.depth, kMaxDeltaDepth);
    std::string back;
    ASSERT_TRUE(ReadFile(*rs_, *trx, file->second, 0, file->second.size, [&](std::string_view p) {
                  back.append(p);
                  return Status::OK();
                }).ok());
    EXPECT_EQ(back, versions[rev - 1]) << "revision " << rev;
  }
  VerifyReport report;
  ASSERT_TRUE(rs_->Verify(&report).ok());
  EXPECT_TRUE(report.clean());
}

TEST_F(CaptureTest, CompressionShrinksTextAndKeepsRandomRaw) {
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "int line" + std::to_string(i % 100) + " = 42;\n";
  Write("text.c", text);
  auto s = Commit(1);
  ASSERT_TRUE(s.ok());
  EXPECT_LT(s->content.bytes_stored, s->content.bytes_new / 4);
  Write("random", RandomBytes(2 << 20, 3));
  auto r = Commit(2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->content.bytes_stored, r->content.bytes_new);
}

// Readers and the mount's prefetchers ask for the same chunk at once: it is
// decoded once (one insert into the chunk cache), and every caller gets the
// right bytes. Raw chunks are served from the stored page itself.
TEST_F(CaptureTest, ConcurrentLoadsOfAChunkDecodeItOnce) {
  std::string text;
  for (int i = 0; i < 30000; ++i) text += "row " + std::to_string(i * 7919 % 100003) + "\n";
  Write("text", text);
  const std::string random = RandomBytes(300 << 10, 9);
  Write("random", random);
  ASSERT_TRUE(Commit(1).ok());
  auto trx = std::move(rs_->BeginRead(1)).value();
  for (const char* name : {"text", "random"}) {
    auto file = ResolvePath(*trx, name);
    ASSERT_TRUE(file.ok());
    const std::string& want = std::string(name) == "text" ? text : random;
    for (const ChunkRef& c : file->second.chunks) {
      rs_->ClearCaches();
      const uint64_t inserts = rs_->chunk_loader().cache().stats().inserts;
      std::atomic<int> right{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
          auto pin = rs_->chunk_loader().Chunk(c.hash, c.page, c.length);
          if (pin.ok() && pin->bytes() == std::string_view(want).substr(c.offset, c.length)) {
            right.fetch_add(1);
          }
        });
      }
      for (auto& t : threads) t.join();
      EXPECT_EQ(right.load(), 8) << name << " chunk at " << c.offset;
      EXPECT_EQ(rs_->chunk_loader().cache().stats().inserts - inserts, 1u)
          << name << " chunk at " << c.offset << " decoded more than once";
    }
  }
  EXPECT_EQ(rs_->PinsHeld(), 0u);
}

// A raw chunk is cached as its stored page, so the page checksum is what
// guards its bytes: a flipped byte in its body is an error, never its bytes.
TEST_F(CaptureTest, DamagedRawChunkIsAnErrorNotWrongBytes) {
  const std::string random = RandomBytes(400 << 10, 5);  // read past the page cache
  Write("random", random);
  ASSERT_TRUE(Commit(1).ok());
  ChunkRef chunk;
  {
    auto trx = std::move(rs_->BeginRead(1)).value();
    auto file = ResolvePath(*trx, "random");
    ASSERT_TRUE(file.ok());
    ASSERT_EQ(file->second.chunks.size(), 1u);
    chunk = file->second.chunks[0];
  }
  rs_.reset();
  FlipByte(Path("store") + "/segments/0000000000", chunk.page.offset + chunk.page.size - 100);
  Open();
  auto pin = rs_->chunk_loader().Chunk(chunk.hash, chunk.page, chunk.length);
  ASSERT_FALSE(pin.ok());
  EXPECT_TRUE(pin.status().IsCorruption()) << pin.status().ToString();
  EXPECT_EQ(rs_->PinsHeld(), 0u);
}

TEST_F(CaptureTest, BigDirectoryLookupIsLogarithmicAndListingIsOrdered) {
  // Creating 200,000 files is the slow part; on tmpfs it takes a second.
  std::string shm = "/dev/shm/revfs-bigdir-XXXXXX";
  if (::mkdtemp(shm.data()) != nullptr) src_ = shm;
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      if (path.rfind("/dev/shm/", 0) == 0) fs::remove_all(path);
    }
  } cleanup{src_};
  fs::create_directory(src_ + "/big");
  for (int i = 0; i < 200000; ++i) {
    int fd = ::open((src_ + "/big/entry-" + std::to_string(i * 7919 % 200000)).c_str(),
                    O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  ASSERT_TRUE(Commit(1).ok());
  auto trx = std::move(rs_->BeginRead(1)).value();
  auto dir = ResolvePath(*trx, "big");
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(dir->second.map.count, 200000u);
  EXPECT_LE(dir->second.map.level, 3) << "a lookup loads level + 1 blocks";
  auto hit = LookupEntry(*trx, dir->second, "entry-123456");
  ASSERT_TRUE(hit.ok() && hit->has_value());
  EXPECT_FALSE(LookupEntry(*trx, dir->second, "entry-x")->has_value());
  std::string prev;
  size_t n = 0;
  ASSERT_TRUE(ListDirectory(*trx, dir->second, "", [&](std::string_view name, const DirEntry&) {
                EXPECT_LT(prev, name);
                prev = std::string(name);
                ++n;
                return true;
              }).ok());
  EXPECT_EQ(n, 200000u);
  // One new entry: a few blocks written, not the directory.
  int fd = ::open((src_ + "/big/zz-new").c_str(), O_CREAT | O_WRONLY, 0644);
  ::close(fd);
  auto s = Commit(2);
  ASSERT_TRUE(s.ok());
  EXPECT_LT(rs_->store().ReadRevisionRoot(2)->Counter("bytes_written"), 64u << 10);
}

TEST_F(CaptureTest, DiffSkipsUnchangedSubtrees) {
  fs::create_directories(src_ + "/same/deep");
  Write("same/deep/f", "unchanged");
  Write("changed", "one");
  Write("gone", "x");
  ASSERT_TRUE(Commit(1).ok());
  Write("changed", "two");
  fs::remove(src_ + "/gone");
  Write("new", "y");
  ASSERT_EQ(::chmod((src_ + "/same/deep/f").c_str(), 0600), 0);
  ASSERT_TRUE(Commit(2).ok());
  auto a = std::move(rs_->BeginRead(1)).value();
  auto b = std::move(rs_->BeginRead(2)).value();
  std::vector<std::string> changes;
  ASSERT_TRUE(DiffTrees(*a, *b, "", [&](ChangeKind k, const std::string& p) {
                changes.push_back(std::string(1, static_cast<char>(k)) + " " + p);
              }).ok());
  std::vector<std::string> want = {"M changed", "D gone", "A new", "P same/deep/f"};
  // The root directory's mtime changed too (entries were added and removed).
  changes.erase(std::remove(changes.begin(), changes.end(), "P /"), changes.end());
  EXPECT_EQ(changes, want);
}

TEST_F(CaptureTest, BadInputsAreCleanErrorsAndLoseNothing) {
  Write("f", "data");
  ASSERT_TRUE(Commit(10).ok());
  CaptureOptions o;
  EXPECT_TRUE(CaptureTree(*rs_, Path("missing"), o).status().IsNotFound());
  EXPECT_TRUE(CaptureTree(*rs_, src_ + "/f", o).status().IsInvalidArgument());
  o.time_ns = kT0 + 5;  // earlier than revision 1
  auto early = CaptureTree(*rs_, src_, o);
  EXPECT_TRUE(early.status().IsInvalidArgument()) << early.status().ToString();
  // A full disk in the middle of a commit: a clean error, then all is well.
  FaultInjectionEnv env;
  Open(&env);
  Write("g", RandomBytes(3 << 20, 1));
  env.FailAt(FaultInjectionEnv::Op::kWrite, 3, Status::NoSpace("injected: No space left on device"), true);
  auto full = Commit(20);
  EXPECT_TRUE(full.status().IsNoSpace()) << full.status().ToString();
  Open();
  EXPECT_EQ(rs_->store().latest_revision(), 1u);
  auto ok = Commit(30);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  Manifest got = ReadRevision(2, true);
  EXPECT_EQ(got["/g"].content, HashFile(src_ + "/g"));
  EXPECT_EQ(ReadRevision(1, true).count("/g"), 0u);
}

}  // namespace
}  // namespace revfs::testing
