#include "records/versioning.h"

#include <algorithm>

namespace revfs {
namespace {

// Returns every live record of `current` with `changes` applied.
std::vector<SlotChange> MergedLive(const CombinedPage& current,
                                   std::span<const SlotChange> changes) {
  std::vector<SlotChange> out;
  size_t i = 0, j = 0;
  while (i < current.size() || j < changes.size()) {
    if (j == changes.size() || (i < current.size() && current.at(i).slot < changes[j].slot)) {
      auto r = current.at(i++);
      out.push_back({r.slot, std::string(r.value)});
      continue;
    }
    if (i < current.size() && current.at(i).slot == changes[j].slot) ++i;
    if (changes[j].value) out.push_back(changes[j]);
    ++j;
  }
  return out;
}

// Returns `changes` without tombstones for records that are absent anyway.
std::vector<SlotChange> EffectiveChanges(const CombinedPage& current,
                                         std::span<const SlotChange> changes) {
  std::vector<SlotChange> out;
  for (const SlotChange& c : changes) {
    if (!c.value && !current.Find(c.slot)) continue;
    out.push_back(c);
  }
  return out;
}

bool IsFullDumpVersion(uint32_t version, uint32_t every) {
  return (version - 1) % every == 0;
}

}  // namespace

FragmentPlan PlanFragment(const StoreConfig& config, const LeafRef* prev,
                          const CombinedPage& current, const FragmentView* newest,
                          std::span<const SlotChange> changes) {
  FragmentPlan plan;
  plan.versions = prev ? prev->versions + 1 : 1;
  auto full = [&] {
    plan.full_dump = true;
    plan.records = MergedLive(current, changes);
    plan.keep.clear();
  };
  if (!prev) {
    full();
    return plan;
  }
  switch (config.versioning) {
    case Versioning::kFull:
      full();
      break;
    case Versioning::kIncremental:
      if (IsFullDumpVersion(plan.versions, config.full_dump_every)) {
        full();
        break;
      }
      plan.records = EffectiveChanges(current, changes);
      for (size_t i = 0; i < prev->chain.size(); ++i) plan.keep.push_back(i);
      break;
    case Versioning::kDifferential: {
      if (IsFullDumpVersion(plan.versions, config.full_dump_every)) {
        full();
        break;
      }
      // Every slot changed since the full dump: those the previous
      // differential fragment held, and those changed now.
      std::vector<uint32_t> slots;
      if (prev->chain.size() == 2 && newest) {
        for (const auto& e : newest->entries) slots.push_back(e.slot);
      }
      for (const SlotChange& c : changes) slots.push_back(c.slot);
      std::sort(slots.begin(), slots.end());
      slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
      size_t j = 0;
      for (uint32_t slot : slots) {
        while (j < changes.size() && changes[j].slot < slot) ++j;
        if (j < changes.size() && changes[j].slot == slot) {
          plan.records.push_back(changes[j]);
        } else if (auto r = current.Find(slot)) {
          plan.records.push_back({slot, std::string(r->value)});
        } else {
          plan.records.push_back({slot, std::nullopt});
        }
      }
      plan.keep.push_back(prev->chain.size() - 1);  // the full dump
      break;
    }
    case Versioning::kSliding: {
      const size_t window = config.window;
      const size_t kept = std::min(prev->chain.size(), window - 1);
      for (size_t i = 0; i < kept; ++i) plan.keep.push_back(i);
      plan.records = EffectiveChanges(current, changes);
      if (prev->chain.size() >= window) {
        // Carry every record whose newest copy lives in the fragment that
        // falls out of the window now, unless this commit changes it anyway.
        const size_t dropped = window - 1;
        std::vector<SlotChange> carried;
        size_t j = 0;
        for (size_t i = 0; i < current.size(); ++i) {
          auto r = current.at(i);
          if (r.source < dropped) continue;
          while (j < changes.size() && changes[j].slot < r.slot) ++j;
          if (j < changes.size() && changes[j].slot == r.slot) continue;
          carried.push_back({r.slot, std::string(r.value)});
        }
        plan.records.insert(plan.records.end(), carried.begin(), carried.end());
        std::sort(plan.records.begin(), plan.records.end(),
                  [](const SlotChange& a, const SlotChange& b) { return a.slot < b.slot; });
      }
      break;
    }
  }
  return plan;
}

}  // namespace revfs
