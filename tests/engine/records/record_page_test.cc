// Leaf fragments, combining, indirect pages and the four versioning plans,
// checked as pure functions over bytes.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "records/indirect_page.h"
#include "records/record_page.h"
#include "records/versioning.h"

namespace revfs {
namespace {

std::string CombineToString(const std::vector<std::string>& fragments) {
  std::vector<std::string_view> views(fragments.begin(), fragments.end());
  CombinePlan plan;
  Status s = plan.Plan(views);
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::string image(plan.OutputSize(), '\0');
  plan.Write(image.data());
  return image;
}

std::map<uint32_t, std::string> ToMap(const CombinedPage& page) {
  std::map<uint32_t, std::string> m;
  for (size_t i = 0; i < page.size(); ++i) m[page.at(i).slot] = std::string(page.at(i).value);
  return m;
}

TEST(RecordPageTest, FragmentRoundTrip) {
  std::vector<SlotChange> changes = {{0, "zero"}, {5, std::nullopt}, {1023, std::string(kMaxRecordValue, 'x')}};
  std::string payload = EncodeFragment(7, 42, true, changes);
  FragmentView view;
  ASSERT_TRUE(DecodeFragment(payload, &view).ok());
  EXPECT_EQ(view.leaf, 7u);
  EXPECT_EQ(view.revision, 42u);
  EXPECT_TRUE(view.full_dump);
  ASSERT_EQ(view.entries.size(), 3u);
  EXPECT_EQ(view.entries[0].value, "zero");
  EXPECT_TRUE(view.entries[1].tombstone);
  EXPECT_EQ(view.entries[2].slot, 1023u);
  EXPECT_EQ(view.entries[2].value.size(), kMaxRecordValue);
}

TEST(RecordPageTest, MalformedFragmentsAreCorruptionNeverACrash) {
  std::string payload = EncodeFragment(1, 1, false, std::vector<SlotChange>{{3, "abc"}, {9, "defg"}});
  FragmentView view;
  for (size_t cut = 0; cut < payload.size(); ++cut) {
    EXPECT_TRUE(DecodeFragment(payload.substr(0, cut), &view).IsCorruption()) << cut;
  }
  std::string unordered = EncodeFragment(1, 1, false, std::vector<SlotChange>{{9, "a"}, {3, "b"}});
  EXPECT_TRUE(DecodeFragment(unordered, &view).IsCorruption());
  std::mt19937 rng(1);
  for (int i = 0; i < 2000; ++i) {
    std::string bad = payload;
    bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
    Status s = DecodeFragment(bad, &view);  // any outcome but a crash or overread
    if (s.ok()) {
      for (const auto& e : view.entries) EXPECT_LE(e.value.size(), kMaxRecordValue);
    }
  }
}

TEST(RecordPageTest, NewestFragmentWinsAndTombstonesHide) {
  std::string older = EncodeFragment(0, 1, true, std::vector<SlotChange>{{1, "a1"}, {2, "b1"}, {3, "c1"}});
  std::string newer = EncodeFragment(0, 2, false, std::vector<SlotChange>{{2, "b2"}, {3, std::nullopt}, {4, "d2"}});
  std::string image = CombineToString({newer, older});
  CombinedPage page(image);
  std::map<uint32_t, std::string> expected = {{1, "a1"}, {2, "b2"}, {4, "d2"}};
  EXPECT_EQ(ToMap(page), expected);
  EXPECT_EQ(page.Find(1)->source, 1);
  EXPECT_EQ(page.Find(2)->source, 0);
  EXPECT_FALSE(page.Find(3));
  EXPECT_FALSE(page.Find(0));
  EXPECT_EQ(page.LowerBound(3), 2u);
}

TEST(RecordPageTest, CombineRejectsMixedLeaves) {
  std::string a = EncodeFragment(1, 2, false, std::vector<SlotChange>{{1, "x"}});
  std::string b = EncodeFragment(2, 1, true, std::vector<SlotChange>{{1, "y"}});
  std::vector<std::string_view> views = {a, b};
  CombinePlan plan;
  EXPECT_TRUE(plan.Plan(views).IsCorruption());
}

TEST(IndirectPageTest, RoundTripAndFind) {
  IndirectPageBuilder leaves(1);
  LeafRef leaf{{{PageRef{100, 50, 7}, 3}, {PageRef{10, 40, 8}, 1}}, 2};
  leaves.Add(3, leaf);
  leaves.Add(127, LeafRef{{{PageRef{200, 60, 9}, 4}}, 1});
  std::string payload = leaves.Finish();
  auto page = IndirectPage::Parse(payload);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->level(), 1);
  ASSERT_EQ(page->size(), 2u);
  auto i = page->Find(3);
  ASSERT_TRUE(i);
  auto child = page->child_at(*i);
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(std::get<LeafRef>(*child), leaf);
  EXPECT_FALSE(page->Find(4));

  IndirectPageBuilder upper(2);
  upper.Add(0, PageRef{1, 2, 3});
  std::string upper_payload = upper.Finish();
  auto up = IndirectPage::Parse(upper_payload);
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(std::get<PageRef>(*up->child_at(0)), (PageRef{1, 2, 3}));
  for (size_t cut = 0; cut < payload.size(); ++cut) {
    auto p = IndirectPage::Parse(std::string_view(payload).substr(0, cut));
    if (!p.ok()) continue;
    for (size_t k = 0; k < p->size(); ++k) (void)p->child_at(k);  // never overreads
  }
}

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
