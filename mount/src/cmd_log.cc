// revfs log STORE [--json]: lists every kept revision (forgotten ones are
// skipped) with its time, message, counters and hold, and the store's
// configuration. revfs log STORE PATH: the versions of one path, from the
// history index (revfs/history.h), streamed. JSON also says how each revision
// was made ("made": full_scan, watched, fallback — from the counter
// capture_mode), the exclusion patterns it was captured with, and where the
// space goes: the bytes each revision alone reaches, the bytes shared, the
// dead bytes awaiting prune (a walk of every distinct page: ComputeSpace).
#include <cstdio>
#include <memory>
#include <string>

#include "cli.h"
#include "revfs/history.h"
#include "revfs/json.h"
#include "revfs/retention.h"
#include "revfs/store.h"
#include "revfs/time_util.h"
#include "revfs/tree.h"

namespace revfs::cli {
namespace {

void PrintJson(const Store& store, const std::vector<RevisionRoot>& roots,
               const std::vector<std::vector<std::string>>& exclusions,
               const SpaceReport& space) {
  const StoreConfig& c = store.config();
  JsonWriter w;
  w.BeginObject();
  w.Key("store").String(store.path());
  w.Key("format").Uint(store.superblock().format_version);
  w.Key("versioning").String(VersioningName(c.versioning));
  w.Key("window").Uint(c.window);
  w.Key("full_dump_every").Uint(c.full_dump_every);
  w.Key("compression").String(CompressionName(c.compression, c.compression_level));
  w.Key("latest").Uint(store.latest_revision());
  w.Key("forgotten").Uint(store.retention().ForgottenCount());
  w.Key("space").BeginObject();
  WriteSpaceTotals(w, space);
  w.EndObject();
  const std::vector<RevisionHold> holds = store.Holds();
  w.Key("revisions").BeginArray();
  for (size_t i = 0; i < roots.size(); ++i) {
    const RevisionRoot& r = roots[i];
    w.BeginObject();
    w.Key("revision").Uint(r.number);
    for (const RevisionHold& h : holds) {
      if (h.revision == r.number) w.Key("hold").String(h.tag);
    }
    w.Key("time").String(FormatTime(r.time_ns, true));
    w.Key("time_ns").Int(r.time_ns);
    w.Key("message").String(r.message);
    w.Key("alone_bytes").Uint(space.revisions[i].alone_bytes);
    const char* made = CaptureModeName(r.Counter("capture_mode"));
    if (*made != '\0') w.Key("made").String(made);
    w.Key("exclude").BeginArray();
    for (const std::string& pattern : exclusions[i]) w.String(pattern);
    w.EndArray();
    w.Key("counters").BeginObject();
    for (const auto& [name, value] : r.counters) w.Key(name).Uint(value);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::printf("%s\n", w.str().c_str());
}

void PrintText(const Store& store, const std::vector<RevisionRoot>& roots) {
  const StoreConfig& c = store.config();
  std::string approach = VersioningName(c.versioning);
  if (c.versioning == Versioning::kSliding) {
    approach += " (window " + std::to_string(c.window) + ")";
  } else if (c.versioning != Versioning::kFull) {
    approach += " (full dump every " + std::to_string(c.full_dump_every) + ")";
  }
  std::printf("store %s: format %u, versioning %s, compression %s\n",
              store.path().c_str(), store.superblock().format_version,
              approach.c_str(),
              CompressionName(c.compression, c.compression_level).c_str());
  const RetentionState retention = store.retention();
  if (!retention.forgotten.empty() || !retention.holds.empty()) {
    std::printf("%llu revisions forgotten, %zu held\n",
                static_cast<unsigned long long>(retention.ForgottenCount()),
                retention.holds.size());
  }
  std::printf("%8s  %-20s  %8s  %12s  %12s  %12s  %s\n", "REV", "TIME", "FILES", "ADDED",
              "STORED", "WRITTEN", "MESSAGE");
  for (const RevisionRoot& r : roots) {
    std::string message = r.message;
    if (const RevisionHold* h = retention.HoldOf(r.number)) {
      message = "[held" + (h->tag.empty() ? "" : ": " + h->tag) + "] " + message;
    }
    std::printf("%8llu  %-20s  %8llu  %12llu  %12llu  %12llu  %s\n",
                static_cast<unsigned long long>(r.number), FormatTime(r.time_ns).c_str(),
                static_cast<unsigned long long>(r.Counter("files")),
                static_cast<unsigned long long>(r.Counter("bytes_added")),
                static_cast<unsigned long long>(r.Counter("bytes_stored")),
                static_cast<unsigned long long>(r.Counter("bytes_written")), message.c_str());
  }
}

// The versions of `path` as of the latest revision.
int PrintPathLog(const std::string& store_path, const std::string& path, bool json) {
  auto db = Database::Open(store_path, DatabaseOptions{});
  if (!db.ok()) return Fail(db.status());
  const Store& store = (*db)->store();
  auto trx = (*db)->BeginRead(store.latest_revision());
  if (!trx.ok()) return Fail(trx.status());
  JsonWriter w;
  if (json) {
    w.BeginObject();
    w.Key("path").String(path);
    w.Key("versions").BeginArray();
  }
  // The table's header once the path is found (an error is one line).
  bool headed = json;
  auto head = [&] {
    if (!headed) {
      std::printf("%8s  %-20s  %-8s  %-8s  %12s  %s\n", "REV", "TIME", "CHANGE", "TYPE", "SIZE",
                  "MESSAGE");
    }
    headed = true;
  };
  Status failed;
  Status s = ListVersions(**trx, path, [&](const PathVersion& v) {
    head();
    auto root = store.ReadRevisionRoot(v.revision);
    if (!root.ok()) {
      failed = root.status().WithContext("revision " + std::to_string(v.revision));
      return false;
    }
    const bool gone = v.change == HistoryChange::kDeleted;
    if (json) {
      w.BeginObject();
      w.Key("revision").Uint(v.revision);
      w.Key("time").String(FormatTime(root->time_ns, true));
      w.Key("change").String(HistoryChangeName(v.change));
      w.Key("type").String(FileTypeName(v.type));
      if (!gone) {
        w.Key("size").Uint(v.size);
        w.Key("mtime_ns").Int(v.mtime_ns);
        w.Key("identity").String(v.identity.ToHex());
      }
      w.Key("message").String(root->message);
      w.EndObject();
    } else {
      std::printf("%8llu  %-20s  %-8s  %-8s  %12s  %s\n",
                  static_cast<unsigned long long>(v.revision), FormatTime(root->time_ns).c_str(),
                  HistoryChangeName(v.change), FileTypeName(v.type),
                  gone ? "-" : std::to_string(v.size).c_str(), root->message.c_str());
    }
    return true;
  });
  if (s.ok()) s = failed;
  if (!s.ok()) return Fail(s.WithContext(store_path));
  head();
  if (json) {
    w.EndArray();
    w.EndObject();
    std::printf("%s\n", w.str().c_str());
  }
  return kExitOk;
}

}  // namespace

Command AddLogCommand(CLI::App& app) {
  struct Args {
    std::string store;
    std::string path;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd =
      app.add_subcommand("log", "List the revisions of a store, or the versions of one path");
  cmd->add_option("STORE", args->store, "The store")->required();
  cmd->add_option("PATH", args->path,
                  "List the revisions in which PATH was added, changed or deleted instead");
  cmd->add_flag("--json", args->json, "Print one JSON document instead of a table");
  return {cmd, [args, cmd] {
    if (cmd->count("PATH")) return PrintPathLog(args->store, args->path, args->json);
    // Text needs the store only; JSON reads records too (one open for all,
    // so that a forget meanwhile cannot mix two states).
    std::unique_ptr<Store> plain;
    std::unique_ptr<Database> db;
    if (args->json) {
      auto opened = Database::Open(args->store, DatabaseOptions{});
      if (!opened.ok()) return Fail(opened.status());
      db = std::move(opened).value();
    } else {
      auto opened = Store::Open(args->store, StoreOptions{});
      if (!opened.ok()) return Fail(opened.status());
      plain = std::move(opened).value();
    }
    const Store& store = db ? db->store() : *plain;
    std::vector<RevisionRoot> roots;
    for (uint64_t n : store.KeptRevisions()) {
      auto root = store.ReadRevisionRoot(n);
      if (!root.ok()) return Fail(root.status().WithContext("revision " + std::to_string(n)));
      roots.push_back(std::move(root).value());
    }
    if (!db) {
      PrintText(store, roots);
      return kExitOk;
    }
    std::vector<std::vector<std::string>> exclusions;
    for (const RevisionRoot& r : roots) {
      auto trx = db->BeginRead(r.number);
      if (!trx.ok()) return Fail(trx.status().WithContext("revision " + std::to_string(r.number)));
      auto ex = ReadExclusions(**trx);
      if (!ex.ok()) return Fail(ex.status().WithContext("revision " + std::to_string(r.number)));
      exclusions.push_back(std::move(ex).value());
    }
    auto space = ComputeSpace(*db);
    if (!space.ok()) return Fail(space.status());
    PrintJson(store, roots, exclusions, *space);
    return kExitOk;
  }};
}

}  // namespace revfs::cli
