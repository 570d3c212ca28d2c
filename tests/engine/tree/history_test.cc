// The history index (engine/FORMAT.md, "The history of every path"),
// against brute force: a generated history of adds, edits, metadata-only
// changes, type changes, renames, deletions and re-creations of files,
// directories, symlinks and FIFOs is committed revision by revision; the
// versions of every path that ever existed, and the names ever seen in
// every directory, must equal what comparing every pair of consecutive
// revisions gives — after reopening, after `reindex`, and after forget and
// reindex (against the kept revisions only).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "revfs/history.h"
#include "revfs/retention.h"
#include "records/page_loader.h"
#include "revfs/tree.h"
#include "tree/history_records.h"
#include "support/engine_test.h"
#include "support/tree_mutator.h"
#include "util/hash.h"

namespace revfs::testing {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;

// What one revision holds at a path, as the history compares it.
struct Entry {
  FileType type;
  uint64_t ino;
  Digest256 identity;
  uint64_t size;
  int64_t mtime_ns;
  std::string content;   // a file's bytes' digest, a symlink's target
  std::string metadata;  // mode, owner, mtime, rdev
};
using Snapshot = std::map<std::string, Entry>;

class HistoryTest : public EngineTest, public ::testing::WithParamInterface<Versioning> {
 protected:
  void ReleaseResources() override { db_.reset(); }

  void SetUp() override {
    EngineTest::SetUp();
    src_ = Path("src");
    fs::create_directories(src_);
    StoreConfig config;
    config.versioning = GetParam();
    db_ = CreateStore("store", kT0, config);
    ASSERT_TRUE(db_);
  }

  void Snap(ReadTrx& trx, const std::string& path, const Inode& inode, Snapshot* out) {
    Entry e{inode.type, 0, inode.identity, inode.size, inode.mtime_ns, "", ""};
    e.metadata = std::to_string(inode.mode) + " " + std::to_string(inode.uid) + " " +
                 std::to_string(inode.gid) + " " + std::to_string(inode.mtime_ns) + " " +
                 std::to_string(inode.rdev);
    if (inode.type == FileType::kRegular) {
      std::string bytes;
      ASSERT_TRUE(ReadFile(*db_, trx, inode, 0, inode.size, [&](std::string_view p) {
                    bytes.append(p);
                    return Status::OK();
                  }).ok());
      e.content = HashBytes(bytes).ToHex();
    }
    if (inode.type == FileType::kSymlink) e.content = inode.symlink;
    if (inode.type != FileType::kDirectory) {
      (*out)[path] = e;
      return;
    }
    (*out)[path] = e;
    std::vector<std::pair<std::string, DirEntry>> children;
    ASSERT_TRUE(ListDirectory(trx, inode, "", [&](std::string_view n, const DirEntry& d) {
                  children.emplace_back(std::string(n), d);
                  return true;
                }).ok());
    for (const auto& [name, d] : children) {
      auto child = GetInode(trx, d.ino);
      ASSERT_TRUE(child.ok());
      const std::string p = path.empty() ? name : path + "/" + name;
      ASSERT_NO_FATAL_FAILURE(Snap(trx, p, *child, out));
      (*out)[p].ino = d.ino;
    }
  }
  Snapshot SnapshotOf(uint64_t revision) {
    Snapshot out;
    auto trx = db_->BeginRead(revision);
    EXPECT_TRUE(trx.ok());
    auto root = ResolvePath(**trx, "");
    if (root.ok()) Snap(**trx, "", root->second, &out);
    if (out.count("")) out[""].ino = root->first;
    return out;
  }

  // Brute force over consecutive revisions of `revisions`: path -> versions.
  std::map<std::string, std::vector<PathVersion>> Expected(const std::vector<uint64_t>& revisions) {
    std::map<std::string, std::vector<PathVersion>> out;
    Snapshot prev;
    std::optional<uint64_t> prev_revision;
    for (uint64_t r : revisions) {
      Snapshot cur = SnapshotOf(r);
      auto version = [&](const std::string& p, HistoryChange c, const Entry& e) {
        // The root is always there; its metadata is compared past
        // revision 0 (the empty tree's is the store's creation).
        if (p.empty() && (c != HistoryChange::kMetadata || prev_revision.value_or(0) == 0)) {
          return;
        }
        PathVersion v;
        v.revision = r;
        v.change = c;
        v.type = e.type;
        if (c != HistoryChange::kDeleted) {
          v.ino = e.ino;
          v.identity = e.identity;
          v.size = e.size;
          v.mtime_ns = e.mtime_ns;
        }
        out[p].push_back(v);
      };
      for (const auto& [p, e] : cur) {
        auto was = prev.find(p);
        if (was == prev.end()) {
          version(p, HistoryChange::kAdded, e);
        } else if (was->second.type != e.type) {
          version(p, HistoryChange::kTypeChanged, e);
        } else if (was->second.content != e.content && e.type != FileType::kDirectory) {
          version(p, HistoryChange::kModified, e);
        } else if (was->second.metadata != e.metadata) {
          version(p, HistoryChange::kMetadata, e);
        }
      }
      for (const auto& [p, e] : prev) {
        if (!cur.count(p)) version(p, HistoryChange::kDeleted, e);
      }
      prev = std::move(cur);
      prev_revision = r;
    }
    return out;
  }

