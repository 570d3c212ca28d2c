#include "memory/segment_cache.h"

#include "revfs/json.h"

namespace revfs {

void PinnedView::Release() noexcept { internal::Unpin(std::exchange(entry_, nullptr)); }

const char* RemovalCauseName(RemovalCause cause) {
  switch (cause) {
    case RemovalCause::kSize: return "size";
    case RemovalCause::kInvalidate: return "invalidate";
    case RemovalCause::kReplace: return "replace";
    case RemovalCause::kClear: return "clear";
    case RemovalCause::kClose: return "close";
  }
  return "unknown";
}

std::string CacheStats::ToJson() const {
  JsonWriter w;
  w.BeginObject();
  w.Key("name").String(name);
  w.Key("capacity_bytes").Uint(capacity_bytes);
  w.Key("usage_bytes").Uint(usage_bytes);
  w.Key("entries").Uint(entries);
  w.Key("pinned_entries").Uint(pinned_entries);
  w.Key("hits").Uint(hits);
  w.Key("misses").Uint(misses);
  w.Key("inserts").Uint(inserts);
  w.Key("pins_taken").Uint(pins_taken);
  w.Key("pins_released").Uint(pins_released);
  w.Key("removals").BeginObject();
  for (int i = 0; i < kRemovalCauses; ++i) {
    w.Key(RemovalCauseName(static_cast<RemovalCause>(i))).Uint(removals[i]);
  }
  w.EndObject();
  w.Key("retired_while_pinned").Uint(retired_while_pinned);
  w.Key("freed_at_last_unpin").Uint(freed_at_last_unpin);
  w.Key("cached_per_class").BeginArray();
  for (uint64_t n : cached_per_class) w.Uint(n);
  w.EndArray();
  w.Key("pinned_per_class").BeginArray();
  for (uint64_t n : pinned_per_class) w.Uint(n);
  w.EndArray();
  w.EndObject();
  return w.str();
}

}  // namespace revfs
