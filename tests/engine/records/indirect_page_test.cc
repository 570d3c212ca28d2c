// Indirect pages, the inner pages of the record trie, checked as pure
// functions over bytes: they round-trip, find their children, and a cut
// page never overreads.
#include <gtest/gtest.h>

#include <variant>

#include "records/indirect_page.h"

namespace revfs {
namespace {

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

// Format 3: a chain whose newest fragment names the older ones is written
// as its newest reference and its length; the whole chain of format 2
// still reads as it did.
TEST(IndirectPageTest, AChainNamedByItsNewestFragmentIsOneReference) {
  LeafRef whole{{{PageRef{300, 70, 11}, 9}, {PageRef{200, 60, 10}, 8}, {PageRef{100, 50, 9}, 7}},
                5};
  LeafRef short_form = whole;
  short_form.tail_in_head = true;
  short_form.length = 3;
  IndirectPageBuilder old_page(1), new_page(1);
  old_page.Add(5, whole);
  new_page.Add(5, short_form);
  const std::string old_payload = old_page.Finish(), new_payload = new_page.Finish();
  // Two references of ~12 bytes fewer.
  EXPECT_LE(new_payload.size() + 2 * 11, old_payload.size());
  auto page = IndirectPage::Parse(new_payload);
  ASSERT_TRUE(page.ok());
  auto child = page->child_at(0);
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  const LeafRef& got = std::get<LeafRef>(*child);
  EXPECT_TRUE(got.tail_in_head);
  EXPECT_EQ(got.length, 3u);
  EXPECT_EQ(got.versions, 5u);
  ASSERT_EQ(got.chain.size(), 1u);
  EXPECT_EQ(got.chain[0], whole.chain[0]);
  EXPECT_FALSE(got.resolved());
  auto old_child = IndirectPage::Parse(old_payload)->child_at(0);
  ASSERT_TRUE(old_child.ok());
  EXPECT_EQ(std::get<LeafRef>(*old_child), whole);
  EXPECT_TRUE(std::get<LeafRef>(*old_child).resolved());

  // A length of 0, or past the longest chain, is Corruption.
  for (uint32_t length : {0u, 65u}) {
    std::string bad = new_payload;
    const size_t at = bad.find(static_cast<char>(0x83));
    ASSERT_NE(at, std::string::npos);
    bad[at] = static_cast<char>(0x80 | length);
    auto p = IndirectPage::Parse(bad);
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p->child_at(0).status().IsCorruption()) << length;
  }
}

}  // namespace
}  // namespace revfs
