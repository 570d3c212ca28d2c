// Decoding a chunk once: two readers that miss the same chunk see one
// decode.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "revfs/compression.h"
#include "revfs/hash.h"
#include "revfs/record_store.h"
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
    RecordStoreOptions options;
    options.store.writable = true;
    options.memory.shared_allocator = allocator();
    options.memory.chunk_miss_hook = [this](const Hash128&) {
      if (on_miss_) on_miss_();
    };
    options.memory.chunk_decode_hook = [this](const Hash128&) {
      if (on_decode_) on_decode_();
    };
    auto rs = RecordStore::Open(path, options);
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
    rs_->loader().Clear();
  }
  void ReleaseResources() override { rs_.reset(); }

  // Reads the chunk; returns whether it came back with its exact bytes.
  bool ReadChunk() {
    auto got = rs_->loader().Chunk(hash_, page_, static_cast<uint32_t>(raw_.size()));
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() && got->bytes() == raw_;
  }
  uint64_t Decodes() { return rs_->loader().chunk_cache().stats().inserts; }

  std::unique_ptr<RecordStore> rs_;
  std::string raw_;
  Hash128 hash_;
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
  EXPECT_EQ(rs_->loader().PinsHeld(), 0u);
}

}  // namespace
}  // namespace revfs::testing
