// Helpers for the tests of leaf fragments and versioning plans: combining
// fragments (newest first) into a page image, and reading a combined page
// back as a slot -> value map. Pure functions over bytes; no shared state.
#ifndef REVFS_TESTS_ENGINE_RECORDS_COMBINE_UTIL_H_
#define REVFS_TESTS_ENGINE_RECORDS_COMBINE_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "records/record_page.h"

namespace revfs::testing {

// Combines `fragments` (newest first) into a page image; a plan that fails
// fails the calling test.
inline std::string CombineToString(const std::vector<std::string>& fragments) {
  std::vector<std::string_view> views(fragments.begin(), fragments.end());
  CombinePlan plan;
  Status s = plan.Plan(views);
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::string image(plan.OutputSize(), '\0');
  plan.Write(image.data());
  return image;
}

// Returns the records of `page` by slot.
inline std::map<uint32_t, std::string> ToMap(const CombinedPage& page) {
  std::map<uint32_t, std::string> m;
  for (size_t i = 0; i < page.size(); ++i) m[page.at(i).slot] = std::string(page.at(i).value);
  return m;
}

}  // namespace revfs::testing

#endif  // REVFS_TESTS_ENGINE_RECORDS_COMBINE_UTIL_H_
