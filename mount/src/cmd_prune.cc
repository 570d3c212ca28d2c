// revfs prune: gives back the space of what only forgotten revisions used
// (revfs/retention.h Prune; engine/FORMAT.md, "Prune").
#include <cstdio>
#include <memory>
#include <string>

#include "cli.h"
#include "revfs/inode.h"
#include "revfs/json.h"
#include "revfs/retention.h"

namespace revfs::cli {
namespace {

struct PruneArgs {
  std::string store;
  int max_unused = 10;
  bool dry_run = false;
  bool json = false;
};

double MiB(uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

int RunPrune(const PruneArgs& a) {
  if (a.max_unused < 0 || a.max_unused > 100) {
    return Fail("--max-unused", std::to_string(a.max_unused) + " is not a percentage (0 to 100)");
  }
  auto db = Database::Open(a.store, StoreOpenOptions(!a.dry_run));
  if (!db.ok()) return Fail(db.status());
  PruneOptions options;
  options.max_unused_percent = static_cast<uint32_t>(a.max_unused);
  options.dry_run = a.dry_run;
  auto r = Prune(**db, options);
  if (!r.ok()) return Fail(r.status().WithContext("prune " + a.store));
  const PackReport& p = r->pack;
  if (a.json) {
    JsonWriter w;
    w.BeginObject();
    w.Key("dry_run").Bool(a.dry_run);
    w.Key("kept_revisions").Uint(r->kept_revisions);
    w.Key("forgotten_revisions").Uint(r->forgotten_revisions);
    w.Key("live_bytes").Uint(r->live.live_bytes);
    w.Key("segments_packed").Uint(p.segments_packed);
    w.Key("segments_deleted").Uint(p.segments_deleted);
    w.Key("leftovers_removed").Uint(p.leftovers_removed);
    w.Key("bytes_copied").Uint(p.bytes_copied);
    w.Key("store_bytes_before").Uint(r->store_bytes_before);
    w.Key("store_bytes_after").Uint(r->store_bytes_after);
    w.Key("stale_fragment_bytes").Uint(r->stale_fragment_bytes);
    w.Key("rewritten_revisions").Uint(r->rewritten_revisions);
    w.Key("rewrite_bytes").Uint(r->rewrite_bytes);
    w.Key("rewrite_records").Uint(r->rewrite_records);
    // What the live bytes are (a delta base: a chunk only live deltas need).
    w.Key("live").BeginObject();
    w.Key("revision_roots").Uint(r->live.revision_root_bytes);
    w.Key("indirect_pages").Uint(r->live.indirect_bytes);
    w.Key("fragments").Uint(r->live.fragment_bytes);
    w.Key("chunks").Uint(r->live.chunk_bytes);
    w.Key("delta_bases").Uint(r->live.delta_base_bytes);
    w.EndObject();
    // The fragments by the records their leaves hold.
    const auto& by_kind = r->live.fragment_bytes_by_record_kind;
    w.Key("fragments_by_records").BeginObject();
    w.Key("inodes").Uint(by_kind[kInodeBase >> 60]);
    w.Key("map_blocks").Uint(by_kind[kMapBlockBase >> 60]);
    w.Key("chunk_index").Uint(by_kind[kChunkIndexBase >> 60]);
    w.Key("chunk_log").Uint(by_kind[kChunkLogBase >> 60]);
    uint64_t other = 0;
    for (size_t k = 0; k < by_kind.size(); ++k) {
      if (k < (kInodeBase >> 60) || k > (kChunkLogBase >> 60)) other += by_kind[k];
    }
    w.Key("other").Uint(other);
    w.EndObject();
    w.EndObject();
    std::printf("%s\n", w.str().c_str());
    return kExitOk;
  }
  if (a.dry_run) {
    std::printf("would pack %llu segment%s and delete %llu: %.1f MiB -> %.1f MiB (%llu "
                "revisions kept, %llu forgotten); would rewrite %llu kept revision%s\n",
                static_cast<unsigned long long>(p.segments_packed),
                p.segments_packed == 1 ? "" : "s",
                static_cast<unsigned long long>(p.segments_deleted), MiB(r->store_bytes_before),
                MiB(r->store_bytes_after), static_cast<unsigned long long>(r->kept_revisions),
                static_cast<unsigned long long>(r->forgotten_revisions),
                static_cast<unsigned long long>(r->rewritten_revisions),
                r->rewritten_revisions == 1 ? "" : "s");
    return kExitOk;
  }
  std::printf("packed %llu segment%s, deleted %llu: %.1f MiB -> %.1f MiB (%llu revisions kept, "
              "%llu forgotten, %llu rewritten)\n",
              static_cast<unsigned long long>(p.segments_packed), p.segments_packed == 1 ? "" : "s",
              static_cast<unsigned long long>(p.segments_deleted), MiB(r->store_bytes_before),
              MiB(r->store_bytes_after), static_cast<unsigned long long>(r->kept_revisions),
              static_cast<unsigned long long>(r->forgotten_revisions),
              static_cast<unsigned long long>(r->rewritten_revisions));
  return kExitOk;
}

}  // namespace

Command AddPruneCommand(CLI::App& app) {
  auto a = std::make_shared<PruneArgs>();
  CLI::App* cmd =
      app.add_subcommand("prune", "Give back the space only forgotten revisions used");
  cmd->add_option("STORE", a->store, "The store")->required();
  cmd->add_option("--max-unused", a->max_unused,
                  "Leave a segment as it is while at most PERCENT of it is dead (default 10)")
      ->type_name("PERCENT");
  cmd->add_flag("--dry-run", a->dry_run, "Print what would be packed and deleted; change nothing");
  cmd->add_flag("--json", a->json, "Print one JSON document");
  return {cmd, [a] { return RunPrune(*a); }};
}

}  // namespace revfs::cli
