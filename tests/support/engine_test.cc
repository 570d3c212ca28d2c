#include "support/engine_test.h"

#include <stdlib.h>

#include <system_error>

namespace revfs::testing {

void EngineTest::SetUp() {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "revfs-test-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  dir_ = tmpl;
}

void EngineTest::TearDown() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace revfs::testing