  // Every path's versions and every directory's names, as the index of the
  // latest revision gives them, against `expected`.
  void Check(const std::map<std::string, std::vector<PathVersion>>& expected) {
    auto trx = db_->BeginRead(db_->store().latest_revision());
    ASSERT_TRUE(trx.ok());
    std::map<std::string, std::set<std::string>> names;
    for (const auto& [path, versions] : expected) {
      std::vector<PathVersion> got;
      Status s = ListVersions(**trx, path, [&](const PathVersion& v) {
        got.push_back(v);
        return true;
      });
      ASSERT_TRUE(s.ok()) << path << ": " << s.ToString();
      auto list = [](const std::vector<PathVersion>& vs) {
        std::string s;
        for (const PathVersion& v : vs) {
          s += std::to_string(v.revision) + HistoryChangeName(v.change) + " ";
        }
        return s;
      };
      ASSERT_EQ(got.size(), versions.size())
          << "path '" << path << "': got " << list(got) << "\nwant " << list(versions);
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].revision, versions[i].revision) << path << " #" << i;
        EXPECT_EQ(got[i].change, versions[i].change) << path << " #" << i << " r"
                                                      << versions[i].revision;
        EXPECT_EQ(got[i].type, versions[i].type) << path << " #" << i;
        EXPECT_EQ(got[i].ino, versions[i].ino) << path << " #" << i;
        EXPECT_EQ(got[i].identity, versions[i].identity) << path << " #" << i;
        EXPECT_EQ(got[i].size, versions[i].size) << path << " #" << i;
        EXPECT_EQ(got[i].mtime_ns, versions[i].mtime_ns) << path << " #" << i;
      }
      if (!path.empty()) {
        const size_t slash = path.rfind('/');
        names[slash == std::string::npos ? "" : path.substr(0, slash)].insert(
            slash == std::string::npos ? path : path.substr(slash + 1));
      }
    }
    for (const auto& [dir, want] : names) {
      std::set<std::string> got;
      ASSERT_TRUE(ListHistoryNames(**trx, dir, [&](std::string_view n) {
                    got.insert(std::string(n));
                    return true;
                  }).ok());
      EXPECT_EQ(got, want) << "names of '" << dir << "'";
    }
    auto never = ListVersions(**trx, "no/such/path", [](const PathVersion&) { return true; });
    EXPECT_TRUE(never.IsNotFound()) << never.ToString();
  }

  // Before reindex, versions made by forgotten revisions are shown at the
  // next kept one: at every kept revision, the last version shown says
  // whether the path is there, with which type and identity.
  void CheckForgottenView(const std::map<std::string, std::vector<PathVersion>>& all,
                          const std::vector<uint64_t>& kept) {
    std::map<uint64_t, Snapshot> snaps;
    for (uint64_t k : kept) snaps[k] = SnapshotOf(k);
    auto trx = db_->BeginRead(db_->store().latest_revision());
    ASSERT_TRUE(trx.ok());
    for (const auto& [path, unused] : all) {
      if (path.empty()) continue;  // the root always is
      std::vector<PathVersion> got;
      ASSERT_TRUE(ListVersions(**trx, path, [&](const PathVersion& v) {
                    got.push_back(v);
                    return true;
                  }).ok());
      for (const PathVersion& v : got) EXPECT_TRUE(snaps.count(v.revision)) << path;
      for (uint64_t k : kept) {
        const PathVersion* last = nullptr;
        for (const PathVersion& v : got) {
          if (v.revision <= k) last = &v;
        }
        auto it = snaps[k].find(path);
        if (!last || last->change == HistoryChange::kDeleted) {
          EXPECT_TRUE(it == snaps[k].end()) << path << " at " << k;
        } else {
          ASSERT_TRUE(it != snaps[k].end()) << path << " at " << k;
          EXPECT_EQ(last->type, it->second.type) << path << " at " << k;
          if (last->type != FileType::kDirectory) {  // a directory's changes with its contents
            EXPECT_EQ(last->identity, it->second.identity) << path << " at " << k;
          }
        }
      }
    }
  }

  // The readers by path id (the mount's) agree with ListVersions and
  // ListHistoryNames for every path in `paths`: resumed listings give the
  // rest, VersionAt finds each version given and only those, LastVersion
  // the last, and names resume after any name.
  void CheckIdReaders(const std::map<std::string, std::vector<PathVersion>>& paths) {
    auto trx = db_->BeginRead(db_->store().latest_revision());
    ASSERT_TRUE(trx.ok());
    const std::vector<uint64_t> kept = db_->store().KeptRevisions();
    for (const auto& [path, unused] : paths) {
      auto id = HistoryPathId(**trx, path);
      ASSERT_TRUE(id.ok()) << path << ": " << id.status().ToString();
      std::vector<std::pair<uint64_t, PathVersion>> all;
      ASSERT_TRUE(ListVersionsFrom(**trx, *id, 0, [&](uint64_t n, const PathVersion& v) {
                    all.emplace_back(n, v);
                    return true;
                  }).ok());
      std::set<uint64_t> given;
      ASSERT_TRUE(ListVersions(**trx, path, [&](const PathVersion& v) {
                    given.insert(v.revision);
                    return true;
                  }).ok());
      for (uint64_t r : given) {
        EXPECT_TRUE(std::any_of(all.begin(), all.end(), [&](const auto& e) {
          return e.second.revision == r;
        })) << path << " r" << r;
      }
      for (size_t i = 0; i < all.size(); ++i) {
        std::vector<uint64_t> rest;
        ASSERT_TRUE(ListVersionsFrom(**trx, *id, all[i].first, [&](uint64_t n, const PathVersion&) {
                      rest.push_back(n);
                      return true;
                    }).ok());
        ASSERT_EQ(rest.size(), all.size() - i) << path << " from " << all[i].first;
        EXPECT_EQ(rest.front(), all[i].first) << path;
      }
      for (uint64_t r : kept) {
        auto at = VersionAt(**trx, *id, r);
        ASSERT_TRUE(at.ok()) << at.status().ToString();
        auto want = std::find_if(all.begin(), all.end(),
                                 [&](const auto& e) { return e.second.revision == r; });
        if (want == all.end()) {
          EXPECT_FALSE(at->has_value()) << path << " r" << r;
        } else {
          ASSERT_TRUE(at->has_value()) << path << " r" << r;
          EXPECT_EQ(**at, want->second) << path << " r" << r;
        }
      }
      auto last = LastVersion(**trx, *id);
      ASSERT_TRUE(last.ok());
      ASSERT_EQ(last->has_value(), !all.empty()) << path;
      if (!all.empty()) {
        EXPECT_EQ(**last, all.back().second) << path;
      }
      std::vector<std::string> names;
      ASSERT_TRUE(ListHistoryChildren(**trx, *id, "", [&](std::string_view n, uint64_t child) {
                    auto by_name = HistoryChild(**trx, *id, n);
                    EXPECT_TRUE(by_name.ok() && *by_name == std::optional<uint64_t>(child)) << n;
                    names.emplace_back(n);
                    return true;
                  }).ok());
      for (size_t i = 0; i < names.size(); ++i) {
        size_t count = 0;
        ASSERT_TRUE(ListHistoryChildren(**trx, *id, names[i], [&](std::string_view n, uint64_t) {
                      EXPECT_EQ(n, names[i + 1 + count]);
                      ++count;
                      return true;
                    }).ok());
        EXPECT_EQ(count, names.size() - i - 1) << path << " after " << names[i];
      }
      auto none = HistoryChild(**trx, *id, "no such name");
      ASSERT_TRUE(none.ok());
      EXPECT_FALSE(none->has_value());
    }
  }

  void CommitHistory(int revisions, int first = 1) {
    std::mt19937 rng(GetParam() == Versioning::kSliding ? 7 : 11);
    for (int r = first; r < first + revisions; ++r) {
      const int changes = 1 + static_cast<int>(rng() % 3);
      for (int k = 0; k < changes; ++k) {
        ASSERT_TRUE(MutateTree(src_, {"a", "b", "c", "d/x", "d/y", "d/e/z", "f", "g/h"}, rng, r));
      }
      CaptureOptions o;
      o.time_ns = kT0 + r * 1'000'000'000LL;
      auto s = CaptureTree(*db_, src_, o);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
    }
  }

  std::vector<uint64_t> AllRevisions() {
    std::vector<uint64_t> all;
    for (uint64_t r = 0; r <= db_->store().latest_revision(); ++r) all.push_back(r);
    return all;
  }

  std::string src_;
  std::unique_ptr<Database> db_;
};

