// Record-layer hot paths: a warm read transaction open plus one record
// lookup, on a store with 10 revisions and on one with 10,000 (the cost must
// not grow with history), and record lookups with warm and cleared caches.
//   build/.../tests/bench/record_bench --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <filesystem>
#include <map>
#include <random>

#include "env/env.h"
#include "revfs/database.h"

namespace revfs {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr uint64_t kKeys = 100000;

// Builds the fixture stores without fdatasync: only their reads are timed.
class NoSyncEnv : public EnvWrapper {
 public:
  NoSyncEnv() : EnvWrapper(Env::Default()) {}
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& p) override {
    REVFS_ASSIGN_OR_RETURN(auto f, target()->NewAppendableFile(p));
    return std::unique_ptr<WritableFile>(std::make_unique<NoSync>(std::move(f)));
  }
  Status SyncDir(const std::string&) override { return Status::OK(); }

 private:
  struct NoSync : WritableFile {
    explicit NoSync(std::unique_ptr<WritableFile> f) : f_(std::move(f)) {}
    Status Append(std::string_view d) override { return f_->Append(d); }
    Status Sync() override { return Status::OK(); }
    Status Close() override { return f_->Close(); }
    uint64_t Size() const override { return f_->Size(); }
    std::unique_ptr<WritableFile> f_;
  };
};

// Returns an open store with `revisions` revisions (made once per process).
Database* StoreWith(uint64_t revisions) {
  static std::map<uint64_t, std::unique_ptr<Database>> stores;
  auto& rs = stores[revisions];
  if (rs) return rs.get();
  static NoSyncEnv env;
  std::string path = std::filesystem::temp_directory_path() /
                     ("revfs-bench-" + std::to_string(::getpid()) + "-" + std::to_string(revisions));
  std::filesystem::remove_all(path);
  if (!Store::Create(path, StoreConfig{}, StoreOptions{&env, false}, kT0).ok()) std::abort();
  DatabaseOptions options;
  options.store = StoreOptions{&env, true};
  rs = std::move(Database::Open(path, options)).value();
  std::mt19937_64 rng(1);
  for (uint64_t rev = 1; rev <= revisions; ++rev) {
    auto trx = std::move(rs->BeginWrite()).value();
    if (rev == 1) {
      for (uint64_t k = 0; k < kKeys; ++k) (void)trx->Put(k, "initial value of key " + std::to_string(k));
    } else {
      for (int i = 0; i < 10; ++i) (void)trx->Put(rng() % kKeys, "rev " + std::to_string(rev));
    }
    if (!trx->Commit(kT0 + static_cast<int64_t>(rev), "").ok()) std::abort();
  }
  // The fixture stores live until the process ends; remove them then.
  static struct Cleanup {
    std::vector<std::string> paths;
    ~Cleanup() {
      for (const auto& p : paths) std::filesystem::remove_all(p);
    }
  } cleanup;
  cleanup.paths.push_back(path);
  return rs.get();
}

void BM_WarmReadTrxOpenAndGet(benchmark::State& state) {
  Database* rs = StoreWith(static_cast<uint64_t>(state.range(0)));
  const uint64_t latest = rs->store().latest_revision();
  std::mt19937_64 rng(2);
  // Warm up: every revision's root known, the hot pages cached.
  for (uint64_t r = 0; r <= latest; ++r) (void)rs->BeginRead(r);
  for (int i = 0; i < 20000; ++i) {
    auto trx = std::move(rs->BeginRead(latest - rng() % std::min<uint64_t>(latest, 8))).value();
    (void)trx->Get(rng() % 64);
  }
  for (auto _ : state) {
    auto trx = std::move(rs->BeginRead(latest - rng() % std::min<uint64_t>(latest, 8))).value();
    auto rec = trx->Get(rng() % 64);
    benchmark::DoNotOptimize(rec);
  }
}
BENCHMARK(BM_WarmReadTrxOpenAndGet)->Arg(10)->Arg(10000)->Unit(benchmark::kMicrosecond);

void BM_GetWarm(benchmark::State& state) {
  Database* rs = StoreWith(10);
  auto trx = std::move(rs->BeginRead(rs->store().latest_revision())).value();
  std::mt19937_64 rng(3);
  for (uint64_t k = 0; k < kKeys; ++k) (void)trx->Get(k);
  for (auto _ : state) {
    auto rec = trx->Get(rng() % kKeys);
    benchmark::DoNotOptimize(rec);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetWarm);

// Engine caches cleared before each lookup (the OS page cache stays warm).
void BM_GetColdCaches(benchmark::State& state) {
  Database* rs = StoreWith(10);
  auto trx = std::move(rs->BeginRead(rs->store().latest_revision())).value();
  std::mt19937_64 rng(4);
  for (auto _ : state) {
    state.PauseTiming();
    rs->ClearCaches();
    state.ResumeTiming();
    auto rec = trx->Get(rng() % kKeys);
    benchmark::DoNotOptimize(rec);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetColdCaches);

}  // namespace
}  // namespace revfs

BENCHMARK_MAIN();
