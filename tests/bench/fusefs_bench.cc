// The FUSE handlers without the kernel: RevFs::Lookup, GetAttr and Read (by
// node, as in no_open mode) called as the callbacks call them, on a revision
// of 1,000 files in 20 directories, with warm caches (what a request costs
// the daemon once the pages are in memory; the kernel round trip comes on
// top).
//   build/.../tests/bench/fusefs_bench --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>

#include "revfs/fusefs/fusefs.h"
#include "revfs/tree.h"

namespace revfs::fusefs {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;

struct Fixture {
  std::string path, src;
  std::unique_ptr<Database> rs;
  std::unique_ptr<RevFs> fs;
  uint64_t dir = 0;   // node of revisions/1/d7
  uint64_t file = 0;  // node of revisions/1/d7/f42
  ~Fixture() {
    fs.reset();
    rs.reset();
    std::filesystem::remove_all(path);
    std::filesystem::remove_all(src);
  }
};

Fixture& F() {
  static Fixture f;
  if (f.fs) return f;
  const std::string base = std::filesystem::temp_directory_path() /
                           ("revfs-fsbench-" + std::to_string(::getpid()));
  f.path = base + "-store";
  f.src = base + "-src";
  for (int d = 0; d < 20; ++d) {
    std::filesystem::create_directories(f.src + "/d" + std::to_string(d));
    for (int i = 0; i < 50; ++i) {
      std::ofstream(f.src + "/d" + std::to_string(d) + "/f" + std::to_string(i))
          << std::string(20000 + i * 100, static_cast<char>('a' + i % 26));
    }
  }
  if (!Store::Create(f.path, StoreConfig{}, {}, kT0).ok()) std::abort();
  DatabaseOptions options;
  options.store.writable = true;
  f.rs = std::move(Database::Open(f.path, options)).value();
  CaptureOptions o;
  o.time_ns = kT0 + 1;
  if (!CaptureTree(*f.rs, f.src, o).ok()) std::abort();
  FsOptions fo;
  fo.prefetch_threads = 0;  // the handlers alone
  f.fs = std::make_unique<RevFs>(f.rs.get(), fo);
  auto revisions = f.fs->Lookup(RevFs::kRootNode, "revisions");
  auto rev = f.fs->Lookup(revisions->node, "1");
  f.dir = f.fs->Lookup(rev->node, "d7")->node;
  f.file = f.fs->Lookup(f.dir, "f42")->node;
  return f;
}

void BM_Lookup(benchmark::State& state) {
  Fixture& f = F();
  for (auto _ : state) {
    auto r = f.fs->Lookup(f.dir, "f13");
    if (!r.ok()) std::abort();
    f.fs->Forget(r->node, 1);
  }
}
BENCHMARK(BM_Lookup);

void BM_GetAttr(benchmark::State& state) {
  Fixture& f = F();
  for (auto _ : state) {
    auto a = f.fs->GetAttr(f.file);
    if (!a.ok()) std::abort();
    benchmark::DoNotOptimize(a->st.st_size);
  }
}
BENCHMARK(BM_GetAttr);

void BM_ReadByNode(benchmark::State& state) {
  Fixture& f = F();
  const size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    std::vector<PinnedView> pins;
    std::vector<std::string_view> pieces;
    if (!f.fs->Read(f.file, RevFs::kNoHandle, 0, size, &pins, &pieces).ok()) std::abort();
    benchmark::DoNotOptimize(pieces.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(size));
}
BENCHMARK(BM_ReadByNode)->Arg(4096)->Arg(16384);

void BM_ListDir(benchmark::State& state) {
  Fixture& f = F();
  for (auto _ : state) {
    auto items = f.fs->ListDir(f.dir);
    if (!items.ok()) std::abort();
    benchmark::DoNotOptimize(items->size());
  }
}
BENCHMARK(BM_ListDir)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace revfs::fusefs

BENCHMARK_MAIN();
