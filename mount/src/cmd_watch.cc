// revfs watch STORE DIR [-f] [--debounce SEC] [--max-delay SEC] [--exclude
// PATTERN]... [--exclude-from FILE]... [--watcher auto|fanotify|inotify]:
// continuous capture. Watches DIR (source_watch.h) before a first full walk
// (a fallback revision: what changed while no one watched), then, whenever
// the tree has been quiet for --debounce seconds (or --max-delay seconds
// after the first change still pending, however busy it stays), commits
// only the directories that changed (a watched revision). Lost events
// (queue overflow, the inotify watch limit) give one full walk (fallback).
// SIGTERM or SIGINT: commits what is pending, then exits 0.
//
// Idle costs nothing: the loop blocks in poll(2) on the notification and
// signal descriptors, with a timeout only while changes are pending. (With
// fanotify, other directories of the filesystem wake it too: their events
// are then read in batches, SourceWatch::kCoalesceMs apart.)
// Without -f the daemon detaches, logs to syslog, and the command returns
// once the first revision is committed (or exits 1 with the reason).
// Options out of range: one line, exit 2.
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "cli.h"
#include "daemon.h"
#include "revfs/history.h"
#include "revfs/tree.h"
#include "source_watch.h"

namespace revfs::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct WatchArgs {
  std::string store, dir;
  bool foreground = false;
  std::string debounce = "2", max_delay, watcher = "auto";  // max_delay: 30 s or --debounce
  ExcludeArgs exclude;
};

constexpr int kExitUsage = 2;
// The watcher's cache of record pages (a one-shot command's is 64 MiB).
constexpr size_t kWatchPageCacheBytes = size_t{256} << 20;

// Parses seconds in [lo, hi]; nullopt if not a number in range.
std::optional<double> ParseSeconds(const std::string& s, double lo, double hi) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v) || v < lo || v > hi) return std::nullopt;
  return v;
}

class Watcher {
 public:
  Watcher(Database& db, std::string root, std::vector<std::string> exclude,
          std::shared_ptr<spdlog::logger> log)
      : db_(db), root_(std::move(root)), exclude_(std::move(exclude)), excluded_(exclude_),
        log_(std::move(log)) {}

  // One capture of what `changes` name (everything if `full`).
  Status Commit(const SourceChanges& changes) {
    CaptureOptions o;
    o.exclude = exclude_;
    o.skip_unchanged = !changes.full;
    if (changes.full) {
      o.mode = CaptureMode::kFallback;
      o.message = "revfs watch: full walk (" + changes.why + ")";
    } else {
      o.changed = changes.changed;
      o.message = "revfs watch: " + std::to_string(changes.changed.dirs.size()) +
                  " directories and " + std::to_string(changes.changed.entries.size()) +
                  " entries changed, " + std::to_string(changes.changed.subtrees.size()) +
                  " directories new";
    }
    if (base_walk_) o.base_walk = *base_walk_;
    uint64_t skipped = 0;
    o.on_skip = [&](const std::string& path, const Status& why) {
      ++skipped;
      log_->warn("skipped {}: {}", path, why.message());
    };
    const auto start = Clock::now();
    auto s = CaptureTree(db_, root_, o);
    if (!s.ok()) return s.status();
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!s->committed) {
      log_->info("nothing to record ({} events, {:.1f} ms)", changes.events, ms);
      return Status::OK();
    }
    base_walk_ = CaptureOptions::BaseWalk{s->revision, s->started_ns};
    log_->info("revision {}: {}{}; {} entries stat'ed, {} directories reused, {} files read, "
               "{:.1f} MiB; {} ms of capture, {:.1f} ms in all{}",
               s->revision, CaptureModeName(static_cast<uint64_t>(s->mode)),
               s->fallback_reason.empty() ? (changes.full ? " (" + changes.why + ")" : "")
                                          : " (" + s->fallback_reason + ")",
               s->entries_stated, s->directories_reused, s->files - s->unchanged,
               static_cast<double>(s->bytes_read) / (1 << 20), s->milliseconds, ms,
               skipped ? "; " + std::to_string(skipped) + " entries skipped" : "");
    return Status::OK();
  }

  // Drops the directories a capture never enters.
  void DropExcluded(SourceChanges* c) const {
    std::erase_if(c->changed.dirs, [&](const std::string& d) { return excluded_.DirExcluded(d); });
    std::erase_if(c->changed.subtrees,
                  [&](const std::string& d) { return excluded_.DirExcluded(d); });
    std::erase_if(c->changed.entries, [&](const std::string& e) {
      const size_t slash = e.rfind('/');
      return slash != std::string::npos && excluded_.DirExcluded(e.substr(0, slash));
    });
  }

 private:
  Database& db_;
  const std::string root_;
  const std::vector<std::string> exclude_;
  const PathExclusions excluded_;
  std::shared_ptr<spdlog::logger> log_;
  // How the last revision this watcher made was walked: the next watched
  // capture keeps the names of directories unchanged since (base_walk).
  std::optional<CaptureOptions::BaseWalk> base_walk_;
};

