// The revfs command line: each subcommand (cmd_*.cc) registers itself on the
// CLI11 app and returns the function that runs it; cli.cc holds what they
// share. Exit status: 0 success, 1 a user-facing failure reported as one
// line `revfs: <what>: <why>`, 2 a partial commit.
//
// Thread safety: used from the main thread only.
#ifndef REVFS_MOUNT_CLI_H_
#define REVFS_MOUNT_CLI_H_

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "revfs/database.h"
#include "revfs/status.h"

namespace revfs::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitPartial = 2;

// A registered subcommand and what runs it once the command line is parsed.
struct Command {
  CLI::App* app;
  std::function<int()> run;
};

// Each Add*Command adds a subcommand to `app`.
Command AddInitCommand(CLI::App& app);
Command AddLogCommand(CLI::App& app);
Command AddVerifyCommand(CLI::App& app);
Command AddCommitCommand(CLI::App& app);
Command AddLsCommand(CLI::App& app);
Command AddCatCommand(CLI::App& app);
Command AddDiffCommand(CLI::App& app);
Command AddMountCommand(CLI::App& app);
Command AddWatchCommand(CLI::App& app);
Command AddForgetCommand(CLI::App& app);
Command AddHoldCommand(CLI::App& app);
Command AddReleaseCommand(CLI::App& app);
Command AddPruneCommand(CLI::App& app);
Command AddUpgradeCommand(CLI::App& app);
Command AddReindexCommand(CLI::App& app);

// --exclude PATTERN (repeatable) and --exclude-from FILE (repeatable), as
// commit and watch share them.
struct ExcludeArgs {
  std::vector<std::string> patterns, files;
};
void AddExcludeOptions(CLI::App* cmd, ExcludeArgs* args);
// The pattern lines of `args`: the files' lines first, in order, then the
// --exclude patterns (later lines decide, as in gitignore).
Result<std::vector<std::string>> LoadExcludes(const ExcludeArgs& args);

// Options to open a store: a writer takes the store's lock (Busy while
// another holds it); otherwise it is only read.
inline DatabaseOptions StoreOpenOptions(bool writable) {
  DatabaseOptions o;
  o.store = StoreOptions{nullptr, writable};
  return o;
}

// Resolves a revision name: a number, "latest", or "@" + ISO-8601 time (the
// newest revision at or before it).
Result<uint64_t> ResolveRevision(Database& db, std::string_view name);

// A revision open for reading; `trx` reads `db` and goes first.
struct OpenedRevision {
  std::unique_ptr<Database> db;
  std::unique_ptr<ReadTrx> trx;
};
// Opens the store at `store_path` and its revision named `rev` (as
// ResolveRevision names it).
Result<OpenedRevision> OpenRevision(const std::string& store_path, std::string_view rev);

// Prints "revfs: <status message>" on stderr and returns kExitError.
int Fail(const Status& status);
// Prints "revfs: <what>: <why>" on stderr and returns kExitError.
int Fail(std::string_view what, std::string_view why);

}  // namespace revfs::cli

#endif  // REVFS_MOUNT_CLI_H_
