// What stat and listings show of a node: its st_ino, its mode bits from a
// stored file type, and a struct stat filled from a stored inode.
//
// st_ino: a file's (any non-directory) comes from its version's identity
// and the stored inode number its path keeps across revisions, so an
// unchanged file keeps it in every revision (diff -r skips it unread) while
// two paths of one revision never share it unless hard-linked; a
// directory's is its own per revision, so cp -a of two revisions never
// takes an unchanged directory for a hard link. With unique_ino every path
// of every revision has its own. Every number made from a hash has the top
// bit set, apart from the fixed nodes' ids (1..7), which are their st_ino.
// All come from a directory entry alone, so a listing's d_ino equals stat's
// st_ino without reading the children.
//
// Thread safety: pure functions.
#ifndef REVFS_FUSEFS_ATTRIBUTES_H_
#define REVFS_FUSEFS_ATTRIBUTES_H_

#include <sys/stat.h>

#include <cstdint>

#include "node_table.h"
#include "revfs/inode.h"

namespace revfs::fusefs {

// Every directory's st_size, stored or invented: ext4's for a one-block
// directory (tools read no meaning into it).
inline constexpr off_t kDirectorySize = 4096;

// st_ino of a store entry of revision `rev` (see above).
ino_t StInoOf(uint64_t rev, uint64_t ino, FileType type, const Digest256& identity,
              bool unique_ino);
// st_ino of revisions/REV and of an at/ link to revision REV: one formula
// each for stat and the listings (d_ino must equal st_ino).
ino_t RevRootStIno(uint64_t rev);
ino_t AtLinkStIno(uint64_t rev);
// st_ino of history/'s directory of path id `path`, and of its current
// link: the same whichever revision's index is read.
ino_t HistoryDirStIno(uint64_t path);
ino_t HistoryLinkStIno(uint64_t path);
// st_ino of directory node `id` (no store access): "." and ".." in listings.
ino_t DirStIno(const Node& node, uint64_t id);

// The S_IF* bits of a stored file type.
mode_t ModeOfType(FileType type);
// Sets the three times of `st` to `ns` (what the mount invents).
void FillTimes(struct stat* st, int64_t ns);
// Fills `st` from a stored inode (all but st_ino).
void FillFromInode(const Inode& inode, struct stat* st);

}  // namespace revfs::fusefs

#endif  // REVFS_FUSEFS_ATTRIBUTES_H_