TEST_P(HistoryTest, EveryPathsVersionsEqualBruteForce) {
  ASSERT_NO_FATAL_FAILURE(CommitHistory(300));
  const auto expected = Expected(AllRevisions());
  ASSERT_GT(expected.size(), 10u);
  ASSERT_NO_FATAL_FAILURE(Check(expected));
  ASSERT_NO_FATAL_FAILURE(CheckIdReaders(expected));
  db_.reset();
  db_ = OpenStore("store");
  ASSERT_NO_FATAL_FAILURE(Check(expected));
  auto entries = Reindex(*db_);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_NO_FATAL_FAILURE(Check(expected));
  VerifyReport verify;
  ASSERT_TRUE(db_->Verify(&verify, CheckTreeRecord).ok());
  for (const auto& d : verify.damage) ADD_FAILURE() << d.file << " " << d.offset << " " << d.what;

  // Forget two of every three revisions; reindexed, the history is that of
  // the kept revisions.
  std::vector<uint64_t> forget, kept;
  for (uint64_t r = 0; r <= db_->store().latest_revision(); ++r) {
    (r % 3 != 0 && r != db_->store().latest_revision() ? forget : kept).push_back(r);
  }
  ASSERT_TRUE(db_->store().Forget(forget).ok());
  ASSERT_NO_FATAL_FAILURE(CheckForgottenView(expected, kept));
  ASSERT_NO_FATAL_FAILURE(CheckIdReaders(expected));
  // Prune drops what only forgotten revisions reach and rewrites the kept
  // ones' chains: the index reads the same.
  PruneOptions prune;
  prune.max_unused_percent = 0;
  auto pruned = Prune(*db_, prune);
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_LT(pruned->store_bytes_after, pruned->store_bytes_before);
  ASSERT_NO_FATAL_FAILURE(CheckForgottenView(expected, kept));
  ASSERT_NO_FATAL_FAILURE(CheckIdReaders(expected));
  verify = VerifyReport{};
  ASSERT_TRUE(db_->Verify(&verify, CheckTreeRecord).ok());
  for (const auto& d : verify.damage) ADD_FAILURE() << d.file << " " << d.offset << " " << d.what;
  ASSERT_TRUE(Reindex(*db_).ok());
  ASSERT_NO_FATAL_FAILURE(Check(Expected(kept)));
  // And commits go on from there.
  ASSERT_NO_FATAL_FAILURE(CommitHistory(5, 301));
  kept.clear();
  for (uint64_t r : db_->store().KeptRevisions()) kept.push_back(r);
  ASSERT_NO_FATAL_FAILURE(Check(Expected(kept)));
}

