// revfs cat STORE REV PATH: writes a regular file of a revision to standard
// output.
#include <cstdio>
#include <memory>
#include <string>

#include "cli.h"
#include "revfs/tree.h"

namespace revfs::cli {

Command AddCatCommand(CLI::App& app) {
  struct Args {
    std::string store, rev, path;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("cat", "Write a file of a revision to standard output");
  cmd->add_option("STORE", args->store, "The store")->required();
  cmd->add_option("REV", args->rev, "Revision: a number, latest or @TIME")->required();
  cmd->add_option("PATH", args->path, "Path of the file inside the revision")->required();
  return {cmd, [args] {
    auto o = OpenRevision(args->store, args->rev);
    if (!o.ok()) return Fail(o.status());
    auto target = ResolvePath(*o->trx, args->path);
    if (!target.ok()) return Fail(target.status());
    const Inode& inode = target->second;
    if (inode.type != FileType::kRegular) {
      return Fail(args->path, std::string("is a ") + FileTypeName(inode.type) + ", not a file");
    }
    Status s = ReadFile(*o->db, *o->trx, inode, 0, inode.size, [](std::string_view piece) {
      if (std::fwrite(piece.data(), 1, piece.size(), stdout) != piece.size()) {
        return Status::IOError("standard output: write failed");
      }
      return Status::OK();
    });
    if (!s.ok()) return Fail(s.WithContext(args->path));
    if (std::fflush(stdout) != 0) return Fail("standard output", "write failed");
    return kExitOk;
  }};
}

}  // namespace revfs::cli
