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

SegmentAllocator* EngineTest::allocator() {
  if (!allocator_) {
    auto a = SegmentAllocator::Create(AllocatorOptions{});
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    allocator_ = std::move(a).value();
  }
  return allocator_.get();
}

std::unique_ptr<Database> EngineTest::CreateStore(
    const std::string& name, int64_t time_ns, const StoreConfig& config,
    const std::function<void(DatabaseOptions*)>& tweak) {
  Status created = Store::Create(Path(name), config, {}, time_ns);
  EXPECT_TRUE(created.ok()) << created.ToString();
  if (!created.ok()) return nullptr;
  DatabaseOptions options;
  options.store.writable = true;
  options.memory.shared_allocator = allocator();
  if (tweak) tweak(&options);
  auto rs = Database::Open(Path(name), options);
  EXPECT_TRUE(rs.ok()) << rs.status().ToString();
  return rs.ok() ? std::move(rs).value() : nullptr;
}

std::unique_ptr<Database> EngineTest::OpenStore(const std::string& name) {
  DatabaseOptions options;
  options.store.writable = true;
  options.memory.shared_allocator = allocator();
  auto rs = Database::Open(Path(name), options);
  EXPECT_TRUE(rs.ok()) << rs.status().ToString();
  return rs.ok() ? std::move(rs).value() : nullptr;
}

void EngineTest::TearDown() {
  ReleaseResources();
  if (allocator_) {
    AllocatorStats s = allocator_->stats();
    for (const SizeClassStats& c : s.classes) {
      EXPECT_EQ(c.free, c.total) << "segments of " << c.segment_size
                                 << " bytes not returned to the pool";
    }
    EXPECT_EQ(s.bytes_in_use, 0u);
    EXPECT_EQ(s.allocations, s.releases);
    allocator_.reset();
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace revfs::testing
