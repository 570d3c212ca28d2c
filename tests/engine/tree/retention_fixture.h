// The fixture of the retention tests over real trees: a source tree changed
// and committed revision by revision (every kind of entry, a big file edited
// now and then, a text file stored as deltas), manifests of the source and of
// what a revision stores, and a RecordingEnv that notes every read of
// segment 0.
#ifndef REVFS_TESTS_ENGINE_TREE_RETENTION_FIXTURE_H_
#define REVFS_TESTS_ENGINE_TREE_RETENTION_FIXTURE_H_

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <cstring>
#include <set>

#include "env/env.h"
#include "revfs/retention.h"
#include "revfs/tree.h"
#include "support/engine_test.h"


namespace revfs::testing {

namespace fs = std::filesystem;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int64_t kHour = 3600'000'000'000LL;

// Records every read of STORE/segments/0000000000 (segment 0, where an
// address is the offset): (offset, length, direct).
class RecordingEnv : public EnvWrapper {
 public:
  struct ReadOp {
    uint64_t offset;
    size_t n;
    bool direct;
  };
  RecordingEnv() : EnvWrapper(Env::Default()) {}
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    REVFS_ASSIGN_OR_RETURN(auto file, EnvWrapper::NewRandomAccessFile(path));
    if (!path.ends_with("/segments/0000000000")) return file;
    return std::unique_ptr<RandomAccessFile>(new File(this, std::move(file)));
  }
  std::vector<ReadOp> Take() {
    std::lock_guard<std::mutex> l(mu_);
    return std::exchange(reads_, {});
  }

 private:
  class File : public RandomAccessFile {
   public:
    File(RecordingEnv* env, std::unique_ptr<RandomAccessFile> f) : env_(env), f_(std::move(f)) {}
    Status Read(uint64_t offset, size_t n, char* dst, size_t* got) const override {
      env_->Note({offset, n, false});
      return f_->Read(offset, n, dst, got);
    }
    Status ReadDirect(uint64_t offset, size_t n, char* dst, size_t* got) const override {
      env_->Note({offset, n, true});
      return f_->ReadDirect(offset, n, dst, got);
    }
    Result<uint64_t> Size() const override { return f_->Size(); }

   private:
    RecordingEnv* env_;
    std::unique_ptr<RandomAccessFile> f_;
  };
  void Note(ReadOp op) {
    std::lock_guard<std::mutex> l(mu_);
    reads_.push_back(op);
  }
  std::mutex mu_;
  std::vector<ReadOp> reads_;
};

inline std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&s[i], &v, 8);
  }
  return s;
}

// A tree's entries: path -> type, mode, size, mtime, link target, content.
using Manifest = std::map<std::string, std::string>;

inline void SourceManifest(const std::string& root, const std::string& rel, Manifest* m) {
  for (const auto& de : fs::directory_iterator(root + rel)) {
    const std::string r = rel + "/" + de.path().filename().string();
    struct stat st;
    ASSERT_EQ(::lstat((root + r).c_str(), &st), 0);
    std::string d = std::to_string(st.st_mode) + " " +
                    std::to_string(st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec);
    if (S_ISREG(st.st_mode)) {
      std::ifstream f(root + r, std::ios::binary);
      d += " " + std::to_string(st.st_size) + " " +
           std::to_string(std::hash<std::string>()(std::string(
               std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>())));
    }
    if (S_ISLNK(st.st_mode)) d += " -> " + fs::read_symlink(root + r).string();
    (*m)[r] = d;
    if (S_ISDIR(st.st_mode)) SourceManifest(root, r, m);
  }
}

inline void StoredManifest(Database& db, ReadTrx& trx, const Inode& dir, const std::string& rel,
                    Manifest* m) {
  std::vector<std::pair<std::string, uint64_t>> entries;
  ASSERT_TRUE(ListDirectory(trx, dir, "", [&](std::string_view n, const DirEntry& e) {
                entries.emplace_back(std::string(n), e.ino);
                return true;
              }).ok());
  for (const auto& [name, ino] : entries) {
    auto inode = GetInode(trx, ino);
    ASSERT_TRUE(inode.ok()) << inode.status().ToString();
    const std::string r = rel + "/" + name;
    std::string d = std::to_string(inode->mode) + " " + std::to_string(inode->mtime_ns);
    if (inode->type == FileType::kRegular) {
      std::string content;
      Status s = ReadFile(db, trx, *inode, 0, inode->size, [&](std::string_view p) {
        content.append(p);
        return Status::OK();
      });
      ASSERT_TRUE(s.ok()) << r << ": " << s.ToString();
      d += " " + std::to_string(inode->size) + " " +
           std::to_string(std::hash<std::string>()(content));
    }
    if (inode->type == FileType::kSymlink) d += " -> " + inode->symlink;
    (*m)[r] = d;
    if (inode->type == FileType::kDirectory) StoredManifest(db, trx, *inode, r, m);
  }
}

