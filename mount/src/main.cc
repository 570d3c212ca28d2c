// revfs: the program. Parses the command line with CLI11 and runs one
// subcommand (cli.h); no exception or abort reaches the user, only one line
// and an exit status. Before parsing it maps `revfs STORE MOUNTPOINT -o
// OPTS`, the form mount.fuse3 runs, to `revfs mount`, and names an unknown
// option of a subcommand before CLI11 would complain of a missing argument.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"

namespace revfs::cli {
namespace {

// mount.fuse3 (mount -t fuse.revfs, fstab) runs `revfs STORE MOUNTPOINT -o
// OPTS` with "dev" and then "suid" appended to OPTS unless OPTS holds nodev
// and nosuid: the defaults of the kernel's own filesystems. revfs mounts are
// always nodev,nosuid and refuse dev and suid when asked for them; so that
// only an option the user wrote is refused, drops exactly what mount.fuse3
// added, from the end of the last -o.
void DropHelperDevSuid(std::vector<std::string>* words) {
  auto o = std::find(words->rbegin(), words->rend(), "-o");
  if (o == words->rend() || o == words->rbegin()) return;
  std::string& group = *(o.base());  // the word after the last "-o"
  std::vector<std::string> opts;
  std::stringstream ss(group);
  for (std::string opt; std::getline(ss, opt, ',');) opts.push_back(opt);
  std::vector<std::string> added;
  if (std::find(opts.begin(), opts.end(), "nodev") == opts.end()) added.push_back("dev");
  if (std::find(opts.begin(), opts.end(), "nosuid") == opts.end()) added.push_back("suid");
  if (added.empty() || opts.size() < added.size() ||
      !std::equal(added.begin(), added.end(), opts.end() - static_cast<long>(added.size()))) {
    return;
  }
  opts.resize(opts.size() - added.size());
  group.clear();
  for (const std::string& opt : opts) group += (group.empty() ? "" : ",") + opt;
}

// Returns the first option of `words` (the command line, in order) that
// subcommand `cmd` does not know, or "". CLI11 checks required arguments
// before unknown options: `revfs ls --bogus x` would say "REV is required"
// when the mistyped option is the cause.
std::string UnknownOption(const CLI::App& cmd, const std::vector<std::string>& words,
                          size_t first) {
  for (size_t i = first; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--") break;  // operands only from here
    if (w.size() < 2 || w[0] != '-') continue;
    const bool is_long = w[1] == '-';
    const size_t eq = w.find('=');
    // A short option's name is its first letter (-ovalue, -lf).
    const std::string name = is_long ? w.substr(0, eq) : w.substr(0, 2);
    const CLI::Option* opt = cmd.get_option_no_throw(name);
    if (opt == nullptr) return name;
    const bool value_attached = is_long ? eq != std::string::npos : w.size() > 2;
    if (opt->get_type_size() > 0 && !value_attached) ++i;  // skip its value
  }
  return "";
}

int Main(int argc, char** argv) {
  CLI::App app{"revfs: every revision of a directory tree, as read-only folders", "revfs"};
  app.set_version_flag("--version", std::string("revfs ") + REVFS_VERSION);
  app.require_subcommand(1);
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string(e.what());
  });
  const std::vector<Command> commands = {
      AddInitCommand(app),
      AddLogCommand(app),
      AddVerifyCommand(app),
      AddCommitCommand(app),
      AddLsCommand(app),
      AddCatCommand(app),
      AddDiffCommand(app),
      AddMountCommand(app),
      AddWatchCommand(app),
      AddForgetCommand(app),
      AddHoldCommand(app),
      AddReleaseCommand(app),
      AddPruneCommand(app),
      AddUpgradeCommand(app),
      AddReindexCommand(app),
  };
  auto is_subcommand = [&](const char* name) {
    for (const Command& c : commands) {
      if (c.app->check_name(name)) return true;
    }
    return false;
  };
  // `revfs STORE MOUNTPOINT [-o OPTS]` is `revfs mount ...`: the form
  // mount.fuse3 uses for `mount -t fuse.revfs` and fstab.
  std::vector<std::string> words(argv + 1, argv + argc);
  if (!words.empty() && words[0][0] != '-' && !is_subcommand(words[0].c_str())) {
    if (words.size() < 2 || words[1][0] == '-') {
      return Fail(words[0], "unknown subcommand (see 'revfs --help')");
    }
    DropHelperDevSuid(&words);
    words.insert(words.begin(), "mount");
  }
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i].empty() || words[i][0] == '-') continue;  // options of revfs itself
    for (const Command& c : commands) {
      if (!c.app->check_name(words[i])) continue;
      const std::string unknown = UnknownOption(*c.app, words, i + 1);
      if (!unknown.empty()) {
        return Fail(unknown, "unknown option (see 'revfs " + c.app->get_name() + " --help')");
      }
    }
    break;
  }
  std::reverse(words.begin(), words.end());
  try {
    app.parse(words);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    for (char& c : msg) {
      if (c == '\n') c = ' ';
    }
    std::fprintf(stderr, "revfs: %s (see 'revfs --help')\n", msg.c_str());
    return kExitError;
  }
  for (const Command& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return Fail("usage", "no subcommand given (see 'revfs --help')");
}

}  // namespace
}  // namespace revfs::cli

int main(int argc, char** argv) {
  try {
    return revfs::cli::Main(argc, argv);
  } catch (const std::bad_alloc&) {
    return revfs::cli::Fail("error", "out of memory");
  } catch (const std::exception& e) {
    return revfs::cli::Fail("internal error", e.what());
  }
}
