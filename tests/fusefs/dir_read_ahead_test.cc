// Directory read-ahead: the first read of a file in a directory gives the
// kernel (here a recording KernelCacheFill) the content of the directory's
// other small files it has looked up and not read — exactly their bytes,
// once per directory, within the budget — and decodes those it has not
// looked up into the daemon's cache; StopKernelCacheFill waits for a fill
// under way.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "revfs/fusefs/fusefs.h"
#include "revfs/json.h"
#include "revfs/tree.h"
#include "support/engine_test.h"

namespace revfs::fusefs {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;

std::string Content(char c, size_t n) {
  std::string s(n, c);
  for (size_t i = 0; i < n; i += 97) s[i] = static_cast<char>('0' + i % 10);
  return s;
}

// What the KernelCacheFill was given, by node.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::map<uint64_t, std::string> given;
  int calls = 0;
  KernelCacheFill Store() {
    return [this](uint64_t node, const std::vector<std::string_view>& pieces) {
      std::string bytes;
      for (std::string_view p : pieces) bytes.append(p);
      std::lock_guard lock(mu);
      given[node] = std::move(bytes);
      ++calls;
      cv.notify_all();
      return 0;
    };
  }
};

class DirReadAheadTest : public testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    const std::string src = Path("src");
    std::filesystem::create_directories(src + "/d/sub");
    files_ = {{"a", Content('a', 3000)},    {"b", Content('b', 5000)},
              {"big", Content('g', 300 << 10)}, {"c", Content('c', 4000)},
              {"empty", ""},                {"z", Content('z', 2000)}};
    for (const auto& [name, bytes] : files_) std::ofstream(src + "/d/" + name) << bytes;
    rs_ = CreateStore("store", kT0);  // its allocator is checked at teardown
    ASSERT_TRUE(rs_);
    CaptureOptions o;
    o.time_ns = kT0 + 1;
    ASSERT_TRUE(CaptureTree(*rs_, src, o).ok());
  }
  void ReleaseResources() override {
    fs_.reset();
    rs_.reset();
  }

  // Mounts (without a kernel) and looks up d and every file but z, as
  // readdirplus would; returns the node of d.
  uint64_t Open(uint64_t budget) {
    FsOptions fo;
    fo.prefetch_threads = 1;
    fo.dir_readahead_bytes = budget;
    fs_ = std::make_unique<RevFs>(rs_.get(), fo);
    fs_->SetKernelCacheFill(recorder_.Store());
    auto revisions = fs_->Lookup(RevFs::kRootNode, "revisions");
    auto rev = fs_->Lookup(revisions->node, "1");
    const uint64_t d = fs_->Lookup(rev->node, "d")->node;
    for (const char* name : {"a", "b", "big", "c", "empty", "sub"}) {
      auto e = fs_->Lookup(d, name);
      EXPECT_TRUE(e.ok() && e->node != 0) << name;
      nodes_[name] = e->node;
    }
    return d;
  }
  std::string Read(const std::string& name) {
    std::vector<PinnedView> pins;
    std::vector<std::string_view> pieces;
    EXPECT_TRUE(fs_->Read(nodes_[name], RevFs::kNoHandle, 0, 1 << 20, &pins, &pieces).ok());
    std::string out;
    for (std::string_view p : pieces) out.append(p);
    return out;
  }
  uint64_t Stat(const char* key) {
    auto json = fs_->StatsJson();
    const std::string k = std::string("\"") + key + "\":";
    return std::stoull(json.substr(json.find(k) + k.size()));
  }
  // Expects the KernelCacheFill to have been given exactly these files, each
  // with its exact bytes.
  void ExpectGivenExactly(std::initializer_list<const char*> names) {
    std::lock_guard lock(recorder_.mu);
    ASSERT_EQ(recorder_.given.size(), names.size());
    for (const char* name : names) EXPECT_EQ(recorder_.given[nodes_[name]], files_[name]) << name;
  }
  // Waits until `n` directory jobs have finished.
  void WaitForJobs(uint64_t n) {
    for (int i = 0; i < 2000 && Stat("dirs_read_ahead") < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(Stat("dirs_read_ahead"), n);
  }

  std::map<std::string, std::string> files_;
  std::map<std::string, uint64_t> nodes_;
  std::unique_ptr<Database> rs_;
  std::unique_ptr<RevFs> fs_;
  Recorder recorder_;
};

