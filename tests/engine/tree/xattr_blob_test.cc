// Extended attributes of any size (engine/FORMAT.md, format 3): attributes
// too large for an inode record are stored as a blob of chunks and read
// back byte for byte — a 64 KiB value, 1,000 names on one file, megabytes
// on one file (a chunk map) — never dropped; the blob is shared across
// revisions, kept alive by liveness, deleted with its inode, and a blob
// that does not match its reference is Corruption, not wrong attributes.
#include <sys/xattr.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "revfs/diff.h"
#include "revfs/retention.h"
#include "revfs/tree.h"
#include "support/engine_test.h"
#include "support/xattr_source.h"

namespace revfs::testing {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;

std::string Bytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen());
  return s;
}

// The attributes of `path` as the kernel reports them, sorted by name.
XattrList SourceXattrs(const std::string& path) {
  XattrList out;
  std::string names(1 << 16, '\0');
  const ssize_t n = ::llistxattr(path.c_str(), names.data(), names.size());
  EXPECT_GE(n, 0) << path;
  std::string value(1 << 16, '\0');
  for (ssize_t pos = 0; pos < n;) {
    std::string name(names.c_str() + pos);
    pos += static_cast<ssize_t>(name.size()) + 1;
    const ssize_t vn = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    EXPECT_GE(vn, 0) << path << " " << name;
    out.emplace_back(name, value.substr(0, static_cast<size_t>(vn)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

void Set(const std::string& path, const std::string& name, const std::string& value) {
  ASSERT_EQ(::setxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0), 0)
      << path << " " << name << " (" << value.size() << " bytes)";
}

void Touch(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr) << path;
  std::fclose(f);
}

class XattrBlobTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    source_ = std::make_unique<XattrSourceDir>(Path("src"));
    ASSERT_TRUE(source_->ok()) << "no filesystem for large attributes: " << source_->why();
    src_ = source_->path();
    ASSERT_TRUE(Store::Create(Path("store"), StoreConfig{}, {}, kT0).ok());
    DatabaseOptions options;
    options.store = StoreOptions{nullptr, true};
    options.memory.shared_allocator = allocator();
    auto rs = Database::Open(Path("store"), options);
    ASSERT_TRUE(rs.ok()) << rs.status().ToString();
    rs_ = std::move(rs).value();
  }
  void ReleaseResources() override { rs_.reset(); }
  void TearDown() override {
    EngineTest::TearDown();
    source_.reset();
  }

  CaptureSummary Commit(int64_t t) {
    CaptureOptions o;
    o.time_ns = kT0 + t;
    o.on_skip = [this](const std::string& p, const Status& why) {
      skipped_.push_back(p + ": " + why.ToString());
    };
    auto s = CaptureTree(*rs_, src_, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_TRUE(skipped_.empty()) << skipped_.front();
    return s.ok() ? *s : CaptureSummary{};
  }

  Inode InodeAt(ReadTrx& trx, const std::string& path) {
    auto found = ResolvePath(trx, path);
    EXPECT_TRUE(found.ok()) << found.status().ToString();
    return found.ok() ? found->second : Inode{};
  }

  XattrList Stored(ReadTrx& trx, const Inode& inode) {
    auto list = LoadXattrs(*rs_, trx, inode);
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    return list.ok() ? *list : XattrList{};
  }

  std::unique_ptr<XattrSourceDir> source_;
  std::string src_;
  std::unique_ptr<Database> rs_;
  std::vector<std::string> skipped_;
};

TEST_F(XattrBlobTest, SmallAttributesStayInline) {
  const std::string f = src_ + "/f";
  Touch(f);
  Set(f, "user.a", "1");
  Commit(1);
  auto trx = std::move(rs_->BeginRead(1)).value();
  Inode n = InodeAt(*trx, "f");
  EXPECT_FALSE(n.xattr_blob.has_value());
  EXPECT_EQ(n.xattrs, (XattrList{{"user.a", "1"}}));
}

TEST_F(XattrBlobTest, ValueOf64KiBRoundTripsAndIsShared) {
  const std::string f = src_ + "/f", d = src_ + "/d";
  ASSERT_TRUE(std::filesystem::create_directory(d));
  FILE* file = std::fopen(f.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("content", file);
  std::fclose(file);
  Set(f, "user.big", Bytes(65536, 1));
  Set(f, "user.small", "s");
  Set(d, "user.big", Bytes(65536, 2));
  const CaptureSummary first = Commit(1);
  EXPECT_GE(first.content.chunks_new, 3u);  // two blobs and the content

  auto trx = std::move(rs_->BeginRead(1)).value();
  Inode fi = InodeAt(*trx, "f");
  ASSERT_TRUE(fi.xattr_blob.has_value());
  EXPECT_TRUE(fi.xattrs.empty());  // not loaded with the inode
  EXPECT_EQ(fi.xattr_blob->count, 2u);
  EXPECT_EQ(fi.xattr_blob->chunks.size(), 1u);
  const XattrList f1 = SourceXattrs(f);
  ASSERT_EQ(f1.size(), 2u);
  EXPECT_EQ(Stored(*trx, fi), f1);
  const XattrList d1 = SourceXattrs(d);
  EXPECT_EQ(Stored(*trx, InodeAt(*trx, "d")), d1);

  // Walked again unchanged: the directory's blob is found, not stored again.
  const CaptureSummary second = Commit(2);
  EXPECT_EQ(second.content.chunks_new, 0u);
  EXPECT_GE(second.content.chunks_reused, 1u);

  // One byte of the directory's value changes: a metadata change, and the
  // old revision keeps the old value.
  std::string changed = Bytes(65536, 2);
  changed[40000] ^= 1;
  Set(d, "user.big", changed);
  Commit(3);
  auto t2 = std::move(rs_->BeginRead(2)).value();
  auto t3 = std::move(rs_->BeginRead(3)).value();
  std::vector<std::string> changes;
  ASSERT_TRUE(DiffTrees(*t2, *t3, "", [&](ChangeKind k, const std::string& p) {
                changes.push_back(std::string(1, static_cast<char>(k)) + " " + p);
              }).ok());
  EXPECT_EQ(changes, std::vector<std::string>{"P d"});
  EXPECT_EQ(Stored(*t3, InodeAt(*t3, "d")), SourceXattrs(d));
  EXPECT_EQ(Stored(*t2, InodeAt(*t2, "d")), d1);

  // Every blob chunk is live while its revisions are kept.
  auto live = ComputeLiveness(*rs_, {1, 2, 3});
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  for (ReadTrx* t : {trx.get(), t3.get()}) {
    for (const char* path : {"f", "d"}) {
      const Inode n = InodeAt(*t, path);
      ASSERT_TRUE(n.xattr_blob.has_value()) << path;
      for (const ChunkRef& c : n.xattr_blob->chunks) {
        EXPECT_TRUE(live->Contains(c.page.offset)) << path;
      }
    }
  }
}

TEST_F(XattrBlobTest, ThousandNamesOnOneFile) {
  const std::string f = src_ + "/f";
  Touch(f);
  for (int i = 0; i < 1000; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "user.attr.%04d", i);
    Set(f, name, Bytes(static_cast<size_t>(i * 7 % 300), static_cast<uint32_t>(i)));
  }
  Commit(1);
  auto trx = std::move(rs_->BeginRead(1)).value();
  Inode n = InodeAt(*trx, "f");
  ASSERT_TRUE(n.xattr_blob.has_value());
  EXPECT_EQ(n.xattr_blob->count, 1000u);
  const XattrList stored = Stored(*trx, n);
  ASSERT_EQ(stored.size(), 1000u);
  EXPECT_EQ(stored, SourceXattrs(f));
  EXPECT_EQ(stored[999].first, "user.attr.0999");
}

TEST_F(XattrBlobTest, MegabytesUseAChunkMapDeletedWithTheFile) {
  const std::string f = src_ + "/f";
  Touch(f);
  for (int i = 0; i < 400; ++i) {  // 26 MB: more chunks than an inline list
    Set(f, "user.v" + std::to_string(1000 + i), Bytes(65536, static_cast<uint32_t>(100 + i)));
  }
  Commit(1);
  auto trx = std::move(rs_->BeginRead(1)).value();
  Inode n = InodeAt(*trx, "f");
  ASSERT_TRUE(n.xattr_blob.has_value());
  ASSERT_FALSE(n.xattr_blob->map.empty());
  EXPECT_TRUE(n.xattr_blob->chunks.empty());
  EXPECT_GT(n.xattr_blob->map.count, kInlineChunks);
  const XattrList stored = Stored(*trx, n);
  EXPECT_EQ(stored.size(), 400u);
  EXPECT_EQ(stored, SourceXattrs(f));

  // The map's chunks are live.
  auto live = ComputeLiveness(*rs_, {1});
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  Inode blob;
  blob.size = n.xattr_blob->size;
  blob.map = n.xattr_blob->map;
  uint64_t chunks = 0;
  ASSERT_TRUE(ForEachChunk(*trx, blob, 0, [&](const ChunkRef& c) {
                EXPECT_TRUE(live->Contains(c.page.offset)) << c.offset;
                ++chunks;
                return true;
              }).ok());
  EXPECT_EQ(chunks, n.xattr_blob->map.count);

  // Removed with its file: the map's root block is gone from the next
  // revision.
  ASSERT_TRUE(std::filesystem::remove(f));
  Commit(2);
  auto t2 = std::move(rs_->BeginRead(2)).value();
  auto block = t2->Get(kMapBlockBase | n.xattr_blob->map.block);
  ASSERT_TRUE(block.ok());
  EXPECT_FALSE(block->has_value());
  auto before = trx->Get(kMapBlockBase | n.xattr_blob->map.block);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->has_value());
}

