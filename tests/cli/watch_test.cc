// revfs watch as users run it: a daemon that commits what changed. A hammer
// of writes, appends, truncations, renames across directories, deletions,
// new subdirectories and hard links runs while it watches; afterwards the
// latest revision equals the tree (content and metadata), the store
// verifies, and no revision holds a torn file. A flooded event queue gives
// a fallback revision that equals the tree. SIGTERM commits what is pending.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "revfs/database.h"
#include "revfs/tree.h"
#include "support/engine_test.h"

namespace revfs::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr size_t kRecord = 128;  // divides a page: a record never straddles one

// A record: 119 payload bytes, 8 hex digits of their checksum, '\n'.
std::string MakeRecord(std::mt19937_64& rng) {
  std::string r(kRecord, '\n');
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < 119; ++i) {
    r[i] = static_cast<char>('a' + rng() % 26);
    h = (h ^ static_cast<uint8_t>(r[i])) * 16777619u;
  }
  std::snprintf(&r[119], 9, "%08x", h);
  r[127] = '\n';
  return r;
}

// Empty if `content` is whole records with valid checksums, else why not.
std::string CheckRecords(const std::string& content) {
  if (content.size() % kRecord != 0) return "size " + std::to_string(content.size());
  for (size_t off = 0; off < content.size(); off += kRecord) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < 119; ++i) h = (h ^ static_cast<uint8_t>(content[off + i])) * 16777619u;
    char hex[9];
    std::snprintf(hex, sizeof(hex), "%08x", h);
    if (content.compare(off + 119, 8, hex) != 0) return "bad record at " + std::to_string(off);
  }
  return "";
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// path -> "type mode size mtime nlink [content] [linked-with]"
using Listing = std::map<std::string, std::string>;

void ListSource(const std::string& root, const std::string& rel, Listing* out,
                std::map<ino_t, std::string>* links) {
  std::vector<std::string> names;  // in name order, as a revision lists them
  for (const auto& de : fs::directory_iterator(root + rel)) names.push_back(de.path().filename());
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string r = rel + "/" + name;
    struct stat st;
    ASSERT_EQ(::lstat((root + r).c_str(), &st), 0);
    std::string line = std::to_string(st.st_mode) + " " +
                       std::to_string(S_ISDIR(st.st_mode) ? 0 : st.st_size) + " " +
                       std::to_string(st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec) +
                       " " + std::to_string(st.st_nlink);
    if (S_ISREG(st.st_mode)) {
      line += " " + ReadAll(root + r);
      if (st.st_nlink > 1) line += " linked-with " + links->emplace(st.st_ino, r).first->second;
    }
    (*out)[r] = line;
    if (S_ISDIR(st.st_mode)) ListSource(root, r, out, links);
  }
}

void ListRevision(Database& db, ReadTrx& trx, const Inode& dir, const std::string& rel,
                  Listing* out, std::map<uint64_t, std::string>* links,
                  std::vector<std::string>* torn) {
  std::vector<std::pair<std::string, DirEntry>> entries;
  ASSERT_TRUE(ListDirectory(trx, dir, "", [&](std::string_view n, const DirEntry& e) {
                entries.emplace_back(std::string(n), e);
                return true;
              }).ok());
  for (const auto& [name, e] : entries) {
    const std::string r = rel + "/" + name;
    auto n = GetInode(trx, e.ino);
    ASSERT_TRUE(n.ok()) << r;
    std::string line = std::to_string(n->mode) + " " + std::to_string(n->size) + " " +
                       std::to_string(n->mtime_ns) + " " + std::to_string(n->nlink);
    if (n->type == FileType::kRegular) {
      std::string content;
      ASSERT_TRUE(ReadFile(db, trx, *n, 0, n->size, [&](std::string_view p) {
                    content.append(p);
                    return Status::OK();
                  }).ok());
      const std::string why = CheckRecords(content);
      if (!why.empty()) torn->push_back(r + ": " + why);
      line += " " + content;
      if (n->nlink > 1) line += " linked-with " + links->emplace(e.ino, r).first->second;
    }
    (*out)[r] = line;
    if (n->type == FileType::kDirectory) ListRevision(db, trx, *n, r, out, links, torn);
  }
}

class WatchTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    store_ = Path("store");
    src_ = Path("src");
    fs::create_directory(src_);
    ASSERT_EQ(Run("init " + store_), 0);
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    EngineTest::TearDown();
  }

  // Runs `revfs ARGS`, its stdout into `out` (default: the "out" file).
  int Run(const std::string& args, std::string out = "") {
    if (out.empty()) out = Path("out");
    const std::string cmd = REVFS_BINARY " " + args + " >>" + out + " 2>>" + Path("out");
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // Starts `revfs watch -f` and waits for its first revision.
  void Start(const std::vector<std::string>& extra) {
    log_ = Path("watch.log");
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 2);
      std::vector<std::string> words = {REVFS_BINARY, "watch", "-f", store_, src_};
      words.insert(words.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& w : words) argv.push_back(w.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    for (int i = 0; i < 500 && Latest() < 1; ++i) std::this_thread::sleep_for(10ms);
    ASSERT_GE(Latest(), 1u) << ReadAll(log_);
  }

  // Sends `sig` and returns the exit status.
  int Stop(int sig = SIGTERM) {
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  uint64_t Latest() {
    auto store = Store::Open(store_, StoreOptions{});
    return store.ok() ? (*store)->latest_revision() : 0;
  }
  uint64_t Mode(uint64_t rev) {
    auto store = Store::Open(store_, StoreOptions{});
    auto root = (*store)->ReadRevisionRoot(rev);
    return root.ok() ? root->Counter("capture_mode") : 0;
  }

  // Waits until no revision has come for `quiet`.
  void WaitQuiet(std::chrono::milliseconds quiet) {
    uint64_t last = Latest();
    auto since = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - since < quiet) {
      std::this_thread::sleep_for(50ms);
      if (Latest() != last) {
        last = Latest();
        since = std::chrono::steady_clock::now();
      }
    }
  }

  Listing ReadRevision(uint64_t rev, std::vector<std::string>* torn) {
    DatabaseOptions o;
    o.memory.shared_allocator = allocator();
    auto db = Database::Open(store_, o);
    EXPECT_TRUE(db.ok());
    auto trx = (*db)->BeginRead(rev);
    EXPECT_TRUE(trx.ok());
    auto root = ResolvePath(**trx, "");
    Listing l;
    std::map<uint64_t, std::string> links;
    ListRevision(**db, **trx, root->second, "", &l, &links, torn);
    trx->reset();
    return l;
  }

  // The latest revision equals the tree, entry by entry.
  void ExpectLatestEqualsTree() {
    Listing source;
    std::map<ino_t, std::string> links;
    ListSource(src_, "", &source, &links);
    std::vector<std::string> torn;
    Listing rev = ReadRevision(Latest(), &torn);
    EXPECT_TRUE(torn.empty()) << torn.front();
    for (const auto& [path, line] : source) {
      auto it = rev.find(path);
      if (it == rev.end()) {
        ADD_FAILURE() << path << " missing from revision " << Latest();
      } else {
        EXPECT_EQ(it->second.substr(0, 80), line.substr(0, 80)) << path;
        EXPECT_TRUE(it->second == line) << path << ": content differs";
      }
    }
    for (const auto& [path, line] : rev) {
      EXPECT_TRUE(source.count(path)) << path << " in the revision, not in the tree";
    }
  }

  std::string store_, src_, log_;
  pid_t pid_ = -1;
};

TEST_F(WatchTest, SigtermCommitsWhatIsPendingAndLogSaysHowEachWasMade) {
  fs::create_directories(src_ + "/a/b");
  std::ofstream(src_ + "/a/b/old") << "old";
  Start({"--debounce", "60"});
  EXPECT_EQ(Mode(1), static_cast<uint64_t>(CaptureMode::kFallback));
  std::ofstream(src_ + "/a/b/new") << "new";
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(Latest(), 1u);  // quiet for 60 s not reached
  EXPECT_EQ(Stop(SIGTERM), 0) << ReadAll(log_);
  ASSERT_EQ(Latest(), 2u) << ReadAll(log_);
  EXPECT_EQ(Mode(2), static_cast<uint64_t>(CaptureMode::kWatched));
  std::vector<std::string> torn;
  EXPECT_TRUE(ReadRevision(2, &torn).count("/a/b/new"));
  ASSERT_EQ(Run("log --json " + store_, Path("log.json")), 0);
  const std::string json = ReadAll(Path("log.json"));
  EXPECT_NE(json.find("\"made\":\"fallback\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"made\":\"watched\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"entries_stated\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"capture_ms\""), std::string::npos) << json;
}

