// history_versions: what listing every version of one file costs as their
// number grows (tests/bench/history_memory.sh).
//
//   history_versions make DIR N   commits N revisions of a one-file tree
//                                 to DIR/store, each changing the file
//   history_versions list DIR log|readdir [CACHE_MIB]
//                                 lists the file's versions as one of its
//                                 readers does: the engine's ListVersions
//                                 (revfs log), or the mount's readdir of
//                                 history/f in requests of 100 entries (a
//                                 getdents buffer); with each of the three
//                                 caches CACHE_MIB MiB (default: the
//                                 daemon's, 160 MiB in all). Prints the
//                                 versions seen, the time, and how much the
//                                 listing raised the peak RSS
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "revfs/fusefs/fusefs.h"
#include "revfs/history.h"
#include "revfs/tree.h"

namespace revfs {
namespace {

constexpr int64_t kT0 = 1'893'456'000'000'000'000;  // 2030-01-01

long PeakRssKiB() {
  struct rusage u;
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

int Fail(const Status& s) {
  std::fprintf(stderr, "history_versions: %s\n", s.ToString().c_str());
  return 1;
}

int Make(const std::string& dir, long n) {
  const std::string src = dir + "/src", store = dir + "/store";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(src);
  if (Status s = Store::Create(store, StoreConfig{}, {}, kT0); !s.ok()) return Fail(s);
  DatabaseOptions options;
  options.store.writable = true;
  auto db = Database::Open(store, options);
  if (!db.ok()) return Fail(db.status());
  for (long r = 1; r <= n; ++r) {
    std::ofstream(src + "/f", std::ios::trunc) << "version " << r << "\n";
    CaptureOptions o;
    o.time_ns = kT0 + r * 1'000'000'000LL;
    auto c = CaptureTree(**db, src, o);
    if (!c.ok()) return Fail(c.status());
  }
  return 0;
}

int List(const std::string& dir, const std::string& what, long cache_mib) {
  DatabaseOptions options;
  if (cache_mib > 0) {
    const size_t bytes = static_cast<size_t>(cache_mib) << 20;
    options.memory.fragment_cache_bytes = bytes;
    options.memory.page_cache_bytes = bytes;
    options.memory.chunk_cache_bytes = bytes;
  }
  auto db = Database::Open(dir + "/store", options);
  if (!db.ok()) return Fail(db.status());
  fusefs::FsOptions fo;
  fo.prefetch_threads = 0;
  fusefs::RevFs fs(db->get(), fo);
  auto trx = (*db)->BeginRead((*db)->store().latest_revision());
  if (!trx.ok()) return Fail(trx.status());
  const long opened = PeakRssKiB();
  const auto start = std::chrono::steady_clock::now();
  uint64_t versions = 0;
  if (what == "log") {
    Status s = ListVersions(**trx, "f", [&](const PathVersion&) {
      ++versions;
      return true;
    });
    if (!s.ok()) return Fail(s);
  } else {
    auto f = fs.Lookup(fusefs::RevFs::kHistoryNode, "f");
    if (!f.ok() || f->node == 0) return Fail(f.ok() ? Status::NotFound("history/f") : f.status());
    for (uint64_t offset = 0;;) {
      size_t taken = 0;
      Status s = fs.ReadDir(f->node, offset, [&](const fusefs::DirItem& item) {
        if (taken == 100) return false;
        ++taken;
        if (item.name[0] == '@' && item.name != "@current") ++versions;
        return true;
      });
      if (!s.ok()) return Fail(s);
      if (taken == 0) break;
      offset += taken;
    }
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("versions %llu ms %.1f rss_growth_kib %ld\n",
              static_cast<unsigned long long>(versions), ms, PeakRssKiB() - opened);
  return 0;
}

}  // namespace
}  // namespace revfs

int main(int argc, char** argv) {
  const std::string cmd = argc > 2 ? argv[1] : "";
  if (cmd == "make" && argc == 4) return revfs::Make(argv[2], std::atol(argv[3]));
  if (cmd == "list" && (argc == 4 || argc == 5)) {
    return revfs::List(argv[2], argv[3], argc == 5 ? std::atol(argv[4]) : 0);
  }
  std::fprintf(stderr, "usage: history_versions make DIR N | list DIR log|readdir [CACHE_MIB]\n");
  return 2;
}
