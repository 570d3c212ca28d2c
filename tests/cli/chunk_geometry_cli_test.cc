// An inode whose chunk list overlaps (checksums valid, geometry not), met as
// users meet it: `revfs verify` reports it and exits 1, `revfs cat` is one
// line and exit 1, and on the mount that file reads as EIO while the rest of
// the revision reads fine.
#include <string>

#include "cli/mount_fixture.h"
#include "revfs/database.h"
#include "revfs/tree.h"

namespace revfs::testing {
namespace {

class ChunkGeometryCliTest : public MountTest {
 protected:
  // Commits f (100 bytes) and g (10 bytes) as revision 1, then revision 2
  // where f claims 200 bytes: f's chunk at 0 and g's chunk at 50.
  void CommitOverlappingFile() {
    WriteFile(src_ + "/f", std::string(100, 'f'));
    WriteFile(src_ + "/g", std::string(10, 'g'));
    Commit(1);
    DatabaseOptions options;
    options.store.writable = true;
    auto rs = Database::Open(store_, options);
    ASSERT_TRUE(rs.ok()) << rs.status().ToString();
    auto trx = std::move((*rs)->BeginRead(1)).value();
    auto f = ResolvePath(*trx, "f");
    auto g = ResolvePath(*trx, "g");
    ASSERT_TRUE(f.ok() && g.ok());
    ASSERT_EQ(f->second.chunks.size(), 1u);
    ASSERT_EQ(g->second.chunks.size(), 1u);
    Inode bad = f->second;
    bad.size = 200;
    ChunkRef second = g->second.chunks[0];
    second.offset = 50;
    bad.chunks.push_back(second);
    auto w = std::move((*rs)->BeginWrite()).value();
    ASSERT_TRUE(w->Put(kInodeBase | f->first, EncodeInode(bad)).ok());
    ASSERT_TRUE(w->Commit(trx->time_ns() + 1, "overlap").ok());
  }
};

TEST_F(ChunkGeometryCliTest, VerifyAndCatReportIt) {
  CommitOverlappingFile();
  if (HasFatalFailure()) return;
  ShResult v = Sh(std::string(REVFS_BINARY) + " verify " + store_);
  EXPECT_EQ(v.code, 1) << v.out;
  EXPECT_NE(v.out.find("damaged: revision 2: "), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("overlaps"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("1 damaged"), std::string::npos) << v.out;
  ShResult c = Sh(std::string(REVFS_BINARY) + " cat " + store_ + " 2 f");
  EXPECT_EQ(c.code, 1) << c.out;
  EXPECT_EQ(c.out.rfind("revfs: ", 0), 0u) << c.out;
  EXPECT_EQ(c.out.find('\n'), c.out.size() - 1) << c.out;
  EXPECT_EQ(Sh(std::string(REVFS_BINARY) + " cat " + store_ + " 2 g").out,
            std::string(10, 'g'));
  EXPECT_EQ(Sh(std::string(REVFS_BINARY) + " cat " + store_ + " 1 f").out,
            std::string(100, 'f'));
}

TEST_F(ChunkGeometryCliTest, MountAnswersEioForThatFileOnly) {
  CommitOverlappingFile();
  if (HasFatalFailure() || !Mount()) return;
  ShResult f = Sh("LC_ALL=C cat " + mnt_ + "/revisions/2/f");
  EXPECT_NE(f.code, 0) << f.out;
  EXPECT_NE(f.out.find("Input/output error"), std::string::npos) << f.out;
  EXPECT_EQ(Sh("cat " + mnt_ + "/revisions/2/g").out, std::string(10, 'g'));
  EXPECT_EQ(Sh("cat " + mnt_ + "/revisions/1/f").out, std::string(100, 'f'));
  EXPECT_EQ(Sh("cat " + mnt_ + "/latest/g").out, std::string(10, 'g'));
}

}  // namespace
}  // namespace revfs::testing
