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

}  // namespace
}  // namespace revfs
