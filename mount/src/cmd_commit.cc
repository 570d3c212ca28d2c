// revfs commit STORE DIR [-m MSG] [--time T] [--full-scan] [--exclude
// PATTERN]... [--exclude-from FILE]...: captures DIR as the next revision,
// leaving out what the gitignore-style patterns match (recorded with it). An entry that cannot be read is skipped and named on
// stderr; the revision is then partial and the exit status 2.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "cli.h"
#include "revfs/time_util.h"
#include "revfs/tree.h"

namespace revfs::cli {

Command AddCommitCommand(CLI::App& app) {
  struct Args {
    std::string store, dir, message, time;
    bool full_scan = false;
    ExcludeArgs exclude;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "commit", "Record a directory tree as the next revision (exit 2 if entries were skipped)");
  cmd->add_option("STORE", args->store, "The store")->required();
  cmd->add_option("DIR", args->dir, "The directory to record")->required();
  cmd->add_option("-m,--message", args->message, "Commit message");
  cmd->add_option("--time", args->time,
                  "Commit time, ISO-8601 (default: now); not earlier than the last commit");
  cmd->add_flag("--full-scan", args->full_scan, "Read every file, even those that look unchanged");
  AddExcludeOptions(cmd, &args->exclude);
  return {cmd, [args] {
    CaptureOptions options;
    options.message = args->message;
    options.full_scan = args->full_scan;
    auto exclude = LoadExcludes(args->exclude);
    if (!exclude.ok()) return Fail(exclude.status());
    options.exclude = std::move(exclude).value();
    if (!args->time.empty()) {
      auto t = ParseTime(args->time);
      if (!t.ok()) return Fail(t.status().WithContext("--time"));
      options.time_ns = *t;
    }
    const bool tty = ::isatty(STDERR_FILENO) == 1;
    options.on_skip = [tty](const std::string& path, const Status& why) {
      std::fprintf(stderr, "%srevfs: skipped %s: %.*s\n", tty ? "\r\033[K" : "", path.c_str(),
                   static_cast<int>(why.message().size()), why.message().data());
    };
    double last_line = 0;
    options.on_progress = [tty, &last_line](const CaptureProgress& p) {
      const double mib = static_cast<double>(p.bytes_read) / (1 << 20);
      if (tty) {
        std::fprintf(stderr, "\r\033[K%llu entries, %.1f MiB read, %.1f MiB/s",
                     static_cast<unsigned long long>(p.files), mib, mib / std::max(p.seconds, 1e-3));
      } else if (p.seconds - last_line >= 5) {
        last_line = p.seconds;
        std::fprintf(stderr, "revfs: commit: %llu entries, %.1f MiB read\n",
                     static_cast<unsigned long long>(p.files), mib);
      }
    };
    DatabaseOptions db_options;
    db_options.store.writable = true;
    auto db = Database::Open(args->store, db_options);
    if (!db.ok()) return Fail(db.status());
    auto summary = CaptureTree(**db, args->dir, options);
    if (tty) std::fprintf(stderr, "\r\033[K");
    if (!summary.ok()) return Fail(summary.status().WithContext("commit"));
    const CaptureSummary& s = *summary;
    std::printf(
        "committed revision %llu: %llu files (%llu unchanged), %llu directories, %llu other; "
        "%.1f MiB read, %.1f MiB new, %.1f MiB stored\n",
        static_cast<unsigned long long>(s.revision), static_cast<unsigned long long>(s.files),
        static_cast<unsigned long long>(s.unchanged), static_cast<unsigned long long>(s.directories),
        static_cast<unsigned long long>(s.others), static_cast<double>(s.bytes_read) / (1 << 20),
        static_cast<double>(s.content.bytes_new) / (1 << 20),
        static_cast<double>(s.content.bytes_stored) / (1 << 20));
    if (s.skipped > 0) {
      std::fprintf(stderr, "revfs: commit: %llu entries skipped; revision %llu is partial\n",
                   static_cast<unsigned long long>(s.skipped),
                   static_cast<unsigned long long>(s.revision));
      return kExitPartial;
    }
    return kExitOk;
  }};
}

}  // namespace revfs::cli
