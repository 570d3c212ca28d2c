#include "support/fault_env.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace revfs::testing {
namespace {

// The directory whose SyncDir makes `path`'s entry durable, spelled as the
// engine spells directories it syncs (no trailing slash).
std::string ParentDir(const std::string& path) {
  std::filesystem::path p = std::filesystem::path(path).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // "dir/" names dir
  return p.parent_path().string();
}

// Returns a file's bytes (empty when it cannot be read).
std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void Spill(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string Normal(const std::string& path) {
  std::filesystem::path p = std::filesystem::path(path).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  return p.string();
}

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultInjectionEnv* env, std::string path,
                    std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  Status Append(std::string_view data) override {
    bool torn = false;
    Status s = env_->BeforeOp(FaultInjectionEnv::Op::kWrite, &torn);
    if (!s.ok()) {
      if (torn && data.size() > 1) (void)base_->Append(data.substr(0, data.size() / 2));
      return s;
    }
    return base_->Append(data);
  }
  Status Sync() override {
    bool torn = false;
    REVFS_RETURN_IF_ERROR(env_->BeforeOp(FaultInjectionEnv::Op::kSync, &torn));
    REVFS_RETURN_IF_ERROR(base_->Sync());
    env_->RecordSynced(path_, base_->Size());
    return Status::OK();
  }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }

 private:
  FaultInjectionEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
};

class FaultRandomRWFile final : public RandomRWFile {
 public:
  FaultRandomRWFile(FaultInjectionEnv* env, std::string path,
                    std::unique_ptr<RandomRWFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  Status Write(uint64_t offset, std::string_view data) override {
    std::string old(data.size(), '\0');
    size_t got = 0;
    REVFS_RETURN_IF_ERROR(base_->Read(offset, old.size(), old.data(), &got));
    old.resize(got);
    bool torn = false;
    Status s = env_->BeforeOp(FaultInjectionEnv::Op::kWrite, &torn);
    if (!s.ok() && !torn) return s;
    env_->RecordUnsyncedWrite(path_, offset, std::move(old));
    if (!s.ok()) {
      (void)base_->Write(offset, data.substr(0, data.size() / 2));
      return s;
    }
    return base_->Write(offset, data);
  }
  Status Read(uint64_t offset, size_t n, char* dst, size_t* got) const override {
    return base_->Read(offset, n, dst, got);
  }
  Status Sync() override {
    bool torn = false;
    REVFS_RETURN_IF_ERROR(env_->BeforeOp(FaultInjectionEnv::Op::kSync, &torn));
    REVFS_RETURN_IF_ERROR(base_->Sync());
    env_->RecordRWSynced(path_);
    return Status::OK();
  }

 private:
  FaultInjectionEnv* env_;
  std::string path_;
  std::unique_ptr<RandomRWFile> base_;
};

}  // namespace

void FaultInjectionEnv::FailAt(Op op, uint64_t n, Status status, bool torn) {
  std::lock_guard lock(mu_);
  int i = static_cast<int>(op);
  fail_at_[i] = n == 0 ? 0 : counts_[i] + n;
  fail_status_[i] = std::move(status);
  torn_[i] = torn;
  fired_ = false;
}

uint64_t FaultInjectionEnv::Count(Op op) const {
  std::lock_guard lock(mu_);
  return counts_[static_cast<int>(op)];
}

void FaultInjectionEnv::ResetCounts() {
  std::lock_guard lock(mu_);
  for (int i = 0; i < kOps; ++i) counts_[i] = fail_at_[i] = 0;
}

bool FaultInjectionEnv::fired() const {
  std::lock_guard lock(mu_);
  return fired_;
}

Status FaultInjectionEnv::BeforeOp(Op op, bool* torn) {
  std::lock_guard lock(mu_);
  int i = static_cast<int>(op);
  ++counts_[i];
  if (fail_at_[i] != 0 && counts_[i] == fail_at_[i]) {
    fired_ = true;
    *torn = torn_[i];
    return fail_status_[i];
  }
  return Status::OK();
}

void FaultInjectionEnv::RecordSynced(const std::string& path, uint64_t size) {
  std::lock_guard lock(mu_);
  synced_size_[path] = size;
}

void FaultInjectionEnv::RecordUnsyncedWrite(const std::string& path, uint64_t offset,
                                            std::string old_bytes) {
  std::lock_guard lock(mu_);
  unsynced_rw_[path].push_back({offset, std::move(old_bytes)});
}

void FaultInjectionEnv::RecordRWSynced(const std::string& path) {
  std::lock_guard lock(mu_);
  unsynced_rw_.erase(path);
}

