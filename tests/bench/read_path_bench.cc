// Read-path hot paths below the mount: loading a leaf page that combines N
// fragments (caches cleared each time; the sliding window bounds N), and
// decoding one content chunk stored raw, zstd-compressed, or as a zstd delta
// against its previous version (the chunk cache entry erased each time; the
// stored page comes from the OS page cache).
//   build/.../tests/bench/read_path_bench --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "content/chunk_loader.h"
#include "revfs/database.h"
#include "revfs/tree.h"

namespace revfs {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;

std::string TempPath(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("revfs-rpbench-" + std::to_string(::getpid()) + "-" + name);
}

struct Cleanup {
  std::vector<std::string> paths;
  ~Cleanup() {
    for (const auto& p : paths) std::filesystem::remove_all(p);
  }
};
Cleanup& cleanup() {
  static Cleanup c;
  return c;
}

// A store whose leaf 0 has a chain of `window` fragments (sliding window).
Database* FragmentStore(int window) {
  static std::map<int, std::unique_ptr<Database>> stores;
  auto& rs = stores[window];
  if (rs) return rs.get();
  const std::string path = TempPath("frag" + std::to_string(window));
  std::filesystem::remove_all(path);
  cleanup().paths.push_back(path);
  StoreConfig config;
  config.versioning = Versioning::kSliding;
  config.window = static_cast<uint32_t>(window);
  if (!Store::Create(path, config, {}, kT0).ok()) std::abort();
  DatabaseOptions options;
  options.store.writable = true;
  rs = std::move(Database::Open(path, options)).value();
  for (int rev = 1; rev <= window; ++rev) {
    auto trx = std::move(rs->BeginWrite()).value();
    // Every revision changes some records of leaf 0 (records 0..127).
    for (uint64_t k = static_cast<uint64_t>(rev); k < 128; k += static_cast<uint64_t>(window)) {
      (void)trx->Put(k, std::string(40, static_cast<char>('a' + rev)));
    }
    if (!trx->Commit(kT0 + rev, "").ok()) std::abort();
  }
  return rs.get();
}

void BM_LeafLoadCombiningFragments(benchmark::State& state) {
  Database* rs = FragmentStore(static_cast<int>(state.range(0)));
  const uint64_t latest = rs->store().latest_revision();
  for (auto _ : state) {
    rs->ClearCaches();
    auto trx = std::move(rs->BeginRead(latest)).value();
    auto v = trx->Get(1);
    if (!v.ok()) std::abort();
    benchmark::DoNotOptimize(v);
  }
  state.counters["fragments"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_LeafLoadCombiningFragments)->Arg(2)->Arg(4)->Arg(8)->Arg(16)->Unit(benchmark::kMicrosecond);

// A store holding text (zstd), random bytes (raw) and an edit of the text
// (a delta against the first version), one chunk each.
struct ChunkFixture {
  std::unique_ptr<Database> rs;
  std::map<std::string, ChunkRef> chunks;  // "raw", "zstd", "delta"
};
ChunkFixture& Chunks() {
  static ChunkFixture f;
  if (f.rs) return f;
  const std::string path = TempPath("chunks"), src = TempPath("chunks-src");
  std::filesystem::remove_all(path);
  std::filesystem::remove_all(src);
  cleanup().paths.push_back(path);
  cleanup().paths.push_back(src);
  std::filesystem::create_directories(src);
  if (!Store::Create(path, StoreConfig{}, {}, kT0).ok()) std::abort();
  DatabaseOptions options;
  options.store.writable = true;
  f.rs = std::move(Database::Open(path, options)).value();
  std::mt19937 rng(3);
  std::string text, random(200000, '\0');
  for (int i = 0; i < 12000; ++i) text += "value " + std::to_string(rng() % 100000) + ";\n";
  for (char& c : random) c = static_cast<char>(rng());
  std::ofstream(src + "/text") << text;
  std::ofstream(src + "/random") << random;
  CaptureOptions o;
  o.time_ns = kT0 + 1;
  if (!CaptureTree(*f.rs, src, o).ok()) std::abort();
  text.insert(text.size() / 2, "an edit\n");
  std::ofstream(src + "/text", std::ios::trunc) << text;
  o.time_ns = kT0 + 2;
  if (!CaptureTree(*f.rs, src, o).ok()) std::abort();
  auto first = std::move(f.rs->BeginRead(1)).value();
  auto second = std::move(f.rs->BeginRead(2)).value();
  f.chunks["zstd"] = ResolvePath(*first, "text")->second.chunks.at(0);
  f.chunks["raw"] = ResolvePath(*first, "random")->second.chunks.at(0);
  f.chunks["delta"] = ResolvePath(*second, "text")->second.chunks.at(0);
  return f;
}

void ChunkDecode(benchmark::State& state, const char* which) {
  ChunkFixture& f = Chunks();
  const ChunkRef c = f.chunks.at(which);
  // The delta's base stays cached: only the delta itself is decoded.
  const Key128 key{c.hash.Word(0), c.hash.Word(1)};
  for (auto _ : state) {
    f.rs->chunk_loader().cache().Erase(key);
    auto pin = f.rs->chunk_loader().Chunk(c.hash, c.page, c.length);
    if (!pin.ok()) std::abort();
    benchmark::DoNotOptimize(pin->bytes().data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * c.length);
}
void BM_ChunkDecodeRaw(benchmark::State& state) { ChunkDecode(state, "raw"); }
void BM_ChunkDecodeZstd(benchmark::State& state) { ChunkDecode(state, "zstd"); }
void BM_ChunkDecodeDelta(benchmark::State& state) { ChunkDecode(state, "delta"); }
BENCHMARK(BM_ChunkDecodeRaw)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ChunkDecodeZstd)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ChunkDecodeDelta)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace revfs

BENCHMARK_MAIN();