TEST_F(WatchTest, BadOptionsExit2AndExclusionsAreRecorded) {
  for (const char* bad : {"--debounce 0", "--debounce x", "--debounce 5 --max-delay 1",
                          "--max-delay 1e9", "--watcher nope"}) {
    EXPECT_EQ(Run("watch " + store_ + " " + src_ + " " + bad), 2) << bad;
  }
  EXPECT_EQ(Run("watch " + store_ + " " + src_ + " --exclude-from " + Path("none")), 1);
  EXPECT_EQ(Run("watch " + store_ + " " + dir().string()), 1);  // the store inside
  std::ofstream(Path("ignore")) << "# build output\n*.o\n\n/out/\n";
  fs::create_directories(src_ + "/out");
  std::ofstream(src_ + "/out/x") << "x";
  std::ofstream(src_ + "/a.o") << "o";
  std::ofstream(src_ + "/a.c") << "c";
  ASSERT_EQ(Run("commit " + store_ + " " + src_ + " --exclude-from " + Path("ignore") +
                " --exclude '!keep.o'"), 0);
  ASSERT_EQ(Run("log --json " + store_, Path("log.json")), 0);
  const std::string json = ReadAll(Path("log.json"));
  EXPECT_NE(json.find("\"exclude\":[\"*.o\",\"/out/\",\"!keep.o\"]"), std::string::npos) << json;
  EXPECT_NE(json.find("\"made\":\"full_scan\""), std::string::npos) << json;
  std::vector<std::string> torn;
  const Listing l = ReadRevision(1, &torn);
  EXPECT_TRUE(l.count("/a.c"));
  EXPECT_FALSE(l.count("/a.o"));
  EXPECT_FALSE(l.count("/out"));
}

TEST_F(WatchTest, DaemonReturnsAfterItsFirstRevisionAndHoldsTheStore) {
  std::ofstream(src_ + "/f") << "f";
  ASSERT_EQ(Run("watch " + store_ + " " + src_ + " --debounce 0.1"), 0) << ReadAll(Path("out"));
  EXPECT_EQ(Latest(), 1u);  // made before the command returned
  // The detached daemon is the store's writer: a commit is refused.
  EXPECT_EQ(Run("commit " + store_ + " " + src_), 1);
  EXPECT_NE(ReadAll(Path("out")).find("locked"), std::string::npos) << ReadAll(Path("out"));
  std::ofstream(src_ + "/g") << "g";
  for (int i = 0; i < 300 && Latest() < 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(Latest(), 2u);
  ASSERT_EQ(std::system(("pkill -TERM -f -x '" REVFS_BINARY " watch " + store_ + " " + src_ +
                         " --debounce 0.1'").c_str()), 0);
  for (int i = 0; i < 300 && Run("commit " + store_ + " " + src_) != 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(Latest(), 3u);  // the daemon ended and let go of the store
}

// Random operations on whole records while the watcher runs; hard links
// only after `links_after` (a changed file with several names makes a
// watched capture walk everything: the revisions before are watched ones).
void Hammer(const std::string& src, std::chrono::milliseconds how_long,
            std::chrono::milliseconds links_after, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> dirs = {"d0", "d1", "d2", "d3/deep"};
  for (const auto& d : dirs) fs::create_directories(src + "/" + d);
  std::vector<std::string> files;
  int next = 0;
  auto write_file = [&](const std::string& path, int records) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (int i = 0; i < records; ++i) {
      const std::string r = MakeRecord(rng);
      ASSERT_EQ(::write(fd, r.data(), r.size()), static_cast<ssize_t>(r.size()));
    }
    ::close(fd);
  };
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < start + how_long) {
    int op = static_cast<int>(rng() % 100);
    if (op >= 94 && op < 97 && std::chrono::steady_clock::now() < start + links_after) op = 0;
    const std::string dir = src + "/" + dirs[rng() % dirs.size()];
    std::string file = files.empty() ? "" : files[rng() % files.size()];
    if (op < 25 || files.empty()) {  // a new file
      const std::string path = dir + "/f" + std::to_string(next++);
      write_file(path, 1 + static_cast<int>(rng() % 4));
      files.push_back(path);
    } else if (op < 45) {  // append a record
      int fd = ::open(file.c_str(), O_WRONLY | O_APPEND);
      const std::string r = MakeRecord(rng);
      if (fd >= 0) {
        ASSERT_EQ(::write(fd, r.data(), r.size()), static_cast<ssize_t>(r.size()));
        ::close(fd);
      }
    } else if (op < 55) {  // truncate to fewer records
      struct stat st;
      if (::stat(file.c_str(), &st) == 0) {
        const off_t records = st.st_size / static_cast<off_t>(kRecord);
        ASSERT_EQ(::truncate(file.c_str(), records / 2 * static_cast<off_t>(kRecord)), 0);
      }
    } else if (op < 65) {  // rewrite in place through a rename
      write_file(dir + "/tmp", 1 + static_cast<int>(rng() % 3));
      fs::rename(dir + "/tmp", file);
    } else if (op < 75) {  // move to another directory
      const std::string to = dir + "/m" + std::to_string(next++);
      fs::rename(file, to);
      std::replace(files.begin(), files.end(), file, to);
    } else if (op < 83) {  // delete
      fs::remove(file);
      std::erase(files, file);
    } else if (op < 90) {  // a new subdirectory with a file
      const std::string sub = dirs[rng() % dirs.size()] + "/s" + std::to_string(next++);
      fs::create_directories(src + "/" + sub);
      const std::string path = src + "/" + sub + "/f" + std::to_string(next++);
      write_file(path, 2);
      files.push_back(path);
      dirs.push_back(sub);
    } else if (op < 94) {  // move a subdirectory
      const size_t i = 4 + rng() % std::max<size_t>(1, dirs.size() - 4);
      if (i < dirs.size() && dirs[i].find("/s") != std::string::npos) {
        const std::string from = dirs[i], to = "d" + std::to_string(rng() % 3) + "/r" +
                                               std::to_string(next++);
        fs::rename(src + "/" + from, src + "/" + to);
        for (auto& d : dirs) {
          if (d == from || d.rfind(from + "/", 0) == 0) d = to + d.substr(from.size());
        }
        for (auto& f : files) {
          if (f.rfind(src + "/" + from + "/", 0) == 0) f = src + "/" + to + f.substr(src.size() + 1 + from.size());
        }
      }
    } else if (op < 97) {  // a hard link
      const std::string to = dir + "/l" + std::to_string(next++);
      if (::link(file.c_str(), to.c_str()) == 0) files.push_back(to);
    } else {
      ::chmod(file.c_str(), rng() % 2 ? 0600 : 0644);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + rng() % 4));
  }
}


