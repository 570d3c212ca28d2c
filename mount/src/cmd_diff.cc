// revfs diff STORE REV1 REV2 [PATH] [--json]: lists what changed between two
// revisions, one path per line with its kind of change (A added, D deleted,
// M content, T type, P metadata only), or as a JSON array.
#include <cstdio>
#include <memory>
#include <string>

#include "cli.h"
#include "revfs/diff.h"
#include "revfs/json.h"

namespace revfs::cli {

Command AddDiffCommand(CLI::App& app) {
  struct Args {
    std::string store, rev1, rev2, path;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "diff", "List what changed between two revisions: A added, D deleted, M content, "
              "T type, P metadata only");
  cmd->add_option("STORE", args->store, "The store")->required();
  cmd->add_option("REV1", args->rev1, "Older revision: a number, latest or @TIME")->required();
  cmd->add_option("REV2", args->rev2, "Newer revision")->required();
  cmd->add_option("PATH", args->path, "Limit to this path");
  cmd->add_flag("--json", args->json, "A JSON array of {\"change\": \"A|D|M|T|P\", \"path\"}");
  return {cmd, [args] {
    auto db = Database::Open(args->store, DatabaseOptions{});
    if (!db.ok()) return Fail(db.status());
    auto r1 = ResolveRevision(**db, args->rev1);
    if (!r1.ok()) return Fail(r1.status());
    auto r2 = ResolveRevision(**db, args->rev2);
    if (!r2.ok()) return Fail(r2.status());
    auto a = (*db)->BeginRead(*r1);
    if (!a.ok()) return Fail(a.status());
    auto b = (*db)->BeginRead(*r2);
    if (!b.ok()) return Fail(b.status());
    JsonWriter w;
    w.BeginArray();
    Status s = DiffTrees(**a, **b, args->path, [&](ChangeKind kind, const std::string& path) {
      const std::string shown = path.empty() ? "/" : path;
      if (args->json) {
        w.BeginObject();
        w.Key("change").String(std::string(1, static_cast<char>(kind)));
        w.NamedString("path", shown);
        w.EndObject();
      } else {
        std::printf("%c %s\n", static_cast<char>(kind), shown.c_str());
      }
    });
    if (!s.ok()) return Fail(s);
    w.EndArray();
    if (args->json) std::printf("%s\n", w.str().c_str());
    return kExitOk;
  }};
}

}  // namespace revfs::cli
