// Decoding a chunk once, and never making a reader wait for a background
// thread: two readers that miss the same chunk see one decode, and a reader
// finding a chunk being decoded by an idle-priority prefetcher decodes it
// itself rather than wait for that thread to be given a CPU.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "content/chunk_loader.h"
#include "content/compression.h"
#include "util/hash.h"
#include "revfs/database.h"
#include "support/engine_test.h"

namespace revfs::testing {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kT0 = 1'700'000'000'000'000'000;

// A one-shot gate: threads wait until it is opened.
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }
  // Returns whether the gate opened within `timeout`.
  bool WaitFor(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

class ChunkDecodeTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    const std::string path = Path("store");
    ASSERT_TRUE(Store::Create(path, StoreConfig{}, {}, kT0).ok());
    DatabaseOptions options;
    options.store.writable = true;
    options.memory.shared_allocator = allocator();
    options.memory.chunk_miss_hook = [this](const Digest256&) {
      if (on_miss_) on_miss_();
    };
    options.memory.chunk_decode_hook = [this](const Digest256&) {
      if (on_decode_) on_decode_();
    };
    auto rs = Database::Open(path, options);
    ASSERT_TRUE(rs.ok()) << rs.status().ToString();
    rs_ = std::move(rs).value();

    std::mt19937_64 rng(7);
    raw_.resize(300000);
    for (char& c : raw_) c = static_cast<char>(rng());
    hash_ = HashBytes(raw_);
    auto trx = rs_->BeginWrite();
    ASSERT_TRUE(trx.ok());
    ChunkPageHeader header;
    header.encoding = ChunkEncoding::kRaw;
    header.raw_size = static_cast<uint32_t>(raw_.size());
    header.hash = hash_;
    auto ref = (*trx)->AppendPage(PageKind::kChunk, EncodeChunkPage(header, raw_));
    ASSERT_TRUE(ref.ok());
    page_ = *ref;
    ASSERT_TRUE((*trx)->Commit(kT0 + 1, "chunk").ok());
    rs_->ClearCaches();
  }
  void ReleaseResources() override { rs_.reset(); }

  // Reads the chunk; returns whether it came back with its exact bytes.
  bool ReadChunk() {
    auto got = rs_->chunk_loader().Chunk(hash_, page_, static_cast<uint32_t>(raw_.size()));
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() && got->bytes() == raw_;
  }
  uint64_t Decodes() { return rs_->chunk_loader().cache().stats().inserts; }

  std::unique_ptr<Database> rs_;
  std::string raw_;
  Digest256 hash_;
  PageRef page_;
  std::function<void()> on_miss_;
  std::function<void()> on_decode_;
};

thread_local bool paused_thread = false;

// The window between a reader's cache miss and its registering the decode:
// another reader's whole decode fits in it. The first reader must find the
// chunk cached after registering, not decode it a second time.
TEST_F(ChunkDecodeTest, TwoReadersOfAChunkSeeOneDecode) {
  Gate missed, other_done;
  on_miss_ = [&] {
    if (!paused_thread) return;
    missed.Open();
    other_done.Wait();
  };
  std::thread first([&] {
    paused_thread = true;
    EXPECT_TRUE(ReadChunk());
  });
  missed.Wait();
  EXPECT_TRUE(ReadChunk());  // the second reader decodes while the first is paused
  other_done.Open();
  first.join();
  EXPECT_EQ(Decodes(), 1u);
  EXPECT_EQ(rs_->PinsHeld(), 0u);
}

// A prefetch thread (marked background, and at idle priority in the mount)
// has registered the decode and is not running. A reader asking for the
// chunk must not wait for it.
TEST_F(ChunkDecodeTest, ReaderDoesNotWaitForABackgroundDecode) {
  Gate decoding, resume;
  on_decode_ = [&] {
    if (!ChunkLoader::IsBackgroundThread()) return;
    decoding.Open();
    resume.Wait();  // the prefetcher gets no CPU until the test says so
  };
  std::thread prefetcher([&] {
    ChunkLoader::MarkBackgroundThread();
    EXPECT_TRUE(ReadChunk());
  });
  decoding.Wait();
  auto reader = std::async(std::launch::async, [&] { return ReadChunk(); });
  const bool reader_done = reader.wait_for(5s) == std::future_status::ready;
  EXPECT_TRUE(reader_done) << "the reader waited for the paused background decode";
  resume.Open();
  EXPECT_TRUE(reader.get());
  prefetcher.join();
  EXPECT_EQ(Decodes(), 2u);  // the reader's and the prefetcher's
  EXPECT_EQ(rs_->PinsHeld(), 0u);
  EXPECT_FALSE(ChunkLoader::IsBackgroundThread());
}

// A second reader arriving while the first reader decodes past a paused
// prefetcher waits for that reader (one foreground decode), and a second
// prefetcher waits too: three threads, two decodes.
TEST_F(ChunkDecodeTest, ReadersShareTheirOwnDecodeAndPrefetchersWait) {
  Gate bg_decoding, bg_resume, fg_decoding, fg_resume;
  std::atomic<int> decodes_started{0};
  on_decode_ = [&] {
    decodes_started.fetch_add(1);
    if (ChunkLoader::IsBackgroundThread()) {
      bg_decoding.Open();
      bg_resume.Wait();
    } else if (paused_thread) {
      fg_decoding.Open();
      fg_resume.Wait();
    }
  };
  std::thread prefetcher([&] {
    ChunkLoader::MarkBackgroundThread();
    EXPECT_TRUE(ReadChunk());
  });
  bg_decoding.Wait();
  std::thread first([&] {
    paused_thread = true;
    EXPECT_TRUE(ReadChunk());
  });
  if (!fg_decoding.WaitFor(5s)) {
    ADD_FAILURE() << "the first reader waited for the paused background decode";
    bg_resume.Open();
    fg_resume.Open();
    first.join();
    prefetcher.join();
    return;
  }
  std::thread second([&] { EXPECT_TRUE(ReadChunk()); });
  std::thread prefetcher2([&] {
    ChunkLoader::MarkBackgroundThread();
    EXPECT_TRUE(ReadChunk());
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(decodes_started.load(), 2);  // the second reader and prefetcher wait
  fg_resume.Open();
  second.join();
  first.join();
  bg_resume.Open();
  prefetcher.join();
  prefetcher2.join();
  EXPECT_EQ(decodes_started.load(), 2);
  EXPECT_EQ(Decodes(), 2u);
  EXPECT_EQ(rs_->PinsHeld(), 0u);
}

// Pins held, as reported in the stats, while readers pin and unpin a
// cached chunk as fast as they can: never more than the readers hold (it
// once read the counters of pins taken and released apart, and a release
// counted in between made it wrap to about 2^64).
TEST_F(ChunkDecodeTest, PinsHeldNeverExceedsThePinsReadersHold) {
  constexpr int kThreads = 2;
  ASSERT_TRUE(ReadChunk());
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < kThreads; ++t) {
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        auto hit = rs_->chunk_loader().Chunk(hash_, page_, static_cast<uint32_t>(raw_.size()));
        if (!hit.ok()) return;
      }
    });
  }
  uint64_t most = 0;
  const auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until) {
    most = std::max(most, rs_->PinsHeld());
  }
  stop.store(true);
  for (std::thread& r : readers) r.join();
  EXPECT_LE(most, static_cast<uint64_t>(kThreads));
  EXPECT_EQ(rs_->PinsHeld(), 0u);
}

}  // namespace
}  // namespace revfs::testing
