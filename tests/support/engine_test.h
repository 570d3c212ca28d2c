// EngineTest: the fixture every engine test derives from.
//
// Each test gets a fresh temporary directory (removed afterwards). The memory
// subsystem adds its pool-conservation check to TearDown here, so that any
// leak of a segment in any engine test fails the suite.
#ifndef REVFS_TESTS_SUPPORT_ENGINE_TEST_H_
#define REVFS_TESTS_SUPPORT_ENGINE_TEST_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace revfs::testing {

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Returns the test's private directory; valid until TearDown.
  const std::filesystem::path& dir() const { return dir_; }
  // Returns dir()/name as a string.
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

}  // namespace revfs::testing

#endif  // REVFS_TESTS_SUPPORT_ENGINE_TEST_H_
