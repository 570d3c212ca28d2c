// EngineTest: the fixture every engine test derives from.
//
// Each test gets a fresh temporary directory (removed afterwards) and, on
// request, the test's SegmentAllocator. At teardown the fixture first calls
// ReleaseResources() — derived fixtures destroy their stores, caches and
// guards there — and then asserts pool conservation: every segment carved
// from the allocator is back on a free list (free == total in every size
// class). So a leaked segment anywhere in any engine test fails the suite.
#ifndef REVFS_TESTS_SUPPORT_ENGINE_TEST_H_
#define REVFS_TESTS_SUPPORT_ENGINE_TEST_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "memory/segment_allocator.h"
#include "revfs/database.h"
#include "util/hash.h"

namespace revfs::testing {

// Shortens LookupKey to its top `bits` for the life of the object (the
// identity seam, util/hash.h), so that distinct contents share a key.
class ShortLookupKeys {
 public:
  explicit ShortLookupKeys(int bits) { SetLookupKeyBitsForTest(bits); }
  ~ShortLookupKeys() { SetLookupKeyBitsForTest(64); }
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Destroys everything holding segments; called before the conservation
  // check. Derived fixtures override it and reset their members.
  virtual void ReleaseResources() {}

  // Returns the test's private directory; valid until TearDown.
  const std::filesystem::path& dir() const { return dir_; }
  // Returns dir()/name as a string.
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // Returns the test's allocator (made on first use, 256 MiB budget);
  // checked for conservation at teardown.
  SegmentAllocator* allocator();

  // Creates a store at Path(name) holding revision 0 (made at `time_ns`)
  // and opens it writable, reading through allocator(); `tweak` may adjust
  // the options first. Null (and a failure) if that fails.
  std::unique_ptr<Database> CreateStore(
      const std::string& name, int64_t time_ns,
      const std::function<void(DatabaseOptions*)>& tweak = {}) {
    return CreateStore(name, time_ns, StoreConfig{}, tweak);
  }
  // The same, with the store's `config` (versioning approach ...).
  std::unique_ptr<Database> CreateStore(
      const std::string& name, int64_t time_ns, const StoreConfig& config,
      const std::function<void(DatabaseOptions*)>& tweak = {});
  // Opens the store at Path(name) again, writable, reading through
  // allocator(). Null (and a failure) if that fails.
  std::unique_ptr<Database> OpenStore(const std::string& name);

 private:
  std::filesystem::path dir_;
  std::unique_ptr<SegmentAllocator> allocator_;
};

}  // namespace revfs::testing

#endif  // REVFS_TESTS_SUPPORT_ENGINE_TEST_H_