TEST_F(XattrBlobTest, ABlobThatDoesNotMatchItsReferenceIsCorruption) {
  const std::string f = src_ + "/f";
  Touch(f);
  Set(f, "user.big", Bytes(65536, 7));
  Commit(1);
  auto trx = std::move(rs_->BeginRead(1)).value();
  const Inode n = InodeAt(*trx, "f");
  ASSERT_TRUE(n.xattr_blob.has_value());

  Inode wrong_hash = n;
  wrong_hash.xattr_blob->hash.bytes[31] ^= 1;  // past any prefix a lookup uses
  auto a = LoadXattrs(*rs_, *trx, wrong_hash);
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(a.status().IsCorruption()) << a.status().ToString();

  Inode wrong_count = n;
  wrong_count.xattr_blob->count = 2;
  auto b = LoadXattrs(*rs_, *trx, wrong_count);
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(b.status().IsCorruption()) << b.status().ToString();

  // A reference the decoder refuses: no chunk, or a chunk past the blob.
  Inode no_chunks = n;
  no_chunks.xattr_blob->chunks.clear();
  EXPECT_TRUE(DecodeInode(EncodeInode(no_chunks)).status().IsCorruption());
  Inode too_long = n;
  too_long.xattr_blob->size = 100;
  EXPECT_TRUE(DecodeInode(EncodeInode(too_long)).status().IsCorruption());
  auto same = DecodeInode(EncodeInode(n));
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->xattr_blob->hash, n.xattr_blob->hash);
}