void FaultInjectionEnv::RecordCreated(const std::string& path, bool existed) {
  if (existed) return;
  std::lock_guard lock(mu_);
  unsynced_entries_.push_back({ParentDir(path), Normal(path), "", false, false, ""});
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewAppendableFile(
    const std::string& path) {
  const bool existed = target()->FileExists(path);
  REVFS_ASSIGN_OR_RETURN(auto base, target()->NewAppendableFile(path));
  RecordCreated(path, existed);
  {
    std::lock_guard lock(mu_);
    // A file opened for appending is durable up to its size at open.
    if (!synced_size_.count(path)) synced_size_[path] = base->Size();
  }
  return std::unique_ptr<WritableFile>(
      std::make_unique<FaultWritableFile>(this, path, std::move(base)));
}

Result<std::unique_ptr<RandomRWFile>> FaultInjectionEnv::NewRandomRWFile(
    const std::string& path, bool create) {
  const bool existed = target()->FileExists(path);
  REVFS_ASSIGN_OR_RETURN(auto base, target()->NewRandomRWFile(path, create));
  RecordCreated(path, existed);
  return std::unique_ptr<RandomRWFile>(
      std::make_unique<FaultRandomRWFile>(this, path, std::move(base)));
}

Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  bool torn = false;
  REVFS_RETURN_IF_ERROR(BeforeOp(Op::kRename, &torn));
  // A file the rename replaces comes back if the rename is undone.
  const bool replaced = !target()->IsDirectory(to) && target()->FileExists(to);
  std::string old_content = replaced ? Slurp(to) : std::string();
  REVFS_RETURN_IF_ERROR(target()->RenameFile(from, to));
  std::lock_guard lock(mu_);
  // Entries made inside a renamed directory move with it: their names are
  // still not durable until that directory (under its new name) is synced.
  const std::string f = Normal(from), t = Normal(to);
  auto moved = [&](std::string* p) {
    if (*p == f || p->rfind(f + "/", 0) == 0) p->replace(0, f.size(), t);
  };
  for (UnsyncedEntry& e : unsynced_entries_) {
    moved(&e.dir);
    moved(&e.path);
  }
  for (auto& [path, size] : std::map<std::string, uint64_t>(synced_size_)) {
    std::string p = path;
    moved(&p);
    if (p != path) {
      synced_size_[p] = size;
      synced_size_.erase(path);
    }
  }
  unsynced_entries_.push_back({ParentDir(to), t, f, false, replaced, std::move(old_content)});
  return Status::OK();
}

Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  bool torn = false;
  REVFS_RETURN_IF_ERROR(BeforeOp(Op::kRemove, &torn));
  std::string content = Slurp(path);
  REVFS_RETURN_IF_ERROR(target()->RemoveFile(path));
  std::lock_guard lock(mu_);
  // What comes back after a crash is what was durable of it.
  auto synced = synced_size_.find(path);
  if (synced != synced_size_.end()) {
    if (content.size() > synced->second) content.resize(synced->second);
    synced_size_.erase(synced);
  }
  unsynced_entries_.push_back({ParentDir(path), Normal(path), "", true, false, std::move(content)});
  return Status::OK();
}

Status FaultInjectionEnv::CreateDir(const std::string& path) {
  const bool existed = target()->FileExists(path);
  REVFS_RETURN_IF_ERROR(target()->CreateDir(path));
  RecordCreated(path, existed);
  return Status::OK();
}

Status FaultInjectionEnv::SyncDir(const std::string& path) {
  bool torn = false;
  REVFS_RETURN_IF_ERROR(BeforeOp(Op::kSync, &torn));
  REVFS_RETURN_IF_ERROR(target()->SyncDir(path));
  // A rename across directories would need both synced; the engine renames
  // within one directory, where the source's parent is the same.
  std::lock_guard lock(mu_);
  const std::string dir = Normal(path);
  std::erase_if(unsynced_entries_, [&](const UnsyncedEntry& e) { return e.dir == dir; });
  return Status::OK();
}

Status FaultInjectionEnv::Truncate(const std::string& path, uint64_t size) {
  REVFS_RETURN_IF_ERROR(target()->Truncate(path, size));
  std::lock_guard lock(mu_);
  auto it = synced_size_.find(path);
  if (it != synced_size_.end() && it->second > size) it->second = size;
  return Status::OK();
}

Status FaultInjectionEnv::DropUnsyncedData() {
  std::lock_guard lock(mu_);
  for (const auto& [path, size] : synced_size_) {
    auto actual = target()->GetFileSize(path);
    if (actual.ok() && *actual > size) REVFS_RETURN_IF_ERROR(target()->Truncate(path, size));
  }
  for (auto& [path, undo] : unsynced_rw_) {
    if (!target()->FileExists(path)) continue;  // removed since: nothing to undo
    REVFS_ASSIGN_OR_RETURN(auto file, target()->NewRandomRWFile(path, false));
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
      REVFS_RETURN_IF_ERROR(file->Write(it->offset, it->old_bytes));
    }
  }
  unsynced_rw_.clear();
  // Then the directory entries, newest first: a rename reverts, a creation
  // disappears (with what was put inside it).
  for (auto it = unsynced_entries_.rbegin(); it != unsynced_entries_.rend(); ++it) {
    std::error_code ec;
    if (it->removed) {
      Spill(it->path, it->old_content);
    } else if (!it->from.empty()) {
      if (std::filesystem::exists(it->path, ec)) std::filesystem::rename(it->path, it->from, ec);
      if (!ec && it->replaced) Spill(it->path, it->old_content);
    } else {
      std::filesystem::remove_all(it->path, ec);
    }
    if (ec) return Status::IOError(it->path + ": undoing an unsynced entry: " + ec.message());
  }
  unsynced_entries_.clear();
  return Status::OK();
}

void FlipByte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good()) << path;
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  ASSERT_TRUE(f.good()) << path << " offset " << offset;
  c = static_cast<char>(~c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
  ASSERT_TRUE(f.good());
}

}  // namespace revfs::testing