int Usage(const std::string& what, const std::string& why) {
  Fail(what, why);
  return kExitUsage;
}

int RunWatch(const WatchArgs& args) {
  const auto debounce = ParseSeconds(args.debounce, 0.01, 3600);
  if (!debounce) return Usage("--debounce " + args.debounce, "expected 0.01 to 3600 seconds");
  const std::string max_delay_text =
      args.max_delay.empty() ? std::to_string(std::max(30.0, *debounce)) : args.max_delay;
  const auto max_delay = ParseSeconds(max_delay_text, *debounce, 86400);
  if (!max_delay) {
    return Usage("--max-delay " + args.max_delay,
                 "expected from --debounce (" + args.debounce + ") to 86400 seconds");
  }
  SourceWatch::Mechanism mechanism;
  if (args.watcher == "auto") mechanism = SourceWatch::Mechanism::kAuto;
  else if (args.watcher == "fanotify") mechanism = SourceWatch::Mechanism::kFanotify;
  else if (args.watcher == "inotify") mechanism = SourceWatch::Mechanism::kInotify;
  else return Usage("--watcher " + args.watcher, "expected auto, fanotify or inotify");
  auto exclude = LoadExcludes(args.exclude);
  if (!exclude.ok()) return Fail(exclude.status());

  char real[PATH_MAX];
  if (::realpath(args.dir.c_str(), real) == nullptr) return Fail(args.dir, "no such directory");
  const std::string root = real;
  if (::realpath(args.store.c_str(), real) == nullptr) return Fail(args.store, "no such store");
  const std::string store_path = real;
  if (store_path == root || store_path.rfind(root == "/" ? "/" : root + "/", 0) == 0) {
    return Fail(args.store, "the store lies inside " + root + ": its own commits would wake it");
  }
  DatabaseOptions options;
  options.store.writable = true;
  // Each revision reads the records the one before it wrote: those stay
  // cached as read ones would, and the cache holds the working set of a
  // big tree (its directories' maps and inodes, the history index's
  // leaves) so that a watched revision reads no leaf it read before.
  options.memory.cache_written_leaves = true;
  options.memory.page_cache_bytes = kWatchPageCacheBytes;
  {
    // Once before detaching, so that its errors reach the user; opened again
    // by the daemon, as the store's lock does not pass through fork.
    auto probe = Database::Open(store_path, options);
    if (!probe.ok()) return Fail(probe.status());
  }

  ReadyPipe ready_pipe;
  if (!args.foreground) {
    if (auto exit_code = Detach("watch", "its first revision", &ready_pipe)) return *exit_code;
  }
  auto log = args.foreground ? spdlog::stderr_logger_mt("revfs")
                             : spdlog::syslog_logger_mt("revfs", "revfs", LOG_PID, LOG_DAEMON);
  log->flush_on(spdlog::level::info);
  auto ready = [&](const Status& s) {
    if (!s.ok()) log->error("{}", s.message());
    ready_pipe.Ready(s);
  };

  auto db = Database::Open(store_path, options);
  if (!db.ok()) {
    ready(db.status());
    return kExitError;
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);
  const int sfd = ::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    ready(Status::FromErrno(errno, "signalfd"));
    return kExitError;
  }
  // Watch first, then walk: a change made during the first walk is
  // reported and recorded by the next revision.
  auto watch = SourceWatch::Start(root, mechanism);
  if (!watch.ok()) {
    ready(watch.status().WithContext("watch " + root));
    return kExitError;
  }
  log->info("watching {} with {}; debounce {} s, max delay {} s", root,
            (*watch)->description(), *debounce, *max_delay);
  Watcher watcher(**db, root, std::move(exclude).value(), log);
  SourceChanges pending;
  pending.full = true;
  pending.why = "start";
  Status first = watcher.Commit(pending);
  ready(first.WithContext("watch: first revision"));
  if (!first.ok()) return kExitError;
  pending = SourceChanges{};
  {
    // Each revision looks its changed paths up in the history index: read
    // those leaves once now (a quarter of the cache at most), not a few
    // hundred cold ones per revision.
    const auto start = Clock::now();
    auto trx = (*db)->BeginRead((*db)->store().latest_revision());
    auto warmed = trx.ok() ? WarmHistoryLookups(**trx, kWatchPageCacheBytes / 4)
                           : Result<uint64_t>(trx.status());
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (warmed.ok()) {
      log->info("history index: {:.1f} MiB of path lookups read in {:.0f} ms",
                static_cast<double>(*warmed) / (1 << 20), ms);
    } else {
      log->warn("history index not read ahead: {}", warmed.status().ToString());
    }
  }

  const auto debounce_d = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(*debounce));
  const auto max_delay_d = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(*max_delay));
  Clock::time_point first_change, last_change;
  auto deadline = [&] { return std::min(last_change + debounce_d, first_change + max_delay_d); };
  bool stop = false;
  int exit_code = kExitOk;
  while (true) {
    int timeout = -1;  // idle: sleep until an event or a signal
    if (pending.any()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline() - Clock::now());
      timeout = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    struct pollfd fds[2] = {{(*watch)->fd(), POLLIN, 0}, {sfd, POLLIN, 0}};
    if (::poll(fds, 2, timeout) < 0 && errno != EINTR) {
      log->error("poll: {}", std::strerror(errno));
      exit_code = kExitError;
      break;
    }
    if (fds[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (::read(sfd, &si, sizeof(si)) > 0) {
        log->info("signal {}: committing what is pending, then exiting", si.ssi_signo);
      }
      stop = true;
    }
    // Read what is queued (at a stop too: changes made before the signal).
    const bool had = pending.any();
    const uint64_t events = pending.events;
    const bool was_full = pending.full;
    Status read = (*watch)->Read(&pending);
    if (!read.ok()) {
      log->error("{}", read.message());
      exit_code = kExitError;
      break;
    }
    watcher.DropExcluded(&pending);
    if (pending.events != events || pending.full != was_full) {
      last_change = Clock::now();
      if (!had) first_change = last_change;
    } else if (!stop && (*watch)->foreign_events()) {
      // Woken by other directories' events only: let them gather.
      ::poll(nullptr, 0, SourceWatch::kCoalesceMs);
    }
    if (!pending.any()) {
      if (stop) break;
      continue;
    }
    if (!stop && Clock::now() < deadline()) continue;  // not quiet yet
    SourceChanges taken = std::move(pending);
    pending = SourceChanges{};
    if (taken.full) (*watch)->Rewatch();  // before the walk: nothing missed
    Status s = watcher.Commit(taken);
    if (!s.ok()) {  // try again later, walking everything
      log->error("commit: {}", s.message());
      if (stop) {
        exit_code = kExitError;
        break;
      }
      pending.full = true;
      pending.why = "the last commit failed";
      first_change = last_change = Clock::now();
    }
    if (stop) break;
  }
  ::close(sfd);
  log->info("stopped watching {}", root);
  return exit_code;
}

}  // namespace

Command AddWatchCommand(CLI::App& app) {
  auto args = std::make_shared<WatchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "watch", "Commit a directory tree whenever it changed, examining only what changed");
  cmd->add_option("STORE", args->store, "The store")->required();
  cmd->add_option("DIR", args->dir, "The directory to record")->required();
  cmd->add_flag("-f,--foreground", args->foreground, "Stay in the foreground, log to stderr");
  cmd->add_option("--debounce", args->debounce,
                  "Commit once the tree has been quiet this long (seconds, default 2)");
  cmd->add_option("--max-delay", args->max_delay,
                  "Commit at most this long after the first pending change, busy or not "
                  "(seconds, default 30, or --debounce if longer)");
  cmd->add_option("--watcher", args->watcher,
                  "auto (fanotify when privileged, else inotify), fanotify or inotify");
  AddExcludeOptions(cmd, &args->exclude);
  return {cmd, [args] { return RunWatch(*args); }};
}

}  // namespace revfs::cli