TEST_F(DirReadAheadTest, FirstReadGivesTheLookedUpSmallSiblingsExactly) {
  const uint64_t d = Open(4u << 20);
  EXPECT_EQ(Read("a"), files_["a"]);
  WaitForJobs(1);
  // Not a (read), big (over 256 KiB), empty, sub (a directory) or z (never
  // looked up: the kernel would not know its node).
  ExpectGivenExactly({"b", "c"});
  EXPECT_EQ(Stat("files_read_ahead"), 2u);
  EXPECT_EQ(Stat("bytes_read_ahead"), 9000u);
  // z, which the kernel does not know, is decoded into the daemon's cache
  // instead (its lookup and read are likely next).
  EXPECT_EQ(Stat("files_decoded_ahead"), 1u);
  auto z = fs_->Lookup(d, "z");
  ASSERT_TRUE(z.ok() && z->node != 0);
  nodes_["z"] = z->node;
  EXPECT_EQ(Read("z"), files_["z"]);
  // Once per directory: more first reads there queue nothing. A job is
  // queued within the read that triggers it, so the count is final here,
  // and the one job queued has finished (WaitForJobs), so are the calls.
  EXPECT_EQ(Read("big"), files_["big"]);
  EXPECT_EQ(Read("b"), files_["b"]);
  EXPECT_EQ(Stat("dirs_queued"), 1u);
  EXPECT_EQ(Stat("dirs_read_ahead"), 1u);
  std::lock_guard lock(recorder_.mu);
  EXPECT_EQ(recorder_.calls, 2);
}

// Kernels without no_open read through an open handle: the same trigger.
TEST_F(DirReadAheadTest, ReadThroughAnOpenHandleTriggersItToo) {
  Open(4u << 20);
  bool keep_cache = false, direct_io = false;
  auto fh = fs_->Open(nodes_["a"], &keep_cache, &direct_io);
  ASSERT_TRUE(fh.ok()) << fh.status().ToString();
  {
    std::vector<PinnedView> pins;
    std::vector<std::string_view> pieces;
    ASSERT_TRUE(fs_->Read(nodes_["a"], *fh, 0, 1 << 20, &pins, &pieces).ok());
    ASSERT_EQ(pieces.size(), 1u);
    EXPECT_EQ(pieces[0], files_["a"]);
  }
  fs_->Release(*fh);
  WaitForJobs(1);
  ExpectGivenExactly({"b", "c"});
}

TEST_F(DirReadAheadTest, StaysWithinTheBudget) {
  Open(6000);
  Read("a");
  WaitForJobs(1);
  ExpectGivenExactly({"b"});  // b (5,000); c (4,000) would pass 6,000
}

TEST_F(DirReadAheadTest, OffMeansNothingIsGiven) {
  Open(0);
  Read("a");
  // Nothing queued by the read itself, hence no job can call the store.
  EXPECT_EQ(Stat("dirs_queued"), 0u);
  EXPECT_EQ(Stat("dirs_read_ahead"), 0u);
  std::lock_guard lock(recorder_.mu);
  EXPECT_EQ(recorder_.calls, 0);
}

TEST_F(DirReadAheadTest, StopWaitsForAStoreUnderWayAndEndsReadAhead) {
  Open(4u << 20);
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, release = false;
  int calls = 0;
  fs_->SetKernelCacheFill([&](uint64_t, const std::vector<std::string_view>&) {
    std::unique_lock lock(mu);
    ++calls;
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });  // a read of the file in flight
    return 0;
  });
  Read("a");
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return entered; }));
  }
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopped = false;
  std::thread stopper([&] {
    fs_->StopKernelCacheFill();
    std::lock_guard lock(stop_mu);
    stopped = true;
    stop_cv.notify_all();
  });
  {
    // That StopKernelCacheFill has not returned cannot be shown by any counter:
    // give it time to return wrongly, woken at once if it does.
    std::unique_lock lock(stop_mu);
    EXPECT_FALSE(stop_cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopped; }))
        << "returned while a fill was under way";
  }
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  stopper.join();
  EXPECT_TRUE(stopped);
  WaitForJobs(1);
  std::lock_guard lock(mu);
  EXPECT_EQ(calls, 1);  // c was not given once stopped
}

// A job that throws (here the KernelCacheFill) is logged and dropped: the
// thread goes on and the daemon with it (an exception escaping a thread
// would end the process, and the mount with it).
TEST_F(DirReadAheadTest, AJobThatThrowsEndsOnlyThatJob) {
  Open(4u << 20);
  std::atomic<int> calls{0};
  fs_->SetKernelCacheFill([&](uint64_t, const std::vector<std::string_view>&) -> int {
    ++calls;
    throw std::runtime_error("the kernel went away");
  });
  EXPECT_EQ(Read("a"), files_["a"]);
  WaitForJobs(1);
  EXPECT_EQ(calls.load(), 1);  // the job ended at its first store
  EXPECT_EQ(Read("b"), files_["b"]);
}

}  // namespace
}  // namespace revfs::fusefs
