// Fuzzes fragment decoding and combining: the input is split at each "\xff\xfe"
// into up to 8 fragment payloads (newest first), which are decoded and
// combined into one page image, as PageLoader::Leaf does.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "records/record_page.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace revfs;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> fragments;
  while (fragments.size() < 8) {
    size_t cut = in.find("\xff\xfe");
    fragments.push_back(in.substr(0, cut));
    if (cut == std::string_view::npos) break;
    in.remove_prefix(cut + 2);
  }
  for (std::string_view f : fragments) {
    FragmentView view;
    (void)DecodeFragment(f, &view);
  }
  CombinePlan plan;
  if (!plan.Plan(fragments).ok()) return 0;
  if (plan.OutputSize() > (16u << 20)) return 0;
  std::string out(plan.OutputSize(), '\0');
  plan.Write(out.data());
  return 0;
}