class RetentionTreeTest : public EngineTest {
 protected:
  void ReleaseResources() override { db_.reset(); }

  void Make(const StoreConfig& config) {
    src_ = Path("src");
    fs::create_directories(src_ + "/dir/sub");
    fs::create_directory(src_ + "/empty");
    ASSERT_TRUE(Store::Create(Path("store"), config, {}, kT0).ok());
    Open(nullptr);
  }
  // A store of `versioning` with short chains (window 3, a full dump every
  // 4) in 256 KiB segments, so that a few revisions span several segments.
  void MakeSmallSegments(Versioning versioning) {
    StoreConfig config;
    config.versioning = versioning;
    config.window = 3;
    config.full_dump_every = 4;
    config.segment_size = 256 << 10;
    Make(config);
  }
  void Open(Env* env) {
    db_.reset();
    DatabaseOptions options;
    options.store = StoreOptions{env, true};
    options.memory.shared_allocator = allocator();
    auto db = Database::Open(Path("store"), options);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }
  void Write(const std::string& rel, const std::string& data) {
    std::ofstream(src_ + "/" + rel, std::ios::binary | std::ios::trunc) << data;
  }

  // Changes the source for revision `r` (every kind of entry; a big
  // multi-chunk file edited now and then; a compressible file edited every
  // revision, stored as deltas) and commits it at kT0 + r * 7 h.
  void CommitRevision(int r, size_t big_size) {
    if (r == 1) {
      Write("empty-file", "");
      Write("small", "small file\n");
      ASSERT_EQ(::link((src_ + "/small").c_str(), (src_ + "/dir/hard").c_str()), 0);
      ASSERT_EQ(::mkfifo((src_ + "/dir/pipe").c_str(), 0644), 0);
      big_ = RandomBytes(big_size, 99);
      std::mt19937 rng(5);
      for (int i = 0; i < 30000; ++i) text_ += "line " + std::to_string(rng() % 100000) + "\n";
    }
    if (r % 3 == 1) {  // rewrite a region of the big file
      const std::string patch = RandomBytes(64 << 10, r);
      big_.replace((r * 3'000'017ULL) % (big_.size() - patch.size()), patch.size(), patch);
      Write("big.bin", big_);
    }
    text_.insert((r * 7919) % text_.size(), "edit " + std::to_string(r) + "\n");
    Write("dir/code.c", text_);
    Write("dir/sub/f" + std::to_string(r), "file " + std::to_string(r));
    if (r > 3) fs::remove(src_ + "/dir/sub/f" + std::to_string(r - 3));
    fs::remove(src_ + "/link");
    fs::create_symlink("target-" + std::to_string(r), src_ + "/link");
    CaptureOptions o;
    o.time_ns = kT0 + r * 7 * kHour;
    o.message = "r" + std::to_string(r);
    auto s = CaptureTree(*db_, src_, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_EQ(s->revision, static_cast<uint64_t>(r));
    Manifest m;
    SourceManifest(src_, "", &m);
    sources_[r] = m;
  }

  Manifest Stored(uint64_t rev) {
    auto trx = db_->BeginRead(rev);
    EXPECT_TRUE(trx.ok()) << trx.status().ToString();
    if (!trx.ok()) return {};
    auto root = ResolvePath(**trx, "");
    EXPECT_TRUE(root.ok());
    Manifest m;
    StoredManifest(*db_, **trx, root->second, "", &m);
    return m;
  }

  // Reads `revs` whole through a fresh Database and returns the pages read
  // (by offset; direct reads as their aligned span).
  std::vector<RecordingEnv::ReadOp> ReadsOf(const std::vector<uint64_t>& revs) {
    RecordingEnv env;
    Open(&env);
    env.Take();
    for (uint64_t r : revs) {
      Manifest m = Stored(r);
      EXPECT_EQ(m, sources_[r]) << "revision " << r;
    }
    auto reads = env.Take();
    Open(nullptr);
    return reads;
  }

  uint8_t KindAt(uint64_t offset) {
    std::ifstream f(Path("store") + "/segments/0000000000", std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset + 4));
    return static_cast<uint8_t>(f.get());
  }

  std::string src_;
  std::string big_, text_;
  std::map<uint64_t, Manifest> sources_;
  std::unique_ptr<Database> db_;
};

}  // namespace revfs::testing

#endif  // REVFS_TESTS_ENGINE_TREE_RETENTION_FIXTURE_H_
