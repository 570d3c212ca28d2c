// history_versions: what listing every version of one file costs as their
// number grows (tests/bench/history_memory.sh).
//
//   history_versions make DIR N   commits N revisions of a one-file tree
//                                 to DIR/store, each changing the file
//   history_versions list DIR     lists the file's versions in a fresh
//                                 process, as its readers do: the engine's
//                                 ListVersions (revfs log), then the mount's
//                                 readdir of history/f in requests of 100
//                                 entries (a getdents buffer), and prints
//                                 the versions each saw, its time, and the
//                                 process's peak RSS over the opened store
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

int List(const std::string& dir) {
  DatabaseOptions options;
  auto db = Database::Open(dir + "/store", options);
  if (!db.ok()) return Fail(db.status());
  auto trx = (*db)->BeginRead((*db)->store().latest_revision());
  if (!trx.ok()) return Fail(trx.status());
  const long opened = PeakRssKiB();
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::time_point a) {
    return std::chrono::duration<double, std::milli>(Clock::now() - a).count();
  };

  auto t = Clock::now();
  uint64_t logged = 0;
  Status s = ListVersions(**trx, "f", [&](const PathVersion&) {
    ++logged;
    return true;
  });
  if (!s.ok()) return Fail(s);
  const double log_ms = ms(t);
  const long after_log = PeakRssKiB();

  fusefs::FsOptions fo;
  fo.prefetch_threads = 0;
  fusefs::RevFs fs(db->get(), fo);
  t = Clock::now();
  auto f = fs.Lookup(fusefs::RevFs::kHistoryNode, "f");
  if (!f.ok() || f->node == 0) return Fail(f.ok() ? Status::NotFound("history/f") : f.status());
  uint64_t listed = 0;
  for (uint64_t offset = 0;;) {
    size_t taken = 0;
    s = fs.ReadDir(f->node, offset, [&](const fusefs::DirItem& item) {
      if (taken == 100) return false;
      ++taken;
      if (item.name[0] == '@' && item.name != "@current") ++listed;
      return true;
    });
    if (!s.ok()) return Fail(s);
    if (taken == 0) break;
    offset += taken;
  }
  const double mount_ms = ms(t);
  std::printf("versions %llu %llu log_ms %.1f readdir_ms %.1f rss_opened_kib %ld "
              "rss_log_growth_kib %ld rss_readdir_growth_kib %ld\n",
              static_cast<unsigned long long>(logged), static_cast<unsigned long long>(listed),
              log_ms, mount_ms, opened, after_log - opened, PeakRssKiB() - after_log);
  return 0;
}

}  // namespace
}  // namespace revfs

int main(int argc, char** argv) {
  const std::string cmd = argc > 2 ? argv[1] : "";
  if (cmd == "make" && argc == 4) return revfs::Make(argv[2], std::atol(argv[3]));
  if (cmd == "list" && argc == 3) return revfs::List(argv[2]);
  std::fprintf(stderr, "usage: history_versions make DIR N | list DIR\n");
  return 2;
}