// A commit of more changed paths than the writer holds at once (8,192)
// writes them in batches, each reading back what the one before wrote:
// every path gets one id, every directory every name, every path its entry.
TEST_P(HistoryTest, ManyChangesAreWrittenInBatches) {
  constexpr int kDirs = 2, kFiles = 4500;  // d1's names span both batches
  for (int d = 0; d < kDirs; ++d) {
    fs::create_directories(src_ + "/d" + std::to_string(d));
    for (int f = 0; f < kFiles; ++f) {
      std::ofstream(src_ + "/d" + std::to_string(d) + "/f" + std::to_string(f)) << d << f;
    }
  }
  CaptureOptions o;
  o.time_ns = kT0 + 1'000'000'000;
  auto c = CaptureTree(*db_, src_, o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  fs::remove_all(src_ + "/d1");  // 4,501 deletions, then re-adds
  o.time_ns = kT0 + 2'000'000'000;
  ASSERT_TRUE(CaptureTree(*db_, src_, o).ok());
  fs::create_directories(src_ + "/d1");
  for (int f = 0; f < kFiles; f += 2) std::ofstream(src_ + "/d1/f" + std::to_string(f)) << "again";
  o.time_ns = kT0 + 3'000'000'000;
  ASSERT_TRUE(CaptureTree(*db_, src_, o).ok());

  auto first = db_->store().ReadRevisionRoot(1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->Counter("history_entries"), uint64_t{kDirs * (kFiles + 1)});
  EXPECT_EQ(first->Counter("history_paths"), uint64_t{kDirs * (kFiles + 1)});
  EXPECT_EQ(first->Counter("history_batches"), 2u);  // 9,002 paths
  auto trx = db_->BeginRead(3);
  ASSERT_TRUE(trx.ok());
  for (int d = 0; d < kDirs; ++d) {
    const std::string dir = "d" + std::to_string(d);
    std::set<std::string> names;
    ASSERT_TRUE(ListHistoryNames(**trx, dir, [&](std::string_view n) {
                  names.insert(std::string(n));
                  return true;
                }).ok());
    EXPECT_EQ(names.size(), static_cast<size_t>(kFiles)) << dir;
    for (int f : {0, 1, 4095, 4096, kFiles - 1}) {
      std::vector<std::pair<uint64_t, HistoryChange>> got;
      ASSERT_TRUE(ListVersions(**trx, dir + "/f" + std::to_string(f), [&](const PathVersion& v) {
                    got.emplace_back(v.revision, v.change);
                    return true;
                  }).ok());
      std::vector<std::pair<uint64_t, HistoryChange>> want = {{1, HistoryChange::kAdded}};
      if (d == 1) want.emplace_back(2, HistoryChange::kDeleted);
      if (d == 1 && f % 2 == 0) want.emplace_back(3, HistoryChange::kAdded);
      EXPECT_EQ(got, want) << dir << "/f" << f;
    }
  }
  VerifyReport verify;
  ASSERT_TRUE(db_->Verify(&verify, CheckTreeRecord).ok());
  EXPECT_TRUE(verify.damage.empty());
}

// revfs watch reads the index's path records and names maps ahead: after
// that, looking paths up reads no page from the store; a budget stops it.
TEST_P(HistoryTest, WarmedLookupsReadNothingFromTheStore) {
  for (int d = 0; d < 2; ++d) {
    fs::create_directories(src_ + "/d" + std::to_string(d));
    for (int f = 0; f < 1500; ++f) {
      std::ofstream(src_ + "/d" + std::to_string(d) + "/file" + std::to_string(f)) << f;
    }
  }
  CaptureOptions o;
  o.time_ns = kT0 + 1'000'000'000;
  ASSERT_TRUE(CaptureTree(*db_, src_, o).ok());
  auto trx = db_->BeginRead(1);
  ASSERT_TRUE(trx.ok());
  auto misses = [&] { return db_->page_loader().stats()[1].misses; };
  auto look_up = [&] {
    for (int f = 0; f < 1500; f += 7) {
      for (const char* d : {"d0/file", "d1/file"}) {
        ASSERT_TRUE(HistoryPathId(**trx, d + std::to_string(f)).ok()) << d << f;
      }
    }
  };
  db_->ClearCaches();
  uint64_t before = misses();
  look_up();
  EXPECT_GT(misses(), before) << "lookups read from the store when nothing is cached";
  db_->ClearCaches();
  auto warmed = WarmHistoryLookups(**trx, uint64_t{1} << 30);
  ASSERT_TRUE(warmed.ok()) << warmed.status().ToString();
  EXPECT_GT(*warmed, 3000u * 5);  // a record per path, each with its name
  before = misses();
  look_up();
  EXPECT_EQ(misses(), before);
  db_->ClearCaches();
  auto bounded = WarmHistoryLookups(**trx, 100);
  ASSERT_TRUE(bounded.ok());
  EXPECT_GE(*bounded, 100u);
  EXPECT_LT(*bounded, *warmed / 10);
}

// verify decodes the index's records: a malformed one is named.
TEST(HistoryRecordsTest, VerifyChecksEveryKindOfRecord) {
  PathVersion v;
  v.revision = 3;
  v.ino = 9;
  EXPECT_EQ(CheckTreeRecord(kVersionBase | uint64_t{1} << 42 | 5 << 8 | 2, history::EncodeVersion(v)),
            "");
  EXPECT_EQ(CheckTreeRecord(kVersionBase | uint64_t{1} << 42 | 5 << 8 | 2, "\x03\x09"),
            "history path 5 entry 18: history version entry: malformed");
  history::PathRecord p;
  p.parent = 1;
  p.name = "a";
  EXPECT_EQ(CheckTreeRecord(kPathBase | 5, history::EncodePath(p)), "");
  EXPECT_NE(CheckTreeRecord(kPathBase | 5, history::EncodePath(p) + "x"), "");
  EXPECT_EQ(CheckTreeRecord(kMetaKey | kHistoryKey, history::EncodeHeader({})), "");
  EXPECT_EQ(CheckTreeRecord(kMetaKey | kHistoryKey, "H"), "history header: history header: malformed");
}

INSTANTIATE_TEST_SUITE_P(Approaches, HistoryTest,
                         ::testing::Values(Versioning::kSliding, Versioning::kIncremental));

}  // namespace
}  // namespace revfs::testing
