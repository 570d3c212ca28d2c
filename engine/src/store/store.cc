// Store: creating, opening and reading a store. Commit lives in
// revision_writer.cc, verification in store_verify.cc, packing segments in
// store_pack.cc.
#include "revfs/store.h"

#include <algorithm>
#include <random>
#include <string>

#include "env/env.h"
#include "store/page_log.h"
#include "store/revision_writer.h"
#include "store/store_files.h"
#include "store/store_state.h"

namespace revfs {

Store::Store(std::string path, Env* env)
    : path_(std::move(path)), env_(env), state_(std::make_unique<State>()) {}
Store::~Store() = default;

Status Store::Create(const std::string& path, const StoreConfig& config,
                     const StoreOptions& options, int64_t time_ns) {
  Env* env = options.env ? options.env : Env::Default();
  REVFS_RETURN_IF_ERROR(config.Validate());
  if (env->FileExists(path)) {
    std::error_code ec;
    if (!env->IsDirectory(path) || !std::filesystem::is_empty(path, ec)) {
      return Status::InvalidArgument(path + ": already exists");
    }
  }
  std::string parent = std::filesystem::path(path).parent_path().string();
  if (parent.empty()) parent = ".";
  if (!env->IsDirectory(parent)) {
    return Status::NotFound(parent + ": no such directory");
  }
  // Build the store aside and rename it into place, so a crash never leaves a
  // half-made store under `path`.
  std::string tmp = path + ".init-tmp";
  if (env->FileExists(tmp)) REVFS_RETURN_IF_ERROR(env->RemoveDirRecursively(tmp));
  REVFS_RETURN_IF_ERROR(env->CreateDir(tmp));
  auto build = [&]() -> Status {
    const std::string segments = StoreSegmentsPath(tmp);
    REVFS_RETURN_IF_ERROR(env->CreateDir(segments));
    REVFS_ASSIGN_OR_RETURN(auto pages,
                           env->NewAppendableFile(segments + "/" + SegmentName(0)));
    RevisionRoot root;
    root.number = 0;
    root.time_ns = time_ns;
    root.message = "empty tree";
    uint64_t hash = 0;
    std::string page = EncodePage(PageKind::kRevisionRoot, EncodeRevisionRoot(root), &hash);
    REVFS_RETURN_IF_ERROR(pages->Append(page));
    REVFS_RETURN_IF_ERROR(pages->Sync());
    REVFS_RETURN_IF_ERROR(pages->Close());
    REVFS_RETURN_IF_ERROR(env->SyncDir(segments));

    RevisionEntry entry{0, time_ns, PageRef{0, static_cast<uint32_t>(page.size()), hash}};
    REVFS_ASSIGN_OR_RETURN(auto index, env->NewAppendableFile(StoreIndexPath(tmp)));
    REVFS_RETURN_IF_ERROR(index->Append(EncodeRevisionEntry(entry)));
    REVFS_RETURN_IF_ERROR(index->Sync());
    REVFS_RETURN_IF_ERROR(index->Close());

    Superblock sb;
    sb.generation = 1;
    sb.latest_revision = 0;
    sb.pages_end = page.size();
    sb.index_end = kRevisionEntrySize;
    sb.latest_root = entry.root;
    sb.created_ns = time_ns;
    sb.config = config;
    std::random_device rd;
    for (auto& b : sb.store_id) b = static_cast<uint8_t>(rd());
    REVFS_ASSIGN_OR_RETURN(auto super, env->NewRandomRWFile(StoreSuperblockPath(tmp), true));
    std::string slots = EncodeSuperblock(sb);  // generation 1 lives in slot 1
    slots.insert(0, std::string(kSuperblockSlotSize, '\0'));
    REVFS_RETURN_IF_ERROR(super->Write(0, slots));
    REVFS_RETURN_IF_ERROR(super->Sync());
    REVFS_ASSIGN_OR_RETURN(auto lock, env->NewAppendableFile(StoreLockPath(tmp)));
    REVFS_RETURN_IF_ERROR(lock->Close());
    REVFS_RETURN_IF_ERROR(env->SyncDir(tmp));
    REVFS_RETURN_IF_ERROR(env->RenameFile(tmp, path));
    Status synced = env->SyncDir(parent);
    // The store is in place but its name may not survive a crash; undo it so
    // that a failed init never leaves a store behind.
    if (!synced.ok()) (void)env->RemoveDirRecursively(path);
    return synced;
  };
  Status s = build();
  if (!s.ok()) (void)env->RemoveDirRecursively(tmp);
  return s;
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                           const StoreOptions& options) {
  Env* env = options.env ? options.env : Env::Default();
  if (auto s = env->GetFileSize(path); !s.ok()) {
    if (s.status().IsNotFound()) return Status::NotFound(path + ": no such store");
    return s.status();
  }
  if (!env->IsDirectory(path)) return Status::InvalidArgument(path + ": not a revfs store");
  if (auto s = env->GetFileSize(StoreSuperblockPath(path)); !s.ok()) {
    if (s.status().IsNotFound()) {
      return Status::InvalidArgument(path + ": not a revfs store");
    }
    return s.status();
  }
  std::unique_ptr<Store> store(new Store(path, env));
  if (options.writable) {
    auto lock = env->LockFile(StoreLockPath(path));
    if (!lock.ok()) {
      if (lock.status().IsBusy()) {
        return Status::Busy(path + ": store is locked by another writer");
      }
      return std::move(lock).status();
    }
    store->lock_ = std::move(lock).value();
  }
  REVFS_ASSIGN_OR_RETURN(store->pages_, PageLog::Open(env, StoreSegmentsPath(path)));
  REVFS_ASSIGN_OR_RETURN(store->index_reader_,
                         env->NewRandomAccessFile(StoreIndexPath(path)));
  REVFS_ASSIGN_OR_RETURN(store->superblock_reader_,
                         env->NewRandomAccessFile(StoreSuperblockPath(path)));
  if (options.writable) {
    REVFS_ASSIGN_OR_RETURN(store->superblock_writer_,
                           env->NewRandomRWFile(StoreSuperblockPath(path), false));
  }
  REVFS_RETURN_IF_ERROR(store->LoadState(options.writable));
  return store;
}

Status Store::LoadState(bool writer) {
  REVFS_ASSIGN_OR_RETURN(SlotChoice choice,
                         ChooseSuperblock(env_, path_, *superblock_reader_));
  std::vector<RevisionEntry> entries;
  std::vector<bool> damaged;
  REVFS_RETURN_IF_ERROR(LoadIndex(choice.sb, &entries, &damaged));
  RetentionState retention;
  REVFS_RETURN_IF_ERROR(LoadRetention(choice.sb, &retention));
  {
    WriterMutexLock lock(&state_->mu);
    state_->sb = choice.sb;
    config_ = choice.sb.config;
    state_->index = std::move(entries);
    state_->index_damaged = std::move(damaged);
    state_->retention = std::move(retention);
  }
  if (writer) REVFS_RETURN_IF_ERROR(PrepareAppend());
  return Status::OK();
}

Status Store::LoadIndex(const Superblock& sb, std::vector<RevisionEntry>* entries,
                        std::vector<bool>* damaged) const {
  const uint64_t count = sb.latest_revision + 1;
  std::string bytes(sb.index_end, '\0');
  size_t got = 0;
  REVFS_RETURN_IF_ERROR(index_reader_->Read(0, bytes.size(), bytes.data(), &got));
  if (got != bytes.size()) {
    return Status::Corruption(StoreIndexPath(path_) + ": shorter than committed");
  }
  entries->resize(count);
  damaged->assign(count, false);
  int64_t last_time = INT64_MIN;
  for (uint64_t i = 0; i < count; ++i) {
    auto e = DecodeRevisionEntry(
        std::string_view(bytes).substr(i * kRevisionEntrySize, kRevisionEntrySize));
    if (!e.ok() || e->number != i || e->time_ns < last_time ||
        (i + 1 == count && !(e->root == sb.latest_root))) {
      // Keep times non-decreasing so RevisionAt's binary search stays valid.
      (*entries)[i] = RevisionEntry{i, last_time == INT64_MIN ? 0 : last_time, {}};
      (*damaged)[i] = true;
      continue;
    }
    (*entries)[i] = *e;
    last_time = e->time_ns;
  }
  return Status::OK();
}

Superblock Store::superblock() const {
  ReaderMutexLock lock(&state_->mu);
  return state_->sb;
}

uint64_t Store::latest_revision() const {
  ReaderMutexLock lock(&state_->mu);
  return state_->sb.latest_revision;
}

Status Store::Refresh() {
  REVFS_ASSIGN_OR_RETURN(SlotChoice choice,
                         ChooseSuperblock(env_, path_, *superblock_reader_));
  {
    ReaderMutexLock lock(&state_->mu);
    if (choice.sb.generation <= state_->sb.generation) return Status::OK();
  }
  std::vector<RevisionEntry> entries;
  std::vector<bool> damaged;
  REVFS_RETURN_IF_ERROR(LoadIndex(choice.sb, &entries, &damaged));
  // Segments prune packed or deleted since they were opened are opened
  // again by the next read; reads under way keep their descriptors.
  pages_->Reload();
  // A forget, hold or release switches only the retention page.
  RetentionState retention;
  REVFS_RETURN_IF_ERROR(LoadRetention(choice.sb, &retention));
  WriterMutexLock lock(&state_->mu);
  if (choice.sb.generation > state_->sb.generation) {  // re-check: another Refresh may have won
    state_->sb = choice.sb;
    state_->index = std::move(entries);
    state_->index_damaged = std::move(damaged);
    state_->retention = std::move(retention);
  }
  return Status::OK();
}

Result<RevisionEntry> Store::GetRevision(uint64_t number) const {
  ReaderMutexLock lock(&state_->mu);
  if (number > state_->sb.latest_revision) {
    return Status::NotFound("revision " + std::to_string(number) +
                            " does not exist (latest is " +
                            std::to_string(state_->sb.latest_revision) + ")");
  }
  if (state_->retention.IsForgotten(number)) {
    return Status::NotFound("revision " + std::to_string(number) + " was forgotten");
  }
  if (state_->index_damaged[number]) {
    return Status::Corruption(StoreIndexPath(path_) + ": entry of revision " +
                              std::to_string(number) + " is damaged");
  }
  RevisionEntry entry = state_->index[number];
  // A root prune rewrote (engine/FORMAT.md, "Re-versioning the kept
  // revisions") stands in for the index's.
  const auto& overrides = state_->retention.overrides;
  auto it = std::lower_bound(
      overrides.begin(), overrides.end(), number,
      [](const RetentionState::RootOverride& o, uint64_t r) { return o.revision < r; });
  if (it != overrides.end() && it->revision == number) entry.root = it->root;
  return entry;
}

Result<uint64_t> Store::RevisionAt(int64_t time_ns) const {
  ReaderMutexLock lock(&state_->mu);
  auto it = std::upper_bound(
      state_->index.begin(), state_->index.end(), time_ns,
      [](int64_t t, const RevisionEntry& e) { return t < e.time_ns; });
  std::optional<uint64_t> kept;
  if (it != state_->index.begin()) {
    kept = state_->retention.KeptAtOrBefore(
        static_cast<uint64_t>(std::prev(it) - state_->index.begin()));
  }
  if (!kept) {
    return Status::NotFound("no kept revision at or before that time (the oldest is younger)");
  }
  return *kept;
}

Result<RevisionRoot> Store::ReadRevisionRoot(uint64_t number) const {
  REVFS_ASSIGN_OR_RETURN(RevisionEntry entry, GetRevision(number));
  std::string buf;
  PageView view;
  REVFS_RETURN_IF_ERROR(pages_->Read(entry.root, PageKind::kRevisionRoot, &buf, &view));
  auto root = DecodeRevisionRoot(view.payload);
  if (!root.ok()) return root.status().WithContext(pages_->path());
  if (root->number != number || root->time_ns != entry.time_ns) {
    return Status::Corruption(pages_->path() + ": revision root at offset " +
                              std::to_string(entry.root.offset) +
                              " does not match revision " + std::to_string(number));
  }
  return root;
}

}  // namespace revfs
