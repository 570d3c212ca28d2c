// ListingCursors: (directory node, position) -> the name before it.
#include "listing_cursors.h"

#include "node_table.h"

namespace revfs::fusefs {

size_t ListingCursors::KeyHash::operator()(const Key& k) const {
  return std::hash<uint64_t>()(k.node * kGoldenRatio64 ^ k.offset);
}

std::optional<std::string> ListingCursors::Find(uint64_t node, uint64_t offset) {
  MutexLock lock(&mu_);
  auto it = names_.find(Key{node, offset});
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

void ListingCursors::Remember(uint64_t node, uint64_t offset, const std::string& name) {
  MutexLock lock(&mu_);
  auto [it, inserted] = names_.insert_or_assign(Key{node, offset}, name);
  if (inserted) {
    order_.push_back(it->first);
    if (order_.size() > kCursorsMax) {
      names_.erase(order_.front());
      order_.pop_front();
    }
  }
}

}  // namespace revfs::fusefs
