// revfs init STORE: makes a new store holding revision 0, the empty tree.
// revfs upgrade STORE: turns a store of the previous format into this one.
// revfs reindex STORE: builds the history index of every kept revision.
#include <cstdio>
#include <memory>
#include <string>

#include "cli.h"
#include "revfs/database.h"
#include "revfs/history.h"
#include "revfs/store.h"
#include "revfs/time_util.h"
#include "revfs/tree.h"

namespace revfs::cli {

Command AddInitCommand(CLI::App& app) {
  struct Args {
    std::string store;
    std::string versioning = "sliding";
    uint32_t window = StoreConfig{}.window;
    uint32_t full_dump_every = StoreConfig{}.full_dump_every;
    std::string compression = "zstd:3";
    std::string segment_size = "128MiB";
    std::string time;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("init", "Make a new, empty store (revision 0)");
  cmd->add_option("STORE", args->store, "Directory to create")->required();
  cmd->add_option("--versioning", args->versioning,
                  "How changed record pages are written: full, incremental, "
                  "differential or sliding")
      ->capture_default_str();
  cmd->add_option("--window", args->window,
                  "Sliding snapshot: most fragments a read combines (2..64)")
      ->capture_default_str();
  cmd->add_option("--full-dump-every", args->full_dump_every,
                  "Incremental/differential: a full page every N versions (1..1024)")
      ->capture_default_str();
  cmd->add_option("--compression", args->compression,
                  "Content compression: none, zstd or zstd:LEVEL (1..19)")
      ->capture_default_str();
  cmd->add_option("--segment-size", args->segment_size,
                  "Size at which the page log starts a new segment file: bytes or a number "
                  "with K, M, G or T (64KiB..1TiB); prune rewrites whole segments")
      ->capture_default_str();
  cmd->add_option("--time", args->time,
                  "Time of revision 0, ISO-8601 (default: now); commits may not be earlier "
                  "(importing an older history needs an older start)");
  return {cmd, [args] {
    StoreConfig config;
    auto versioning = ParseVersioning(args->versioning);
    if (!versioning.ok()) return Fail(versioning.status());
    config.versioning = *versioning;
    config.window = args->window;
    config.full_dump_every = args->full_dump_every;
    Status s = ParseCompression(args->compression, &config);
    if (s.ok()) s = ParseSegmentSize(args->segment_size, &config);
    if (s.ok()) s = config.Validate();
    if (!s.ok()) return Fail(s);
    int64_t created = NowNanos();
    if (!args->time.empty()) {
      auto t = ParseTime(args->time);
      if (!t.ok()) return Fail(t.status().WithContext("--time"));
      created = *t;
    }
    s = Store::Create(args->store, config, StoreOptions{}, created);
    if (!s.ok()) return Fail(s.WithContext("init"));
    std::printf("initialized store %s (versioning %s, compression %s, segment size %s)\n",
                args->store.c_str(), VersioningName(config.versioning),
                CompressionName(config.compression, config.compression_level).c_str(),
                SegmentSizeName(config.segment_size).c_str());
    return kExitOk;
  }};
}

Command AddUpgradeCommand(CLI::App& app) {
  auto store = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "upgrade", "Turn a store of format 2 into format " + std::to_string(kStoreFormatVersion));
  cmd->add_option("STORE", *store, "The store")->required();
  return {cmd, [store] {
    UpgradeReport report;
    Status s = Store::Upgrade(*store, StoreOptions{}, &report);
    if (!s.ok()) return Fail(s.WithContext("upgrade"));
    // Step 3: format 2's chunk index leaves the latest revision.
    auto db = Database::Open(*store, StoreOpenOptions(true));
    if (!db.ok()) return Fail(db.status().WithContext("upgrade"));
    bool pending = ((*db)->store().superblock().flags & kFlagFormat2Index) != 0;
    auto dropped = FinishUpgrade(**db);
    if (!dropped.ok()) return Fail(dropped.status().WithContext("upgrade " + *store));
    // Format 2 kept no history index: built once, as `revfs reindex` does.
    uint64_t indexed = 0;
    auto latest = (*db)->BeginRead((*db)->store().latest_revision());
    if (!latest.ok()) return Fail(latest.status().WithContext("upgrade " + *store));
    auto has = HasHistory(**latest);
    if (!has.ok()) return Fail(has.status().WithContext("upgrade " + *store));
    latest->reset();
    if (!*has) {
      auto entries = Reindex(**db);
      if (!entries.ok()) return Fail(entries.status().WithContext("upgrade " + *store));
      indexed = *entries;
      pending = true;
    }
    if (report.from_format != kStoreFormatVersion) {
      std::printf("upgraded %s from format %u to %u (%llu revisions, %.1f MiB of pages; %llu "
                  "chunk index records of format 2 dropped; %llu history entries)\n",
                  store->c_str(), report.from_format, kStoreFormatVersion,
                  static_cast<unsigned long long>(report.revisions),
                  static_cast<double>(report.page_bytes) / (1 << 20),
                  static_cast<unsigned long long>(*dropped),
                  static_cast<unsigned long long>(indexed));
    } else if (pending) {
      std::printf("finished the upgrade of %s to format %u (%llu chunk index records of format "
                  "2 dropped; %llu history entries)\n",
                  store->c_str(), kStoreFormatVersion, static_cast<unsigned long long>(*dropped),
                  static_cast<unsigned long long>(indexed));
    } else {
      std::printf("%s is already of format %u; nothing to do\n", store->c_str(),
                  kStoreFormatVersion);
    }
    return kExitOk;
  }};
}

Command AddReindexCommand(CLI::App& app) {
  auto store = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "reindex", "Build the history index of every kept revision (revfs log STORE PATH)");
  cmd->add_option("STORE", *store, "The store")->required();
  return {cmd, [store] {
    auto db = Database::Open(*store, StoreOpenOptions(true));
    if (!db.ok()) return Fail(db.status().WithContext("reindex"));
    auto entries = Reindex(**db);
    if (!entries.ok()) return Fail(entries.status().WithContext("reindex " + *store));
    std::printf("reindexed %s: %zu revisions, %llu history entries\n", store->c_str(),
                (*db)->store().KeptRevisions().size(), static_cast<unsigned long long>(*entries));
    return kExitOk;
  }};
}

}  // namespace revfs::cli
