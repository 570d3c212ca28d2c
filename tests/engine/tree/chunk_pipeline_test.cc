// The capture's content pipeline: small files read in batches on the
// workers give the same records as files read by the writer thread; torn
// reads (a file changing while read) are read again, on either path; the
// bytes in flight stay under the pipeline's bound; an unpacked copy of an
// unchanged tree (new inodes, same bytes) stores nothing new.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "content/chunker.h"
#include "revfs/tree.h"
#include "support/engine_test.h"
#include "tree/chunk_pipeline.h"

namespace revfs::testing {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;

std::string Text(size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  static const char* kWords[] = {"page ", "store ", "chunk ", "record\n", "index ", "commit "};
  std::string s;
  while (s.size() < n) s += kWords[rng() % 6];
  s.resize(n);
  return s;
}

std::string Random(size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Every record of revision `rev`, by key, with what may differ between
// two captures of one tree into two stores left out: inode records without
// their access time (reading a source directory changes it) nor where their
// chunks' pages lie (the revision before may differ in length: it holds
// those access times), chunk index and recent-chunk log records without
// their values (they name pages too).
std::map<uint64_t, std::string> Records(Database& db, uint64_t rev) {
  std::map<uint64_t, std::string> out;
  auto trx = db.BeginRead(rev);
  EXPECT_TRUE(trx.ok());
  EXPECT_TRUE((*trx)->Scan(0, ~uint64_t{0}, [&](uint64_t k, std::string_view v) {
                  std::string value(v);
                  if (k >> 60 == kInodeBase >> 60) {
                    auto inode = DecodeInode(v);
                    EXPECT_TRUE(inode.ok());
                    if (inode.ok()) {
                      inode->atime_ns = 0;
                      for (ChunkRef& c : inode->chunks) c.page = PageRef{};
                      value = EncodeInode(*inode);
                    }
                  } else if (k >> 60 == kChunkIndexBase >> 60 || k >> 60 == kChunkLogBase >> 60) {
                    value.clear();
                  }
                  out.emplace(k, std::move(value));
                  return true;
                }).ok());
  return out;
}

// The keys whose records differ between `a` and `b` (empty if none).
std::vector<uint64_t> Differences(const std::map<uint64_t, std::string>& a,
                                  const std::map<uint64_t, std::string>& b) {
  std::vector<uint64_t> out;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end() || it->second != v) out.push_back(k);
  }
  for (const auto& [k, v] : b) {
    if (!a.count(k)) out.push_back(k);
  }
  return out;
}

std::string ReadBack(Database& db, uint64_t rev, const std::string& path) {
  auto trx = std::move(db.BeginRead(rev)).value();
  auto found = ResolvePath(*trx, path);
  if (!found.ok()) return "<" + found.status().ToString() + ">";
  std::string out;
  Status s = ReadFile(db, *trx, found->second, 0, found->second.size, [&](std::string_view p) {
    out.append(p);
    return Status::OK();
  });
  return s.ok() ? out : "<" + s.ToString() + ">";
}

// Resets the pipeline's test hooks when a test ends, however it ends.
struct HooksReset {
  ~HooksReset() { ChunkPipeline::test_hooks() = ChunkPipeline::TestHooks{}; }
};

class ChunkPipelineTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    src_ = Path("src");
    fs::create_directory(src_);
  }

  void Write(const std::string& rel, const std::string& data) {
    fs::create_directories(fs::path(src_ + "/" + rel).parent_path());
    std::ofstream(src_ + "/" + rel, std::ios::binary | std::ios::trunc) << data;
  }

  Result<CaptureSummary> Commit(Database& db, const std::string& source, int64_t t,
                                std::vector<std::pair<std::string, Status>>* skipped = nullptr) {
    CaptureOptions o;
    o.time_ns = kT0 + t;
    o.on_skip = [skipped](const std::string& p, const Status& why) {
      if (skipped) skipped->emplace_back(p, why);
    };
    return CaptureTree(db, source, o);
  }

  std::string src_;
  HooksReset reset_;
};

