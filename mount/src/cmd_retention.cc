// revfs forget / hold / release: letting go of revisions and protecting them.
//
//   revfs forget STORE [REV...] [--keep-last N] [--keep-hourly N] ...
//       [--keep-within DURATION] [--dry-run] [--json]
// forgets the named revisions and those no --keep-* policy keeps (restic's
// semantics, revfs/retention.h; buckets in UTC). The latest revision and
// held ones are always kept; naming one is an error. --dry-run prints the
// decision and changes nothing.
//   revfs hold STORE REV [--tag NAME]   /   revfs release STORE REV
#include <charconv>
#include <cstdio>
#include <memory>
#include <set>
#include <string>

#include "cli.h"
#include "revfs/json.h"
#include "revfs/retention.h"
#include "revfs/store.h"
#include "revfs/time_util.h"

namespace revfs::cli {
namespace {

// Parses --keep-NAME's value: a whole number 1..kMaxKeep.
Result<uint64_t> ParseKeep(const std::string& name, const std::string& text) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1 || n > kMaxKeep) {
    return Status::InvalidArgument("--keep-" + name + " '" + text +
                                   "': expected a number from 1 to " + std::to_string(kMaxKeep));
  }
  return n;
}

struct ForgetArgs {
  std::string store;
  std::vector<std::string> revisions;
  std::string last, hourly, daily, weekly, monthly, yearly, within;
  bool dry_run = false;
  bool json = false;
};

Result<RetentionPolicy> PolicyOf(const ForgetArgs& a) {
  RetentionPolicy p;
  std::pair<const char*, std::pair<const std::string*, uint64_t*>> keeps[] = {
      {"last", {&a.last, &p.last}},       {"hourly", {&a.hourly, &p.hourly}},
      {"daily", {&a.daily, &p.daily}},    {"weekly", {&a.weekly, &p.weekly}},
      {"monthly", {&a.monthly, &p.monthly}}, {"yearly", {&a.yearly, &p.yearly}}};
  for (auto& [name, field] : keeps) {
    if (field.first->empty()) continue;
    REVFS_ASSIGN_OR_RETURN(*field.second, ParseKeep(name, *field.first));
  }
  if (!a.within.empty()) {
    REVFS_ASSIGN_OR_RETURN(p.within, ParseKeepWithin(a.within));
  }
  return p;
}

int RunForget(const ForgetArgs& a) {
  auto policy = PolicyOf(a);
  if (!policy.ok()) return Fail(policy.status());
  if (a.revisions.empty() && policy->empty()) {
    return Fail("forget", "name revisions or a --keep-* policy (nothing would be forgotten)");
  }
  auto db = Database::Open(a.store, StoreOpenOptions(!a.dry_run));
  if (!db.ok()) return Fail(db.status());
  Store& store = (*db)->store();
  std::set<uint64_t> forget;
  for (const std::string& name : a.revisions) {
    auto n = ResolveRevision(**db, name);
    if (!n.ok()) return Fail(n.status());
    forget.insert(*n);
  }
  std::vector<uint64_t> held;
  for (const RevisionHold& h : store.Holds()) held.push_back(h.revision);
  PolicyDecision decision;
  if (!policy->empty()) {
    std::vector<RevisionTime> times;
    for (uint64_t n : store.KeptRevisions()) {
      auto e = store.GetRevision(n);
      if (!e.ok()) return Fail(e.status());
      times.push_back({n, e->time_ns});
    }
    decision = ApplyRetentionPolicy(std::move(times), *policy, held);
    forget.insert(decision.forget.begin(), decision.forget.end());
  }
  const std::vector<uint64_t> list(forget.begin(), forget.end());
  // Checked before anything is written, and again by Store::Forget.
  const RetentionState retention = store.retention();
  for (uint64_t n : list) {
    const std::string name = "revision " + std::to_string(n);
    if (n == store.latest_revision()) {
      return Fail(Status::InvalidArgument(name + " is the latest; it cannot be forgotten"));
    }
    if (const RevisionHold* h = retention.HoldOf(n)) {
      return Fail(Status::InvalidArgument(
          name + " is held" + (h->tag.empty() ? "" : " (tag " + h->tag + ")") +
          "; release it first"));
    }
  }
  if (!a.dry_run && !list.empty()) {
    Status s = store.Forget(list);
    if (!s.ok()) return Fail(s);
  }
  const std::vector<uint64_t> kept = a.dry_run ? [&] {
    std::vector<uint64_t> k;
    for (uint64_t n : store.KeptRevisions()) {
      if (!forget.count(n)) k.push_back(n);
    }
    return k;
  }() : store.KeptRevisions();
  if (a.json) {
    JsonWriter w;
    w.BeginObject();
    w.Key("dry_run").Bool(a.dry_run);
    w.Key("forget").BeginArray();
    for (uint64_t n : list) w.Uint(n);
    w.EndArray();
    w.Key("keep").BeginArray();
    for (uint64_t n : kept) w.Uint(n);
    w.EndArray();
    w.Key("reasons").BeginObject();
    for (size_t i = 0; i < decision.keep.size(); ++i) {
      w.Key(std::to_string(decision.keep[i])).BeginArray();
      for (const std::string& why : decision.reasons[i]) w.String(why);
      w.EndArray();
    }
    w.EndObject();
    w.EndObject();
    std::printf("%s\n", w.str().c_str());
    return kExitOk;
  }
  std::string names;
  for (uint64_t n : list) names += (names.empty() ? "" : " ") + std::to_string(n);
  std::printf("%s %zu revision%s%s%s; %zu kept\n", a.dry_run ? "would forget" : "forgot",
              list.size(), list.size() == 1 ? "" : "s", names.empty() ? "" : ": ",
              names.c_str(), kept.size());
  return kExitOk;
}

}  // namespace

