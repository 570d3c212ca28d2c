// RevFs driven from eight threads at once, as the multithreaded loop does:
// lookups, readdirplus, reads, forgets, the stats file and listings of
// revisions/ and at/, while commits land and the watcher's poll sees them,
// with chunk prefetch and directory read-ahead running. Every byte read is
// checked; at the end every lookup is forgotten, no pin is held and (the
// fixture) every segment is back. The ThreadSanitizer pass runs it too.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "revfs/fusefs/fusefs.h"
#include "revfs/json.h"
#include "revfs/tree.h"
#include "support/engine_test.h"
#include "support/json_number.h"

namespace revfs::fusefs {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int kDirs = 4, kFiles = 12, kRevisions = 5;

// The bytes of d<d>/f<f> at revision `rev`: odd files change every revision.
std::string Content(int rev, int d, int f) {
  const int version = f % 2 ? rev : 1;
  std::string s(static_cast<size_t>(700 * (f + 1) + 90000 * (f == 0)), 'a');
  for (size_t i = 0; i < s.size(); ++i) {
    s[i] = static_cast<char>('a' + (i * 7 + static_cast<size_t>(d * 31 + f * 17 + version)) % 26);
  }
  return s;
}

class RevFsConcurrencyTest : public testing::EngineTest {
 protected:
  void ReleaseResources() override {
    fs_.reset();
    rs_.reset();
  }
  void WriteTree(int rev) {
    for (int d = 0; d < kDirs; ++d) {
      const std::string dir = Path("src/d" + std::to_string(d));
      std::filesystem::create_directories(dir);
      for (int f = 0; f < kFiles; ++f) {
        std::ofstream(dir + "/f" + std::to_string(f), std::ios::trunc) << Content(rev, d, f);
      }
    }
  }
  void Commit(int rev) {
    WriteTree(rev);
    CaptureOptions o;
    o.time_ns = kT0 + rev * 1'000'000'000ll;
    auto c = CaptureTree(*rs_, Path("src"), o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
  }
  uint64_t Stat(const std::string& key) {
    const long long v = testing::JsonNumber(fs_->StatsJson(), key);
    EXPECT_GE(v, 0) << key << " missing from the stats";
    return static_cast<uint64_t>(v);
  }

  std::unique_ptr<Database> rs_;
  std::unique_ptr<RevFs> fs_;
};

TEST_F(RevFsConcurrencyTest, EightThreadsWhileCommitsLand) {
  rs_ = CreateStore("store", kT0, [](DatabaseOptions* o) {
    o->memory.page_cache_bytes = 1u << 20;  // small: evictions while pinned
    o->memory.chunk_cache_bytes = 1u << 20;
  });
  ASSERT_TRUE(rs_);
  Commit(1);
  FsOptions fo;
  fo.prefetch_threads = 2;
  fs_ = std::make_unique<RevFs>(rs_.get(), fo);
  fs_->EnableNoOpen();
  std::atomic<uint64_t> stored{0};
  fs_->SetKernelCacheFill([&](uint64_t, const std::vector<std::string_view>& pieces) {
    for (std::string_view p : pieces) stored += p.size();
    return 0;
  });
  std::atomic<int> committed{1};
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0}, wrong{0}, errors{0};
  std::mutex first_mu;
  std::string first_error;  // guarded by first_mu
  auto note = [&](const std::string& what, const Status& s) {
    ++errors;
    std::lock_guard lock(first_mu);
    if (first_error.empty()) first_error = what + ": " + s.ToString();
  };
  const uint64_t fixed_nodes = Stat("nodes");

  auto worker = [&](unsigned seed) {
    std::mt19937 rng(seed);
    RevFs& fs = *fs_;
    while (!done.load()) {
      const int rev = 1 + static_cast<int>(rng() % static_cast<unsigned>(committed.load()));
      const int d = static_cast<int>(rng() % kDirs), f = static_cast<int>(rng() % kFiles);
      std::vector<uint64_t> looked_up;
      auto lookup = [&](uint64_t parent, const std::string& name) -> uint64_t {
        auto e = fs.Lookup(parent, name);
        if (!e.ok() || e->node == 0) {
          note("lookup " + name, e.ok() ? Status::NotFound("negative") : e.status());
          return 0;
        }
        looked_up.push_back(e->node);
        return e->node;
      };
      const uint64_t revs = lookup(RevFs::kRootNode, "revisions");
      const uint64_t root = revs ? lookup(revs, std::to_string(rev)) : 0;
      const uint64_t dir = root ? lookup(root, "d" + std::to_string(d)) : 0;
      switch (rng() % 4) {
        case 0: {  // read a file, whole, in pieces
          const uint64_t file = dir ? lookup(dir, "f" + std::to_string(f)) : 0;
          if (file == 0) break;
          const std::string want = Content(rev, d, f);
          std::string got;
          for (uint64_t off = 0; off < want.size(); off += 40000) {
            std::vector<PinnedView> pins;
            std::vector<std::string_view> pieces;
            Status s = fs.Read(file, RevFs::kNoHandle, off, 40000, &pins, &pieces);
            if (!s.ok()) {
              note("read", s);
              break;
            }
            for (std::string_view p : pieces) got.append(p);
          }
          ++reads;
          if (got != want) ++wrong;
          if (auto a = fs.GetAttr(file); !a.ok()) note("getattr", a.status());
          break;
        }
        case 1: {  // readdirplus of a directory, partly
          if (dir == 0) break;
          size_t room = 1 + rng() % 8;
          auto nodes = fs.ReadDirPlus(dir, rng() % 6, 16, [&](const DirItem&, const EntryReply*) {
            return room-- > 0;
          });
          if (!nodes.ok()) {
            note("readdirplus", nodes.status());
            break;
          }
          for (uint64_t n : *nodes) looked_up.push_back(n);
          break;
        }
        case 2: {  // the listings a commit changes
          for (uint64_t node : {RevFs::kRevisionsNode, RevFs::kAtNode}) {
            auto items = fs.ListDir(node);
            if (!items.ok()) note("listing", items.status());
          }
          break;
        }
        case 3: {  // the stats file
          const uint64_t meta = lookup(RevFs::kRootNode, ".revfs");
          const uint64_t stats = meta ? lookup(meta, "stats") : 0;
          if (stats == 0) break;
          std::vector<PinnedView> pins;
          std::vector<std::string_view> pieces;
          if (!fs.Read(stats, RevFs::kNoHandle, 0, 1 << 20, &pins, &pieces).ok() ||
              pieces.empty() || pieces[0].substr(0, 1) != "{") {
            ++errors;
          }
          break;
        }
      }
      for (uint64_t node : looked_up) fs.Forget(node, 1);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 8; ++t) threads.emplace_back(worker, 1000 + t);
  int seen = 0;
  for (int rev = 2; rev <= kRevisions; ++rev) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    Commit(rev);
    committed.store(rev);
    seen += fs_->PollNewRevision() ? 1 : 0;  // the watcher's job
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  done.store(true);
  for (std::thread& t : threads) t.join();
  fs_->StopKernelCacheFill();
  EXPECT_EQ(seen, kRevisions - 1);
  EXPECT_GT(reads.load(), 50u);
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_EQ(errors.load(), 0u) << "first: " << first_error;
  EXPECT_EQ(Stat("nodes"), fixed_nodes) << "every lookup forgotten";
  // Prefetchers may hold a pin for a moment after the last read.
  for (int i = 0; i < 500 && rs_->PinsHeld() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(rs_->PinsHeld(), 0u);
}

}  // namespace
}  // namespace revfs::fusefs