TEST_F(ChunkPipelineTest, WorkerReadsGiveTheSameRecordsAsWriterReads) {
  const size_t min = ChunkerParams{}.min_size;
  // Small files of every size around the edges, in a few directories (the
  // batches cross them), and files that are not small: one past the
  // minimum chunk, sparse ones, a big one.
  for (int i = 0; i < 300; ++i) {
    Write("d" + std::to_string(i % 3) + "/f" + std::to_string(i), Text(i * 37 % 5000, i));
  }
  Write("d0/sub/empty", "");
  Write("d0/sub/one", "x");
  Write("d1/at_min", Text(min, 1));
  Write("d1/past_min", Text(min + 1, 2));
  Write("d2/big", Random(3 << 20, 3));
  {
    int fd = ::open((src_ + "/d2/sparse").c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "tail", 4, 100000), 4);
    ::close(fd);
  }
  const bool xattrs = ::setxattr((src_ + "/d0/f0").c_str(), "user.k", "v", 1, 0) == 0;
  fs::create_hard_link(src_ + "/d0/f3", src_ + "/d1/link");

  auto a = CreateStore("a", kT0);
  auto b = CreateStore("b", kT0);
  ASSERT_TRUE(a && b);
  ChunkPipeline::test_hooks().small_on_workers = false;
  auto sa = Commit(*a, src_, 1);
  ChunkPipeline::test_hooks().small_on_workers = true;
  auto sb = Commit(*b, src_, 1);
  ASSERT_TRUE(sa.ok() && sb.ok()) << sa.status().ToString() << sb.status().ToString();
  EXPECT_EQ(sa->content.chunks_new, sb->content.chunks_new);
  EXPECT_EQ(sa->bytes_read, sb->bytes_read);
  auto ra = Records(*a, 1);
  EXPECT_GT(ra.size(), 300u);
  EXPECT_EQ(Differences(ra, Records(*b, 1)), std::vector<uint64_t>());
  EXPECT_EQ(ReadBack(*b, 1, "d1/at_min"), Text(min, 1));
  EXPECT_EQ(ReadBack(*b, 1, "d1/f7"), Text(7 * 37, 7));
  if (xattrs) {
    auto trx = std::move(b->BeginRead(1)).value();
    auto f0 = ResolvePath(*trx, "d0/f0");
    ASSERT_TRUE(f0.ok());
    ASSERT_EQ(f0->second.xattrs.size(), 1u);
    EXPECT_EQ(f0->second.xattrs[0].second, "v");
  }

  // The next revision: edits (deltas against the old chunk), appends, a
  // file rewritten with the same bytes (a new inode), one removed.
  for (int i = 0; i < 300; i += 7) {
    Write("d" + std::to_string(i % 3) + "/f" + std::to_string(i), Text(i * 37 % 5000 + 10, i + 1));
  }
  Write("d1/f1", Text(37, 1));
  fs::remove(src_ + "/d2/f2");
  ChunkPipeline::test_hooks().small_on_workers = false;
  sa = Commit(*a, src_, 2);
  ChunkPipeline::test_hooks().small_on_workers = true;
  sb = Commit(*b, src_, 2);
  ASSERT_TRUE(sa.ok() && sb.ok());
  EXPECT_EQ(sa->content.chunks_reused, sb->content.chunks_reused);
  EXPECT_EQ(Differences(Records(*a, 2), Records(*b, 2)), std::vector<uint64_t>());
  EXPECT_EQ(ReadBack(*b, 2, "d0/f21"), Text(21 * 37 + 10, 22));
}

TEST_F(ChunkPipelineTest, TornReadsAreReadAgainOnEitherPath) {
  // small.txt and big.bin change once while read (then they are read
  // again); always.* change on every read (skipped after three tries).
  Write("small.txt", Text(2000, 1));
  Write("always.txt", Text(2000, 2));
  Write("big.bin", Random(600000, 3));
  Write("always.bin", Random(600000, 4));
  Write("calm.txt", Text(100, 5));
  std::mutex mu;
  std::map<std::string, int> reads;
  ChunkPipeline::test_hooks().after_read = [&](int fd, int attempt) {
    char link[4096];
    ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), link, sizeof(link));
    ASSERT_GT(n, 0);
    const std::string name = fs::path(std::string(link, n)).filename().string();
    {
      std::lock_guard<std::mutex> lock(mu);
      ++reads[name];
    }
    if ((attempt == 0 && (name == "small.txt" || name == "big.bin")) ||
        name.rfind("always", 0) == 0) {
      std::ofstream(src_ + "/" + name, std::ios::binary | std::ios::app) << "+more";
    }
  };
  auto db = CreateStore("s", kT0);
  ASSERT_TRUE(db);
  std::vector<std::pair<std::string, Status>> skipped;
  auto summary = Commit(*db, src_, 1, &skipped);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  ASSERT_EQ(skipped.size(), 2u);
  std::set<std::string> names;
  for (const auto& [path, why] : skipped) {
    names.insert(fs::path(path).filename().string());
    EXPECT_NE(why.ToString().find("changed while being read (3 tries)"), std::string::npos)
        << why.ToString();
  }
  EXPECT_EQ(names, (std::set<std::string>{"always.txt", "always.bin"}));
  EXPECT_EQ(reads["small.txt"], 2);
  EXPECT_EQ(reads["big.bin"], 2);
  EXPECT_EQ(reads["always.txt"], 3);
  EXPECT_EQ(reads["calm.txt"], 1);
  EXPECT_EQ(ReadBack(*db, 1, "small.txt"), Text(2000, 1) + "+more");
  EXPECT_EQ(ReadBack(*db, 1, "big.bin"), Random(600000, 3) + "+more");
  EXPECT_EQ(ReadBack(*db, 1, "calm.txt"), Text(100, 5));
  EXPECT_EQ(summary->files, 3u);
  EXPECT_EQ(summary->bytes_in_flight_peak > 0, true);
}

