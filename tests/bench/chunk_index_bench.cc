// The chunk index at scale (engine/FORMAT.md, "A chunk index without a
// ceiling"), on chunks of 24 bytes so that millions fit a few minutes:
//
//   chunk_index_bench cost DIR [MAX=10000000] [BATCH=100000] [PROBE=10000]
//     Fills a new store's index in commits of BATCH chunks; at 10^5, 10^6,
//     10^7 ... chunks (up to MAX) makes 5 commits of PROBE new chunks and
//     prints, per new chunk: commit time (median of the 5, and averaged over
//     the whole fill since the last point, merges included), bytes written
//     (all, and the index's leaves), index lookups and records read.
//   chunk_index_bench dedup DIR [N=20000000] [BATCH=100000]
//     Stores N distinct chunks, then all of them again: the second pass's
//     new bytes against the first's (goal <= 1 %), lookups and records read
//     per chunk, and both passes' times.
//
// DIR must not exist; it is removed at the end.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "revfs/database.h"
#include "tree/file_chunks.h"
// Also builds against an engine from before the runs (a before/after run):
// there the index_* counters are 0.
#if __has_include("tree/chunk_index.h")
#include "tree/chunk_index.h"
#define REVFS_HAVE_CHUNK_INDEX 1
#endif

namespace revfs {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;

struct Pass {
  double seconds = 0;
  uint64_t chunks_new = 0, chunks_reused = 0, bytes_new = 0;
  std::map<std::string, uint64_t> counters;  // the revision's, summed over commits
};

std::string ChunkBytes(uint64_t i) {
  std::string s = "chunk-index-bench";
  s.resize(24, '\0');
  std::memcpy(s.data() + 16, &i, sizeof(i));
  return s;
}

class Bench {
 public:
  explicit Bench(const std::string& dir) : dir_(dir) {
    if (std::filesystem::exists(dir)) Die(dir + ": exists");
    if (!Store::Create(dir, StoreConfig{}, {}, kT0).ok())
      Die(dir + ": cannot create a store");
    DatabaseOptions options;
    options.store.writable = true;
    auto db = Database::Open(dir, options);
    if (!db.ok()) Die(db.status().ToString());
    db_ = std::move(db).value();
  }
  ~Bench() {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Stores chunks [first, first + n) in one commit.
  Pass Commit(uint64_t first, uint64_t n) {
    Pass p;
    const auto t0 = std::chrono::steady_clock::now();
    auto trx = db_->BeginWrite();
    if (!trx.ok()) Die(trx.status().ToString());
    ContentStats stats;
    for (uint64_t i = first; i < first + n; ++i) {
      auto ref = StoreChunk(**trx, *db_, ChunkBytes(i), 0, &stats);
      if (!ref.ok()) Die(ref.status().ToString());
    }
#ifdef REVFS_HAVE_CHUNK_INDEX
    auto counters = ChunkIndex::Counters(**trx);
#else
    std::vector<std::pair<std::string, uint64_t> > counters;
#endif
    auto rev = (*trx)->Commit(kT0 + static_cast<int64_t>(++commits_), "", std::move(counters));
    if (!rev.ok()) Die(rev.status().ToString());
    p.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    p.chunks_new = stats.chunks_new;
    p.chunks_reused = stats.chunks_reused;
    p.bytes_new = stats.bytes_stored;
    auto root = db_->store().ReadRevisionRoot(*rev);
    if (!root.ok()) Die(root.status().ToString());
    // Counters of 0 are left out of a revision: Counter() gives them as 0.
    for (const char* name :
         {"bytes_written", "bytes_leaves_chunk_index", "bytes_leaves_chunk_log",
          "bytes_indirect", "pages_written", "index_lookups", "index_records_read",
          "index_filter_rejects", "index_runs", "index_runs_written",
          "index_entries_written", "index_entries_dropped"}) {
      p.counters[name] = root->Counter(name);
    }
    return p;
  }

  static void Add(Pass* sum, const Pass& p) {
    sum->seconds += p.seconds;
    sum->chunks_new += p.chunks_new;
    sum->chunks_reused += p.chunks_reused;
    sum->bytes_new += p.bytes_new;
    for (const auto& [name, value] : p.counters) {
      if (name != "index_runs") sum->counters[name] += value;
    }
    sum->counters["index_runs"] = p.counters.at("index_runs");
  }

  [[noreturn]] static void Die(const std::string& what) {
    std::fprintf(stderr, "chunk_index_bench: %s\n", what.c_str());
    std::exit(1);
  }

 private:
  const std::string dir_;
  std::unique_ptr<Database> db_;
  uint64_t commits_ = 0;
};

double PerChunk(const Pass& p, const char* counter) {
  return static_cast<double>(p.counters.at(counter)) /
         static_cast<double>(p.chunks_new);
}

int Cost(const std::string& dir, uint64_t max, uint64_t batch, uint64_t probe) {
  Bench bench(dir);
  std::printf(
      "| chunks in the index | runs | us / new chunk (median of 5 commits of "
      "%llu) | "
      "us / chunk (fill since the last row) | bytes written / chunk (median) | "
      "index leaf bytes / chunk (fill) | lookups / chunk | records read / "
      "chunk |\n",
      static_cast<unsigned long long>(probe));
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  uint64_t next = 0;
  for (uint64_t point = 100000; point <= max; point *= 10) {
    Pass fill;
    while (next < point) {
      const uint64_t n = std::min(batch, point - next);
      Bench::Add(&fill, bench.Commit(next, n));
      next += n;
    }
    std::vector<double> us, written;
    Pass last;
    for (int k = 0; k < 5; ++k) {
      last = bench.Commit(next, probe);
      next += probe;
      us.push_back(last.seconds * 1e6 / static_cast<double>(probe));
      written.push_back(PerChunk(last, "bytes_written"));
    }
    std::sort(us.begin(), us.end());
    std::sort(written.begin(), written.end());
    const double index_bytes =
        (static_cast<double>(fill.counters["bytes_leaves_chunk_index"]) +
         static_cast<double>(fill.counters["bytes_leaves_chunk_log"])) /
        static_cast<double>(fill.chunks_new);
    std::printf("| %llu | %llu | %.2f | %.2f | %.0f | %.0f | %.2f | %.3f |\n",
                static_cast<unsigned long long>(point),
                static_cast<unsigned long long>(last.counters["index_runs"]),
                us[2],
                fill.seconds * 1e6 / static_cast<double>(fill.chunks_new),
                written[2], index_bytes, PerChunk(last, "index_lookups"),
                PerChunk(last, "index_records_read"));
    std::fflush(stdout);
  }
  return 0;
}

int Dedup(const std::string& dir, uint64_t n, uint64_t batch) {
  Bench bench(dir);
  Pass first, second;
  for (uint64_t at = 0; at < n; at += batch)
    Bench::Add(&first, bench.Commit(at, std::min(batch, n - at)));
  for (uint64_t at = 0; at < n; at += batch)
    Bench::Add(&second, bench.Commit(at, std::min(batch, n - at)));
  std::printf(
      "| pass | chunks | new | reused | new bytes stored | seconds | us / "
      "chunk | "
      "records read / lookup | filter rejects / lookup | runs at the end | "
      "entries dropped |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const auto* p : {&first, &second}) {
    const double l = static_cast<double>(p->counters.at("index_lookups"));
    std::printf(
        "| %s | %llu | %llu | %llu | %llu | %.1f | %.2f | %.3f | %.2f | %llu | "
        "%llu |\n",
        p == &first ? "first" : "again", static_cast<unsigned long long>(n),
        static_cast<unsigned long long>(p->chunks_new),
        static_cast<unsigned long long>(p->chunks_reused),
        static_cast<unsigned long long>(p->bytes_new), p->seconds,
        p->seconds * 1e6 / static_cast<double>(n),
        static_cast<double>(p->counters.at("index_records_read")) / l,
        static_cast<double>(p->counters.at("index_filter_rejects")) / l,
        static_cast<unsigned long long>(p->counters.at("index_runs")),
        static_cast<unsigned long long>(
            p->counters.at("index_entries_dropped")));
  }
  const double ratio = static_cast<double>(second.bytes_new) /
                       static_cast<double>(first.bytes_new);
  std::printf(
      "\nnew bytes of the second pass / the first: %.6f (goal <= 0.01)\n",
      ratio);
  return ratio <= 0.01 ? 0 : 2;
}

}  // namespace
}  // namespace revfs

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  auto arg = [&](int i, uint64_t def) {
    return argc > i ? std::stoull(argv[i]) : def;
  };
  if (mode == "cost" && argc >= 3) {
    return revfs::Cost(argv[2], arg(3, 10000000), arg(4, 100000),
                       arg(5, 10000));
  }
  if (mode == "dedup" && argc >= 3)
    return revfs::Dedup(argv[2], arg(3, 20000000), arg(4, 100000));
  std::fprintf(stderr,
               "usage: chunk_index_bench cost DIR [MAX] [BATCH] [PROBE]\n"
               "       chunk_index_bench dedup DIR [N] [BATCH]\n");
  return 2;
}
