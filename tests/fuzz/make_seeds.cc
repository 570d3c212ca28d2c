// Writes the fuzzers' seed corpus: valid encodings of every format they
// decode, one file each, under DIR/<fuzzer>/.
//   make_seeds DIR
#include <filesystem>
#include <fstream>
#include <string>

#include "content/compression.h"
#include "records/indirect_page.h"
#include "records/record_page.h"
#include "store/revision.h"
#include "store/superblock.h"
#include "revfs/inode.h"
#include "tree/sorted_map.h"

namespace {

void Put(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace revfs;
  if (argc != 2) return 2;
  const std::filesystem::path out = argv[1];

  // fuzz_page: mode byte + payload.
  StoreConfig config;
  std::string text;
  for (int i = 0; i < 200; ++i) text += "line " + std::to_string(i) + "\n";
  for (ChunkEncoding want : {ChunkEncoding::kRaw, ChunkEncoding::kZstd}) {
    ChunkPageHeader h;
    h.raw_size = static_cast<uint32_t>(text.size());
    std::string stored = want == ChunkEncoding::kRaw ? text : CompressChunk(config, text, &h.encoding);
    if (want == ChunkEncoding::kRaw) h.encoding = ChunkEncoding::kRaw;
    Put(out / "fuzz_page", want == ChunkEncoding::kRaw ? "chunk_raw" : "chunk_zstd",
        std::string(1, '\0') + EncodeChunkPage(h, stored));
  }
  const std::string fragment =
      EncodeFragment(5, 3, true, std::vector<SlotChange>{{1, "one"}, {7, "seven"}, {9, std::nullopt}});
  Put(out / "fuzz_page", "record_packed", std::string(1, '\1') + PackRecordPage(fragment + text, 3));
  Put(out / "fuzz_page", "record_plain", std::string(1, '\1') + PackRecordPage(fragment, 0));
  IndirectPageBuilder b(1);
  IndirectChild child;
  b.Add(3, child);
  b.Add(90, child);
  Put(out / "fuzz_page", "indirect", std::string(1, '\2') + b.Finish());

  // fuzz_combine: fragments newest first, separated by \xff\xfe.
  const std::string older =
      EncodeFragment(5, 2, true, std::vector<SlotChange>{{1, "uno"}, {2, "dos"}, {9, "nueve"}});
  const std::string newer = EncodeFragment(5, 3, false, std::vector<SlotChange>{{2, std::nullopt}, {4, "four"}});
  Put(out / "fuzz_combine", "two", newer + "\xff\xfe" + older);
  Put(out / "fuzz_combine", "one", older);

  // fuzz_record.
  Inode file;
  file.mode = 0100644;
  file.size = 12345;
  file.symlink = "";
  file.xattrs = {{"user.a", "1"}, {"user.b", "two"}};
  ChunkRef c;
  c.length = 12345;
  file.chunks = {c};
  Put(out / "fuzz_record", "inode_file", EncodeInode(file));
  Inode blob = file;  // attributes too large for the record: a blob reference
  blob.xattrs.clear();
  XattrBlob x;
  x.size = 70000;
  x.count = 2;
  ChunkRef bc;
  bc.length = 70000;
  x.chunks = {bc};
  blob.xattr_blob = x;
  Put(out / "fuzz_record", "inode_xattr_blob", EncodeInode(blob));
  std::string list;
  EncodeXattrList(&list, file.xattrs);
  Put(out / "fuzz_record", "xattr_list", list);
  Inode link;
  link.type = FileType::kSymlink;
  link.mode = 0120777;
  link.symlink = "target/of/link";
  Put(out / "fuzz_record", "inode_symlink", EncodeInode(link));
  Inode dir;
  dir.type = FileType::kDirectory;
  dir.mode = 040755;
  Put(out / "fuzz_record", "inode_dir", EncodeInode(dir));
  Put(out / "fuzz_record", "dir_entry", EncodeDirEntry(DirEntry{42, FileType::kRegular, {}}));
  Put(out / "fuzz_record", "tree_meta", EncodeTreeMeta(TreeMeta{}));
  RevisionRoot root;
  root.number = 7;
  root.message = "a commit";
  root.counters = {{"files", 10}};
  Put(out / "fuzz_record", "revision_root", EncodeRevisionRoot(root));
  Put(out / "fuzz_record", "revision_entry", EncodeRevisionEntry(RevisionEntry{7, 99, {}}));
  std::string trie_root;
  EncodeMapRoot(&trie_root, MapRoot{});
  Put(out / "fuzz_record", "trie_root", trie_root);

  // fuzz_superblock.
  Superblock sb;
  sb.latest_revision = 3;
  sb.generation = 4;
  Put(out / "fuzz_superblock", "slot", EncodeSuperblock(sb));
  return 0;
}
