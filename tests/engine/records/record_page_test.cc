// Leaf fragments and combining them, checked as pure functions over bytes:
// a fragment round-trips, a malformed one is Corruption (never a crash), the
// newest fragment wins and tombstones hide, and fragments of different
// leaves are not combined.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "engine/records/combine_util.h"
#include "records/record_page.h"

namespace revfs {
namespace {

using testing::CombineToString;
using testing::ToMap;

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

// Format 3: a fragment names the older fragments of the chain it heads;
// the tail reads back whole, alone (DecodeFragmentHead) or with the
// entries, and combining ignores it.
TEST(RecordPageTest, FragmentTailRoundTripAndCombineIgnoresIt) {
  const std::vector<FragmentRef> tail = {{PageRef{(uint64_t{3} << 40) | 900, 70, 0xabcdef}, 8},
                                         {PageRef{40, 1000, 1}, 2}};
  std::string older = EncodeFragment(4, 2, true, std::vector<SlotChange>{{1, "a1"}, {2, "b1"}});
  std::string newer =
      EncodeFragment(4, 9, false, std::vector<SlotChange>{{2, "b9"}, {7, "g9"}}, &tail);
  FragmentView view;
  ASSERT_TRUE(DecodeFragment(newer, &view).ok());
  EXPECT_TRUE(view.has_tail);
  EXPECT_EQ(view.tail, tail);
  EXPECT_FALSE(view.full_dump);
  ASSERT_EQ(view.entries.size(), 2u);
  EXPECT_EQ(view.entries[1].value, "g9");
  FragmentView head;
  ASSERT_TRUE(DecodeFragmentHead(newer, &head).ok());
  EXPECT_EQ(head.tail, tail);
  EXPECT_TRUE(head.entries.empty());
  ASSERT_TRUE(DecodeFragment(older, &view).ok());
  EXPECT_FALSE(view.has_tail);
  EXPECT_TRUE(view.tail.empty());
  const std::vector<FragmentRef> none;
  std::string alone = EncodeFragment(4, 1, true, std::vector<SlotChange>{{1, "x"}}, &none);
  ASSERT_TRUE(DecodeFragment(alone, &view).ok());
  EXPECT_TRUE(view.has_tail);
  EXPECT_TRUE(view.tail.empty());

  std::string image = CombineToString({newer, older});
  std::map<uint32_t, std::string> expected = {{1, "a1"}, {2, "b9"}, {7, "g9"}};
  EXPECT_EQ(ToMap(CombinedPage(image)), expected);
  // A cut tail is Corruption, never an overread; so are unknown flags.
  for (size_t cut = 17; cut < 40; ++cut) {
    EXPECT_TRUE(DecodeFragmentHead(newer.substr(0, cut), &head).IsCorruption()) << cut;
  }
  std::string flags = newer;
  flags[16] = 4;
  EXPECT_TRUE(DecodeFragment(flags, &view).IsCorruption());
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

}  // namespace
}  // namespace revfs
