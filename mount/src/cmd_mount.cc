// revfs mount STORE MOUNTPOINT [-f] [-d] [-s] [-o OPTS]: serves every
// revision as a read-only directory. Also reached as `revfs STORE MOUNTPOINT
// -o OPTS`, the form mount.fuse3 (mount -t fuse.revfs, fstab) uses.
//
// Without -f the daemon detaches and the command returns only once the mount
// answers (or exits 1 with the reason it could not mount).
#include <fcntl.h>
#include <limits.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include "cli.h"
#include "daemon.h"
#include "revfs/fusefs/fusefs.h"
#include "revfs/pool_check.h"

namespace revfs::cli {
namespace {

struct MountArgs {
  std::string store, mountpoint;
  std::vector<std::string> options;  // -o, possibly several, comma-separated
  bool foreground = false, debug = false, single_thread = false;
};

struct Parsed {
  uint64_t cache_size = 256u << 20;
  unsigned max_threads = 10;
  unsigned prefetch_threads = 4;
  uint64_t readahead = 8u << 20;
  uint64_t dir_readahead = 4u << 20;
  bool unique_ino = false;
  fusefs::FsOptions::Readdirplus readdirplus = fusefs::FsOptions::Readdirplus::kAuto;
  // Whether the kernel checks the stored modes, owners and ACLs
  // (default_permissions, given or implied by allow_other).
  bool kernel_checks_permissions = false;
  std::vector<std::string> fuse;
};

Result<uint64_t> ParseSize(const std::string& v) {
  char* end = nullptr;
  unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  if (end == v.c_str()) return Status::InvalidArgument("not a size");
  std::string unit(end);
  uint64_t mult = 1;
  if (unit == "K" || unit == "k" || unit == "KiB") mult = 1u << 10;
  else if (unit == "M" || unit == "m" || unit == "MiB") mult = 1u << 20;
  else if (unit == "G" || unit == "g" || unit == "GiB") mult = 1u << 30;
  else if (!unit.empty()) return Status::InvalidArgument("unknown unit '" + unit + "'");
  return static_cast<uint64_t>(n) * mult;
}

// Parses `-o key=value` as a size in [lo, hi]; `range` says it for the error.
Result<uint64_t> ParseSizeOption(const std::string& key, const std::string& value, uint64_t lo,
                                 uint64_t hi, const char* range) {
  auto n = ParseSize(value);
  if (!n.ok() || *n < lo || *n > hi) {
    return Status::InvalidArgument("-o " + key + "=" + value + ": expected " + range);
  }
  return *n;
}

// Parses `-o key=value` as a whole number in [lo, hi].
Result<unsigned> ParseCount(const std::string& key, const std::string& value, unsigned long lo,
                            unsigned long hi) {
  char* end = nullptr;
  unsigned long n = std::strtoul(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || n < lo || n > hi) {
    return Status::InvalidArgument("-o " + key + "=" + value + ": expected " + std::to_string(lo) +
                                   " to " + std::to_string(hi));
  }
  return static_cast<unsigned>(n);
}

// Escapes `s` for libfuse's option parser (fuse_opt.c), which splits -o at
// commas not preceded by a backslash and drops the backslash before any
// character: unescaped, a store at /srv/a,allow_other would end fsname at the
// comma and share the mount with every user.
std::string EscapeFuseOption(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == ',' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

Result<Parsed> ParseOptions(const std::vector<std::string>& groups) {
  // Not suid and dev: see below.
  static const char* kPassThrough[] = {"allow_root", "auto_unmount", "nodev", "nosuid", "exec",
                                       "noexec", "atime", "noatime", "relatime", "ro", "sync",
                                       "async", "dirsync"};
  static const char* kIgnored[] = {"rw", "defaults", "auto", "noauto", "user", "users",
                                   "nouser", "nofail", "_netdev"};
  Parsed p;
  bool allow_other = false, default_permissions = false, no_default_permissions = false;
  for (const std::string& group : groups) {
    std::stringstream ss(group);
    for (std::string opt; std::getline(ss, opt, ',');) {
      if (opt.empty()) continue;
      const size_t eq = opt.find('=');
      const std::string key = opt.substr(0, eq), value = eq == std::string::npos ? "" : opt.substr(eq + 1);
      if (key == "cache_size") {
        REVFS_ASSIGN_OR_RETURN(p.cache_size,
                               ParseSizeOption(key, value, 1u << 20, 64ull << 30, "1M to 64G"));
      } else if (key == "max_threads") {
        REVFS_ASSIGN_OR_RETURN(p.max_threads, ParseCount(key, value, 1, 256));
      } else if (key == "prefetch_threads") {
        REVFS_ASSIGN_OR_RETURN(p.prefetch_threads, ParseCount(key, value, 0, 64));
      } else if (key == "readahead") {
        REVFS_ASSIGN_OR_RETURN(p.readahead, ParseSizeOption(key, value, 0, 1ull << 30, "0 to 1G"));
      } else if (key == "dir_readahead") {
        REVFS_ASSIGN_OR_RETURN(p.dir_readahead,
                               ParseSizeOption(key, value, 0, 1ull << 30, "0 to 1G"));
      } else if (key == "unique_ino") {
        p.unique_ino = true;
      } else if (key == "readdirplus") {
        using Mode = fusefs::FsOptions::Readdirplus;
        if (value == "auto") p.readdirplus = Mode::kAuto;
        else if (value == "all") p.readdirplus = Mode::kAll;
        else if (value == "dirs") p.readdirplus = Mode::kDirs;
        else return Status::InvalidArgument("-o " + opt + ": expected auto, all or dirs");
      } else if (key == "allow_other") {
        allow_other = true;
      } else if (key == "default_permissions") {
        default_permissions = true;
      } else if (key == "no_default_permissions") {
        no_default_permissions = true;
      } else if (key == "suid") {
        // A store holds whatever tree was committed, by whoever could write
        // it: its setuid bits and device nodes must not give power to the
        // readers of a mount. As for fusermount3's mounts, always nosuid,nodev.
        return Status::InvalidArgument(
            "-o suid: not supported: revfs mounts are always nosuid (stored setuid bits never "
            "take effect)");
      } else if (key == "dev") {
        return Status::InvalidArgument(
            "-o dev: not supported: revfs mounts are always nodev (stored device nodes never "
            "open)");
      } else if (key == "fsname" || key == "subtype" || key == "max_read") {
        p.fuse.push_back(opt);
      } else if (std::find(std::begin(kPassThrough), std::end(kPassThrough), key) !=
                 std::end(kPassThrough)) {
        p.fuse.push_back(opt);
      } else if (std::find(std::begin(kIgnored), std::end(kIgnored), key) != std::end(kIgnored) ||
                 key.rfind("x-", 0) == 0 || key.rfind("comment=", 0) == 0) {
        // fstab-only options: nothing for the filesystem to do.
      } else {
        return Status::InvalidArgument("-o " + opt + ": unknown mount option");
      }
    }
  }
  if (default_permissions && no_default_permissions) {
    return Status::InvalidArgument(
        "-o no_default_permissions: contradicts default_permissions");
  }
  // Other users reach an allow_other mount: the kernel then checks the
  // stored modes, owners and ACLs as on any filesystem (restic and borg do
  // the same), unless the operator explicitly opts out.
  p.kernel_checks_permissions = default_permissions || (allow_other && !no_default_permissions);
  if (allow_other) p.fuse.push_back("allow_other");
  if (p.kernel_checks_permissions) p.fuse.push_back("default_permissions");
  return p;
}

int RunMount(const MountArgs& args) {
  auto parsed = ParseOptions(args.options);
  if (!parsed.ok()) return Fail(parsed.status());
  char real[PATH_MAX];
  if (::realpath(args.store.c_str(), real) == nullptr) {
    return Fail(args.store, "no such store");
  }
  const std::string store_path = real;
  struct stat st;
  if (::stat(args.mountpoint.c_str(), &st) != 0) return Fail(args.mountpoint, "no such directory");
  if (!S_ISDIR(st.st_mode)) return Fail(args.mountpoint, "not a directory");
  std::error_code ec;
  if (!std::filesystem::is_empty(args.mountpoint, ec)) {
    return Fail(args.mountpoint, ec ? ec.message() : "not empty");
  }
  const std::string mountpoint = ::realpath(args.mountpoint.c_str(), real) ? real : args.mountpoint;

  // Open the store before detaching, so that its errors reach the user.
  DatabaseOptions ro;
  ro.memory.allocator.budget_bytes = parsed->cache_size + (32u << 20);
  ro.memory.fragment_cache_bytes = parsed->cache_size / 8;
  ro.memory.page_cache_bytes = parsed->cache_size * 3 / 8;
  ro.memory.chunk_cache_bytes = parsed->cache_size / 2;
  // Headroom in the pool for every thread that may hold pins at once: the
  // loop's, the chunk prefetchers and the two directory read-ahead threads.
  ro.reader_threads =
      parsed->max_threads + parsed->prefetch_threads + fusefs::RevFs::kDirReadAheadThreads;
  auto db = Database::Open(store_path, ro);
  if (!db.ok()) return Fail(db.status());

  ReadyPipe ready;
  if (!args.foreground) {
    if (auto exit_code = Detach("mount", "mounting", &ready)) return *exit_code;
  }
  auto logger = args.foreground
                    ? spdlog::stderr_logger_mt("revfs")
                    : spdlog::syslog_logger_mt("revfs", "revfs", LOG_PID, LOG_DAEMON);
  logger->set_level(args.debug ? spdlog::level::debug : spdlog::level::info);

  fusefs::FsOptions fo;
  fo.unique_ino = parsed->unique_ino;
  fo.readdirplus = parsed->readdirplus;
  fo.prefetch_threads = parsed->prefetch_threads;
  fo.readahead_bytes = parsed->readahead;
  fo.dir_readahead_bytes = parsed->dir_readahead;
  if (parsed->prefetch_threads == 0) fo.lookup_prefetch_max = 0;
  fo.posix_acl = parsed->kernel_checks_permissions;
  fo.uid = ::getuid();
  fo.gid = ::getgid();
  Status served;
  {
    fusefs::RevFs fs(db->get(), fo);
    fusefs::ServeOptions so;
    so.mountpoint = mountpoint;
    so.fuse_options = parsed->fuse;
    so.fuse_options.push_back("ro");
    so.fuse_options.push_back("nosuid");
    so.fuse_options.push_back("nodev");
    so.fuse_options.push_back("fsname=revfs:" + EscapeFuseOption(store_path));
    so.fuse_options.push_back("subtype=revfs");
    so.single_thread = args.single_thread;
    so.max_threads = parsed->max_threads;
    so.debug = args.debug;
    so.on_ready = [&](const Status& s) {
      if (s.ok()) {
        logger->info("serving {} at {}", store_path, mountpoint);
      } else {
        logger->error("{}", s.message());
      }
      ready.Ready(s);
    };
    served = fusefs::Serve(fs, so);
  }  // RevFs gone: its prefetch and read-ahead threads are joined
  // The memory rule, checked on every way out (unmount, signal): with
  // every reader gone, every segment is back in the pool and no pin held.
  Status memory = CheckPoolReturned(**db);
  if (memory.ok()) {
    logger->info("unmounted {}: every segment back in the pool, no pin held", mountpoint);
  } else {
    logger->error("unmounted {}: {}", mountpoint, memory.message());
  }
  for (const Status& s : {served, memory}) {
    if (s.ok()) continue;
    if (args.foreground) return Fail(s);
    return kExitError;
  }
  return kExitOk;
}

}  // namespace

Command AddMountCommand(CLI::App& app) {
  auto args = std::make_shared<MountArgs>();
  CLI::App* cmd = app.add_subcommand(
      "mount", "Mount every revision read-only: MOUNT/latest, revisions/N, at/TIME, .revfs/stats");
  cmd->add_option("STORE", args->store, "The store")->required();
  cmd->add_option("MOUNTPOINT", args->mountpoint, "An empty directory")->required();
  cmd->add_flag("-f,--foreground", args->foreground, "Stay in the foreground, log to stderr");
  cmd->add_flag("-d,--debug", args->debug, "Log every request (implies nothing else)");
  cmd->add_flag("-s", args->single_thread, "Serve with one thread");
  cmd->add_option("-o", args->options,
                  "Options: cache_size=SIZE, max_threads=N, prefetch_threads=N, readahead=SIZE, "
                  "dir_readahead=SIZE, readdirplus=auto|all|dirs, "
                  "unique_ino, allow_other (implies default_permissions), "
                  "no_default_permissions, ...");
  return {cmd, [args] { return RunMount(*args); }};
}

}  // namespace revfs::cli
