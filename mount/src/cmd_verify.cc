// revfs verify STORE: checks the whole store (superblocks, revisions index,
// every page's checksum, every revision's record trie and each inode record)
// and lists each damaged place; exits 1 if anything is damaged.
#include <cstdio>
#include <memory>
#include <string>

#include "cli.h"
#include "revfs/database.h"
#include "revfs/inode.h"

namespace revfs::cli {

Command AddVerifyCommand(CLI::App& app) {
  auto store_path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "verify", "Check every checksum and structure of a store; exit 1 if damaged");
  cmd->add_option("STORE", *store_path, "The store")->required();
  return {cmd, [store_path] {
    auto db = Database::Open(*store_path, DatabaseOptions{});
    if (!db.ok()) return Fail(db.status());
    VerifyReport report;
    Status s = (*db)->Verify(&report, CheckTreeRecord);
    if (!s.ok()) return Fail(s);
    for (const auto& d : report.damage) {
      std::string rev = d.revision ? "revision " + std::to_string(*d.revision) + ": " : "";
      std::printf("damaged: %s%s at offset %llu: %s\n", rev.c_str(), d.file.c_str(),
                  static_cast<unsigned long long>(d.offset), d.what.c_str());
    }
    std::printf("checked %llu revisions and %llu pages: %s\n",
                static_cast<unsigned long long>(report.revisions_checked),
                static_cast<unsigned long long>(report.pages_checked),
                report.clean() ? "clean"
                               : (std::to_string(report.damage.size()) + " damaged").c_str());
    if (!report.clean()) {
      return Fail(*store_path, std::to_string(report.damage.size()) +
                                   " damaged place(s) found");
    }
    return kExitOk;
  }};
}

}  // namespace revfs::cli
