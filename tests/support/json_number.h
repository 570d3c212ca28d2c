// JsonNumber: the number after "key": in a JSON document printed by revfs
// (its writer puts no space after the colon), for tests that check one
// figure without a JSON parser.
#ifndef REVFS_TESTS_SUPPORT_JSON_NUMBER_H_
#define REVFS_TESTS_SUPPORT_JSON_NUMBER_H_

#include <cstdlib>
#include <string>

namespace revfs::testing {

// The number after "key": at or after `from` in `json`; -1 if absent.
inline long long JsonNumber(const std::string& json, const std::string& key, size_t from = 0) {
  const size_t at = json.find("\"" + key + "\":", from);
  if (at == std::string::npos) return -1;
  return std::atoll(json.c_str() + at + key.size() + 3);
}

}  // namespace revfs::testing

#endif  // REVFS_TESTS_SUPPORT_JSON_NUMBER_H_