class WatchHammerTest : public WatchTest, public ::testing::WithParamInterface<const char*> {
 protected:
  void RunHammer() {
    Start({"--debounce", "0.2", "--max-delay", "0.5", "--watcher", GetParam()});
    Hammer(src_, 5s, 3s, 18);
    WaitQuiet(1500ms);
    ExpectLatestEqualsTree();
    EXPECT_EQ(Stop(SIGTERM), 0);
    EXPECT_EQ(Run("verify " + store_), 0) << ReadAll(Path("out"));
    const uint64_t latest = Latest();
    EXPECT_GE(latest, 5u) << ReadAll(log_);
    int watched = 0;
    for (uint64_t rev = 1; rev <= latest; ++rev) {
      std::vector<std::string> torn;
      ReadRevision(rev, &torn);
      EXPECT_TRUE(torn.empty()) << "revision " << rev << ": " << torn.front();
      watched += Mode(rev) == static_cast<uint64_t>(CaptureMode::kWatched);
    }
    EXPECT_GE(watched, 2) << ReadAll(log_);
    std::printf("%llu revisions, %d watched\n", static_cast<unsigned long long>(latest), watched);
  }
};

TEST_P(WatchHammerTest, LatestEqualsTreeAndNoRevisionIsTorn) { RunHammer(); }

INSTANTIATE_TEST_SUITE_P(Watchers, WatchHammerTest, ::testing::Values("inotify", "auto"));

class WatchOverflowTest : public WatchTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(WatchOverflowTest, AFloodOfEventsLosesNothing) {
  // inotify's queue holds max_queued_events: a flood overflows it and the
  // next revision is a full walk. fanotify's is unlimited: the next
  // revision is still a watched one.
  const bool inotify = std::string(GetParam()) == "inotify";
  const int limit = std::stoi(ReadAll("/proc/sys/fs/inotify/max_queued_events"));
  fs::create_directories(src_ + "/many");
  Start({"--debounce", "0.3", "--watcher", GetParam()});
  ::kill(pid_, SIGSTOP);  // it reads nothing while the queue fills
  for (int i = 0; i < limit + 2000; ++i) {
    const std::string p = src_ + "/many/" + std::to_string(i);
    ::close(::open(p.c_str(), O_WRONLY | O_CREAT, 0644));
  }
  ::kill(pid_, SIGCONT);
  for (int i = 0; i < 1000 && Latest() < 2; ++i) std::this_thread::sleep_for(10ms);
  WaitQuiet(1000ms);
  ASSERT_GE(Latest(), 2u) << ReadAll(log_);
  EXPECT_EQ(Mode(2), static_cast<uint64_t>(inotify ? CaptureMode::kFallback : CaptureMode::kWatched))
      << ReadAll(log_);
  EXPECT_EQ(ReadAll(log_).find("overflowed") != std::string::npos, inotify) << ReadAll(log_);
  ExpectLatestEqualsTree();
  EXPECT_EQ(Stop(SIGINT), 0);
}

INSTANTIATE_TEST_SUITE_P(Watchers, WatchOverflowTest, ::testing::Values("inotify", "fanotify"));

}  // namespace
}  // namespace revfs::testing