TEST_F(XattrBlobTest, AttributeListEncodingIsCheckedOnDecode) {
  XattrList list = {{"user.a", "1"}, {"user.b", std::string(70000, 'x')}};
  std::string bytes;
  EncodeXattrList(&bytes, list);
  EXPECT_TRUE(DecodeXattrList(bytes).status().IsCorruption());  // value past 64 KiB
  list[1].second.resize(65536);
  bytes.clear();
  EncodeXattrList(&bytes, list);
  auto ok = DecodeXattrList(bytes);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok, list);
  std::swap(list[0], list[1]);
  bytes.clear();
  EncodeXattrList(&bytes, list);
  EXPECT_TRUE(DecodeXattrList(bytes).status().IsCorruption());  // out of order
  EXPECT_TRUE(DecodeXattrList(bytes.substr(0, bytes.size() - 1)).status().IsCorruption());
}

// Records of format byte 2 (16-byte identities, a plain count before
// inline attributes) still decode as they were written; the same count
// under byte 3 would name a blob.
TEST(XattrRecordTest, FormatTwoRecordsKeepTheirMeaning) {
  constexpr size_t kDigestSize = 32;
  Inode without;
  without.mode = 0100644;
  for (size_t i = 0; i < kDigestSize; ++i) without.identity.bytes[i] = static_cast<uint8_t>(i + 1);
  Inode with = without;
  with.xattrs = {{"user.a", "1"}};
  const std::string a = EncodeInode(without), b = EncodeInode(with);
  ASSERT_EQ(a[0], 3);
  size_t p = 0;
  while (p < a.size() && a[p] == b[p]) ++p;
  ASSERT_LT(p, a.size());
  ASSERT_EQ(a[p], 0);  // no attributes
  ASSERT_EQ(b[p], 2);  // one attribute, inline: 1 << 1
  // The identity's 32 bytes end just before the empty symlink (one byte).
  const size_t id = p - 1 - kDigestSize;
  ASSERT_EQ(b.substr(id, kDigestSize),
            std::string(reinterpret_cast<const char*>(without.identity.bytes.data()), kDigestSize));
  std::string v2 = b;
  v2.erase(id + 16, 16);  // format 2: a 16-byte identity
  v2[0] = 2;
  v2[p - 16] = 1;  // format 2: the plain count
  auto decoded = DecodeInode(v2);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->xattrs, with.xattrs);
  EXPECT_FALSE(decoded->xattr_blob.has_value());
  EXPECT_EQ(decoded->mode, with.mode);
  Digest256 widened;  // the 16 bytes, then zeros
  std::copy_n(without.identity.bytes.begin(), 16, widened.bytes.begin());
  EXPECT_EQ(decoded->identity, widened);
  EXPECT_TRUE(DecodeInode(b.substr(0, 1) + v2.substr(1)).status().IsCorruption());
  std::string v3 = b;
  v3[p] = 3;  // count 1 under byte 3: a blob reference, which this is not
  EXPECT_TRUE(DecodeInode(v3).status().IsCorruption());
  std::string v4 = b;
  v4[0] = 4;
  EXPECT_TRUE(DecodeInode(v4).status().IsCorruption());
}

}  // namespace
}  // namespace revfs::testing