Command AddForgetCommand(CLI::App& app) {
  auto a = std::make_shared<ForgetArgs>();
  CLI::App* cmd = app.add_subcommand(
      "forget", "Forget revisions: named ones and those no --keep-* policy keeps");
  cmd->add_option("STORE", a->store, "The store")->required();
  cmd->add_option("REV", a->revisions, "Revisions to forget (number or @TIME)");
  const std::pair<const char*, std::string*> keeps[] = {
      {"--keep-last", &a->last},       {"--keep-hourly", &a->hourly},
      {"--keep-daily", &a->daily},     {"--keep-weekly", &a->weekly},
      {"--keep-monthly", &a->monthly}, {"--keep-yearly", &a->yearly}};
  for (const auto& [flag, field] : keeps) {
    cmd->add_option(flag, *field, "Keep the newest revision of each of the last N periods "
                                  "(UTC; last: the N newest revisions)")
        ->type_name("N");
  }
  cmd->add_option("--keep-within", a->within,
                  "Keep revisions within DURATION (like 1y6m, 7d, 36h) of the newest")
      ->type_name("DURATION");
  cmd->add_flag("--dry-run", a->dry_run, "Print what would be forgotten; change nothing");
  cmd->add_flag("--json", a->json, "Print one JSON document");
  return {cmd, [a] { return RunForget(*a); }};
}

Command AddHoldCommand(CLI::App& app) {
  struct Args {
    std::string store, rev, tag;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("hold", "Protect a revision from forget");
  cmd->add_option("STORE", a->store, "The store")->required();
  cmd->add_option("REV", a->rev, "The revision (number, latest or @TIME)")->required();
  cmd->add_option("--tag", a->tag, "A name for the hold (at most 255 bytes)")
      ->type_name("NAME");
  return {cmd, [a] {
    auto db = Database::Open(a->store, StoreOpenOptions(true));
    if (!db.ok()) return Fail(db.status());
    auto n = ResolveRevision(**db, a->rev);
    if (!n.ok()) return Fail(n.status());
    Status s = (*db)->store().Hold(*n, a->tag);
    if (!s.ok()) return Fail(s);
    std::printf("held revision %llu%s\n", static_cast<unsigned long long>(*n),
                a->tag.empty() ? "" : (" (tag " + a->tag + ")").c_str());
    return kExitOk;
  }};
}

Command AddReleaseCommand(CLI::App& app) {
  struct Args {
    std::string store, rev;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("release", "Release a revision's hold");
  cmd->add_option("STORE", a->store, "The store")->required();
  cmd->add_option("REV", a->rev, "The revision (number, latest or @TIME)")->required();
  return {cmd, [a] {
    auto db = Database::Open(a->store, StoreOpenOptions(true));
    if (!db.ok()) return Fail(db.status());
    auto n = ResolveRevision(**db, a->rev);
    if (!n.ok()) return Fail(n.status());
    Status s = (*db)->store().Release(*n);
    if (!s.ok()) return Fail(s);
    std::printf("released revision %llu\n", static_cast<unsigned long long>(*n));
    return kExitOk;
  }};
}

}  // namespace revfs::cli
