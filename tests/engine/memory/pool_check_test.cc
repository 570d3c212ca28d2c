// CheckPoolReturned, the check the mount's daemon makes at exit: it passes
// only once every pin is released, and names what is missing otherwise.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "revfs/pool_check.h"
#include "revfs/tree.h"
#include "support/engine_test.h"

namespace revfs::testing {
namespace {

class PoolCheckTest : public EngineTest {
 protected:
  void ReleaseResources() override { rs_.reset(); }
  std::unique_ptr<Database> rs_;
};

TEST_F(PoolCheckTest, PassesOnlyOnceEveryPinIsReleased) {
  std::filesystem::create_directories(Path("src"));
  std::ofstream(Path("src/f")) << std::string(300000, 'x');
  rs_ = CreateStore("store", 1);
  ASSERT_TRUE(rs_);
  CaptureOptions co;
  co.time_ns = 2;
  ASSERT_TRUE(CaptureTree(*rs_, Path("src"), co).ok());
  {
    auto trx = rs_->BeginRead(1);
    ASSERT_TRUE(trx.ok());
    auto f = ResolvePath(**trx, "f");
    ASSERT_TRUE(f.ok());
    std::vector<PinnedView> pins;
    std::vector<std::string_view> pieces;
    ASSERT_TRUE(ReadFilePinned(*rs_, **trx, f->second, 0, 300000, &pins, &pieces).ok());
    ASSERT_FALSE(pins.empty());
    Status held = CheckPoolReturned(*rs_);
    ASSERT_FALSE(held.ok());
    EXPECT_TRUE(held.IsCorruption());
    EXPECT_NE(held.message().find(std::to_string(pins.size()) + " pins held"), std::string::npos)
        << held.message();
    EXPECT_NE(held.message().find("bytes not back in the pool"), std::string::npos);
  }
  Status s = CheckPoolReturned(*rs_);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

}  // namespace
}  // namespace revfs::testing