TEST_F(ChunkPipelineTest, BytesInFlightStayUnderTheBound) {
  // One directory (its files wait until it is done unless the bound says
  // otherwise): 1,000 small files, 12 files of a few chunks, one of 10 MiB.
  for (int i = 0; i < 1000; ++i) Write("d/s" + std::to_string(i), Text(3000, i));
  for (int i = 0; i < 12; ++i) Write("d/m" + std::to_string(i), Random(700000, 100 + i));
  Write("d/z", Random(10 << 20, 7));
  const uint64_t max_chunk = ChunkerParams{}.max_size;

  auto open = CreateStore("open", kT0);
  ASSERT_TRUE(open);
  auto unbounded = Commit(*open, src_, 1);
  ASSERT_TRUE(unbounded.ok());
  EXPECT_GT(unbounded->bytes_in_flight_peak, 12u << 20);  // all of it waits

  ChunkPipeline::test_hooks().max_in_flight = 1 << 20;
  auto db = CreateStore("bounded", kT0);
  ASSERT_TRUE(db);
  auto summary = Commit(*db, src_, 1);
  ASSERT_TRUE(summary.ok());
  EXPECT_LE(summary->bytes_in_flight_peak, (1u << 20) + max_chunk);
  EXPECT_GT(summary->bytes_in_flight_peak, 0u);
  EXPECT_EQ(Records(*open, 1).size(), Records(*db, 1).size());
  EXPECT_EQ(ReadBack(*db, 1, "d/z"), Random(10 << 20, 7));
  EXPECT_EQ(ReadBack(*db, 1, "d/s999"), Text(3000, 999));
  EXPECT_EQ(ReadBack(*db, 1, "d/m11"), Random(700000, 111));
}

TEST_F(ChunkPipelineTest, UnpackedCopyStoresNothingNew) {
  for (int i = 0; i < 200; ++i) {
    Write("d" + std::to_string(i % 4) + "/f" + std::to_string(i), Text(1000 + i * 13, i));
  }
  Write("big", Random(1 << 20, 9));
  auto db = CreateStore("s", kT0);
  ASSERT_TRUE(db);
  auto first = Commit(*db, src_, 1);
  ASSERT_TRUE(first.ok());
  // A fresh copy, as an archive unpacks it: new inodes and change times,
  // the same bytes and modification times.
  const std::string copy = Path("copy");
  fs::copy(src_, copy, fs::copy_options::recursive);
  for (const auto& e : fs::recursive_directory_iterator(src_)) {
    const std::string rel = fs::relative(e.path(), src_).string();
    fs::last_write_time(copy + "/" + rel, fs::last_write_time(e.path()));
  }
  auto second = Commit(*db, copy, 2);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->unchanged, 0u);  // every file was read again
  EXPECT_EQ(second->files, 201u);
  EXPECT_EQ(second->content.chunks_new, 0u);
  EXPECT_EQ(second->content.bytes_stored, 0u);
  EXPECT_GE(second->content.chunks_reused, 201u);
  // Each file refers to the very chunk pages of the first revision.
  auto t1 = std::move(db->BeginRead(1)).value();
  auto t2 = std::move(db->BeginRead(2)).value();
  for (const std::string path : {"d0/f0", "d3/f199", "big"}) {
    auto f1 = ResolvePath(*t1, path);
    auto f2 = ResolvePath(*t2, path);
    ASSERT_TRUE(f1.ok() && f2.ok());
    EXPECT_EQ(f1->second.identity, f2->second.identity) << path;
    ASSERT_EQ(f1->second.chunks.size(), f2->second.chunks.size());
    for (size_t i = 0; i < f1->second.chunks.size(); ++i) {
      EXPECT_EQ(f1->second.chunks[i].page, f2->second.chunks[i].page) << path;
    }
  }
  EXPECT_EQ(ReadBack(*db, 2, "big"), Random(1 << 20, 9));
}

}  // namespace
}  // namespace revfs::testing
