// The four versioning plans (full, incremental, differential, sliding
// snapshot), checked as pure functions over bytes: over 120 versions of one
// leaf the chain of fragments stays within each approach's bound and the
// combined content equals a model.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <tuple>

#include "engine/records/combine_util.h"
#include "records/indirect_page.h"
#include "records/record_page.h"
#include "records/versioning.h"

namespace revfs {
namespace {

using testing::CombineToString;
using testing::ToMap;

// Drives one leaf through many versions under each approach, with random
// changes, and checks both the content and the chain-length bound.
class PlanTest : public ::testing::TestWithParam<std::tuple<Versioning, uint32_t>> {};

TEST_P(PlanTest, ChainStaysBoundedAndContentExact) {
  auto [approach, param] = GetParam();
  StoreConfig config;
  config.versioning = approach;
  config.window = param;
  config.full_dump_every = param;
  std::mt19937 rng(static_cast<unsigned>(param) * 31 + static_cast<unsigned>(approach));
  std::map<uint32_t, std::string> model;
  std::vector<std::string> fragments;  // by position in the chain, newest first
  LeafRef leaf;
  size_t max_chain = 0;
  for (uint64_t rev = 1; rev <= 120; ++rev) {
    std::map<uint32_t, std::optional<std::string>> change_map;
    int n = 1 + static_cast<int>(rng() % 20);
    for (int k = 0; k < n; ++k) {
      uint32_t slot = rng() % 64;
      if (rng() % 4 == 0) {
        change_map[slot] = std::nullopt;
      } else {
        change_map[slot] = "v" + std::to_string(rev) + "-" + std::to_string(slot);
      }
    }
    std::vector<SlotChange> changes;
    for (auto& [slot, v] : change_map) changes.push_back({slot, v});
    std::string image = fragments.empty() ? std::string(4, '\0') : CombineToString(fragments);
    CombinedPage current(image);
    FragmentView newest;
    if (!fragments.empty()) {
      ASSERT_TRUE(DecodeFragment(fragments[0], &newest).ok());
    }
    FragmentPlan plan = PlanFragment(config, fragments.empty() ? nullptr : &leaf, current,
                                     fragments.empty() ? nullptr : &newest, changes);
    std::vector<std::string> next = {EncodeFragment(0, rev, plan.full_dump, plan.records)};
    LeafRef next_leaf;
    next_leaf.versions = plan.versions;
    next_leaf.chain.push_back({PageRef{rev, 1, 1}, rev});
    for (size_t i : plan.keep) {
      next.push_back(fragments[i]);
      next_leaf.chain.push_back(leaf.chain[i]);
    }
    fragments = std::move(next);
    leaf = std::move(next_leaf);
    for (auto& [slot, v] : change_map) {
      if (v) model[slot] = *v; else model.erase(slot);
    }
    max_chain = std::max(max_chain, fragments.size());
    std::string combined = CombineToString(fragments);
    ASSERT_EQ(ToMap(CombinedPage(combined)), model) << "revision " << rev;
  }
  size_t bound = approach == Versioning::kFull ? 1
                 : approach == Versioning::kDifferential ? 2 : param;
  EXPECT_LE(max_chain, bound);
  EXPECT_EQ(max_chain, bound) << "the bound should be reached over 120 versions";
}

INSTANTIATE_TEST_SUITE_P(
    Approaches, PlanTest,
    ::testing::Values(std::make_tuple(Versioning::kFull, 4u),
                      std::make_tuple(Versioning::kIncremental, 4u),
                      std::make_tuple(Versioning::kIncremental, 16u),
                      std::make_tuple(Versioning::kDifferential, 4u),
                      std::make_tuple(Versioning::kDifferential, 16u),
                      std::make_tuple(Versioning::kSliding, 2u),
                      std::make_tuple(Versioning::kSliding, 4u),
                      std::make_tuple(Versioning::kSliding, 8u)));

}  // namespace
}  // namespace revfs
