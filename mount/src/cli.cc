// What the subcommands share: revision names, opening a revision for
// reading, the exclusion options, and the one-line failure report.
#include "cli.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <string>

#include "revfs/time_util.h"

namespace revfs::cli {

Result<uint64_t> ResolveRevision(Database& db, std::string_view name) {
  REVFS_RETURN_IF_ERROR(db.store().Refresh());
  const uint64_t latest = db.store().latest_revision();
  if (name == "latest") return latest;
  if (!name.empty() && name[0] == '@') {
    // @TIME is the revision current at the last nanosecond TIME names, as
    // for the mount's at/ names; far times saturate (past the last commit:
    // the latest revision).
    REVFS_ASSIGN_OR_RETURN(int64_t t, ParseTimeLast(name.substr(1)));
    auto rev = db.store().RevisionAt(t);
    if (!rev.ok()) {
      return Status::NotFound("revision " + std::string(name) + ": no revision at or before that time");
    }
    return rev;
  }
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
  if (ec != std::errc() || end != name.data() + name.size()) {
    return Status::InvalidArgument("revision '" + std::string(name) +
                                   "': expected a number, latest or @TIME");
  }
  if (n > latest) {
    return Status::NotFound("revision " + std::string(name) + " does not exist (latest is " +
                            std::to_string(latest) + ")");
  }
  if (db.store().IsForgotten(n)) {
    return Status::NotFound("revision " + std::string(name) + " was forgotten");
  }
  return n;
}

Result<OpenedRevision> OpenRevision(const std::string& store_path, std::string_view rev) {
  OpenedRevision o;
  REVFS_ASSIGN_OR_RETURN(o.db, Database::Open(store_path, DatabaseOptions{}));
  REVFS_ASSIGN_OR_RETURN(uint64_t number, ResolveRevision(*o.db, rev));
  REVFS_ASSIGN_OR_RETURN(o.trx, o.db->BeginRead(number));
  return o;
}

void AddExcludeOptions(CLI::App* cmd, ExcludeArgs* args) {
  cmd->add_option("--exclude", args->patterns,
                  "Leave out what matches PATTERN (gitignore-style; repeatable; recorded with "
                  "the revision)")
      ->type_name("PATTERN")
      ->allow_extra_args(false);
  cmd->add_option("--exclude-from", args->files,
                  "Read exclusion patterns from FILE, one per line (repeatable)")
      ->type_name("FILE")
      ->allow_extra_args(false);
}

Result<std::vector<std::string>> LoadExcludes(const ExcludeArgs& args) {
  std::vector<std::string> lines;
  for (const std::string& file : args.files) {
    std::ifstream in(file);
    if (!in) return Status::FromErrno(errno, "--exclude-from " + file);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    if (in.bad()) return Status::IOError("--exclude-from " + file + ": read failed");
  }
  lines.insert(lines.end(), args.patterns.begin(), args.patterns.end());
  return lines;
}

int Fail(const Status& status) {
  std::fprintf(stderr, "revfs: %.*s\n", static_cast<int>(status.message().size()),
               status.message().data());
  return kExitError;
}

int Fail(std::string_view what, std::string_view why) {
  std::fprintf(stderr, "revfs: %.*s: %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(why.size()), why.data());
  return kExitError;
}

}  // namespace revfs::cli
