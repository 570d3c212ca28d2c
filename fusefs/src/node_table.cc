// NodeTable: nodes, ids, lookup counts, forget.
#include "node_table.h"

namespace revfs::fusefs {

Result<Inode> InodeOf(const Node& node, ReadTrx& trx) {
  if (node.kind == Node::Kind::kRevRoot) {
    REVFS_ASSIGN_OR_RETURN(auto root, ResolvePath(trx, ""));
    return std::move(root.second);
  }
  return GetInode(trx, node.ino);
}

size_t NodeTable::KeyHash::operator()(const Key& k) const {
  // The kind goes to the top byte, apart from the mixed (rev, ino).
  return std::hash<uint64_t>()(k.rev * kGoldenRatio64 ^ k.ino ^ (uint64_t(k.kind) << 56));
}

NodeTable::NodeTable() {
  const std::pair<uint64_t, Kind> fixed[] = {
      {kRootNode, Kind::kRoot}, {kRevisionsNode, Kind::kRevisions}, {kAtNode, Kind::kAt},
      {kMetaNode, Kind::kMeta}, {kStatsNode, Kind::kStats},         {kLatestNode, Kind::kLatest},
      {kHistoryNode, Kind::kHistory}};
  for (const auto& [id, kind] : fixed) nodes_[id].kind = kind;
}

Result<Node> NodeTable::Get(uint64_t id) const {
  ReaderMutexLock lock(&mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return Status::NotFound("stale node " + std::to_string(id));
  return it->second;
}

uint64_t NodeTable::Intern(Kind kind, uint64_t rev, uint64_t ino, uint64_t parent,
                           bool no_xattrs) {
  WriterMutexLock lock(&mu_);
  auto [it, inserted] = ids_.try_emplace(Key{kind, rev, ino}, next_id_);
  if (inserted) {
    Node& n = nodes_[next_id_++];
    n.kind = kind;
    n.rev = rev;
    n.ino = ino;
    n.parent = parent;
    n.no_xattrs = no_xattrs;
  }
  ++nodes_[it->second].lookups;
  return it->second;
}

uint64_t NodeTable::AddStatsCopy(std::shared_ptr<const std::string> content) {
  WriterMutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  Node node;
  node.kind = Kind::kStatsCopy;
  node.ino = id;
  node.lookups = 1;
  node.stats = std::move(content);
  nodes_[id] = std::move(node);
  ids_[Key{Kind::kStatsCopy, 0, id}] = id;
  return id;
}

void NodeTable::Forget(uint64_t id, uint64_t count) {
  WriterMutexLock lock(&mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end() || id < kFirstDynamicNode) return;  // the fixed nodes stay
  Node& n = it->second;
  n.lookups = count >= n.lookups ? 0 : n.lookups - count;
  if (n.lookups == 0) {
    ids_.erase(Key{n.kind, n.rev, n.ino});
    nodes_.erase(it);
  }
}

size_t NodeTable::size() const {
  ReaderMutexLock lock(&mu_);
  return nodes_.size();
}

bool NodeTable::ShareFileState(uint64_t id, std::shared_ptr<const Inode>* inode,
                               std::shared_ptr<ReadAhead>* ahead) {
  WriterMutexLock lock(&mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return false;
  if (it->second.file) {  // another reader was first: share its state
    *inode = it->second.file;
    *ahead = it->second.ahead;
    return false;
  }
  it->second.file = *inode;
  it->second.ahead = *ahead;
  return true;
}

std::optional<uint64_t> NodeTable::MarkFirstRead(uint64_t id) {
  WriterMutexLock lock(&mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return std::nullopt;
  it->second.cached = true;
  auto parent = nodes_.find(it->second.parent);
  if (parent == nodes_.end() || parent->second.dir_read_ahead) return std::nullopt;
  parent->second.dir_read_ahead = true;
  return parent->first;
}

std::vector<std::pair<uint64_t, uint64_t>> NodeTable::ClaimUncached(
    uint64_t rev, const std::vector<uint64_t>& inos, std::vector<uint64_t>* unknown) {
  std::vector<std::pair<uint64_t, uint64_t>> files;  // (node, ino)
  WriterMutexLock lock(&mu_);
  for (uint64_t ino : inos) {
    auto known = ids_.find(Key{Kind::kEntry, rev, ino});
    if (known == ids_.end()) {
      if (unknown) unknown->push_back(ino);
      continue;
    }
    Node& n = nodes_[known->second];
    if (n.cached) continue;
    n.cached = true;
    files.emplace_back(known->second, ino);
  }
  return files;
}

}  // namespace revfs::fusefs
