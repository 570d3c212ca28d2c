// RevFs: history/, the union of every path that ever existed, read from the
// history index (engine/include/revfs/history.h).
//
// history/ is the root path as the latest revision's index has it; every
// path below is a directory (a kHistoryDir node: the index of one revision,
// the path's id) listing, in this order:
//   - the path's versions that are not directories, each named
//     @RRRRRRRR_TIME (the revision, zero-padded to 8 digits, and its commit
//     time as at/ names it), so that ls sorts them in time order; each is
//     the entry of revisions/R itself (same node, same st_ino), so diff
//     between versions skips what is equal without reading;
//   - @current, a symlink to the last version when the path exists now and
//     is not a directory;
//   - the names that ever existed in it (when the path was a directory at
//     some revision), a name starting with '@' shown with a second '@' in
//     front, so no name is taken for a version or the link.
// A deletion is no entry: the version before it is the last, and @current
// is missing while the path is gone (revfs log shows deletions). A node's
// listing never changes (a later revision's index is another node); the
// names under history/ itself are looked up again after the short timeout.
#include <charconv>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "attributes.h"
#include "listing_cursors.h"
#include "node_table.h"
#include "revfs/fusefs/fusefs.h"
#include "revfs/history.h"
#include "revfs/time_util.h"

namespace revfs::fusefs {
namespace {

using Kind = Node::Kind;

constexpr std::string_view kCurrentName = "@current";
constexpr char kVersionMark = '@';
// Revisions are padded to this many digits: names sort in time order up to
// revision 99,999,999 (later ones are longer, and still found).
constexpr int kVersionDigits = 8;

// The listing's resume points (ListingCursors keeps one string per
// position): a version's entry number, the current link, or a name.
constexpr char kTokenVersion = 'v', kTokenCurrent = 'c', kTokenName = 'n';

bool Listed(const PathVersion& v) {
  return v.change != HistoryChange::kDeleted && v.type != FileType::kDirectory;
}

// Names in history/ that stand for a stored name, and back.
std::string Escape(std::string_view name) {
  std::string out;
  if (!name.empty() && name[0] == kVersionMark) out.push_back(kVersionMark);
  out += name;
  return out;
}

// Whether `t` is a resume token of a history listing: 'v' and an entry
// number, 'c', or 'n' and a name.
std::optional<uint64_t> TokenEntry(std::string_view t) {
  uint64_t n = 0;
  if (t.size() < 2 || t[0] != kTokenVersion) return std::nullopt;
  const char* end = t.data() + t.size();
  auto [at, ec] = std::from_chars(t.data() + 1, end, n);
  if (ec != std::errc() || at != end) return std::nullopt;
  return n;
}
bool IsToken(std::string_view t) {
  return (t.size() == 1 && t[0] == kTokenCurrent) || (t.size() > 1 && t[0] == kTokenName) ||
         TokenEntry(t).has_value();
}

// The revision a version name names, if it has the form.
std::optional<uint64_t> VersionRevision(std::string_view name) {
  if (name.size() < 2 || name[0] != kVersionMark) return std::nullopt;
  const size_t underscore = name.find('_');
  if (underscore == std::string_view::npos || underscore < 1 + kVersionDigits ||
      underscore > 20) {
    return std::nullopt;
  }
  uint64_t rev = 0;
  for (size_t i = 1; i < underscore; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    rev = rev * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return rev;
}

// The revision and path id a history directory node reads.
struct HistoryPlace {
  uint64_t rev;
  uint64_t path;
};

std::string VersionName(const Store& store, uint64_t rev) {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%0*llu", kVersionDigits,
                static_cast<unsigned long long>(rev));
  auto entry = store.GetRevision(rev);
  return std::string(1, kVersionMark) + digits + "_" +
         FormatTimeCompact(entry.ok() ? entry->time_ns : 0);
}

}  // namespace

Result<std::string> RevFs::HistoryLinkTarget(const Node& link) {
  REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(link.rev));
  REVFS_ASSIGN_OR_RETURN(auto last, LastVersion(*trx, link.ino));
  if (!last || !Listed(*last)) return Status::NotFound("no current version");
  return VersionName(db_->store(), last->revision);
}

Result<EntryReply> RevFs::VersionEntry(uint64_t parent, uint64_t rev, uint64_t ino) {
  REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(rev));
  REVFS_ASSIGN_OR_RETURN(Inode inode, GetInode(*trx, ino));
  return EntryOfInode(parent, rev, ino, inode);
}

Result<EntryReply> RevFs::LookupHistory(const Node& p, uint64_t parent, std::string_view name) {
  const bool top = p.kind == Kind::kHistory;
  const HistoryPlace at{top ? Latest() : p.rev, top ? kHistoryRootPath : p.ino};
  EntryReply r;
  // Under history/ itself, names are looked up again after the short
  // timeout (a commit may add one or change what it is); below, a node's
  // names never change.
  r.entry_timeout = top ? options_.short_timeout : options_.long_timeout;
  if (at.rev == 0) return r;  // revision 0 is the empty tree: no history
  REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(at.rev));
  if (name == kCurrentName) {
    REVFS_ASSIGN_OR_RETURN(auto last, LastVersion(*trx, at.path));
    if (!last || !Listed(*last)) return r;
    r.node = nodes_->Intern(Kind::kHistoryLink, at.rev, at.path, parent);
  } else if (!name.empty() && name[0] == kVersionMark && (name.size() < 2 || name[1] != kVersionMark)) {
    const std::optional<uint64_t> rev = VersionRevision(name);
    if (!rev) return r;
    REVFS_ASSIGN_OR_RETURN(auto version, VersionAt(*trx, at.path, *rev));
    if (!version || !Listed(*version) || VersionName(db_->store(), *rev) != name) return r;
    REVFS_ASSIGN_OR_RETURN(EntryReply entry, VersionEntry(parent, *rev, version->ino));
    entry.entry_timeout = r.entry_timeout;
    return entry;
  } else {
    if (!name.empty() && name[0] == kVersionMark) name.remove_prefix(1);  // "@@x" is "@x"
    REVFS_ASSIGN_OR_RETURN(auto child, HistoryChild(*trx, at.path, name));
    if (!child) return r;
    r.node = nodes_->Intern(Kind::kHistoryDir, at.rev, *child, parent);
  }
  auto attr = GetAttr(r.node);
  if (!attr.ok()) {
    Forget(r.node, 1);
    return attr.status();
  }
  r.attr = *attr;
  return r;
}

Status RevFs::ReadHistoryDir(const Node& node, uint64_t id, uint64_t offset,
                             const std::function<bool(const DirItem&)>& fn) {
  const bool top = node.kind == Kind::kHistory;
  const HistoryPlace at{top ? Latest() : node.rev, top ? kHistoryRootPath : node.ino};
  uint64_t parent_ino = kRootNode;
  if (!top) {
    auto parent = nodes_->Get(node.parent);
    parent_ino = parent.ok() ? DirStIno(*parent, node.parent) : 0;
  }
  const DirItem dots[] = {{".", 0, S_IFDIR, DirStIno(node, id)}, {"..", 0, S_IFDIR, parent_ino}};
  for (; offset < kFirstEntryPosition; ++offset) {
    if (!fn(dots[offset])) return Status::OK();
  }
  if (at.rev == 0) return Status::OK();  // revision 0 is the empty tree: no history
  REVFS_ASSIGN_OR_RETURN(auto trx, db_->BeginRead(at.rev));

  // Resume at the token that ended the previous call, or count from the
  // start when it is no longer remembered.
  std::string token;
  uint64_t skip = 0;
  if (offset > kFirstEntryPosition) {
    std::optional<std::string> t = cursors_->Find(id, offset);
    if (t && IsToken(*t)) {
      token = std::move(*t);
    } else {
      skip = offset - kFirstEntryPosition;
    }
  }
  const char section = token.empty() ? kTokenVersion : token[0];
  bool go = true, taken_any = false;
  std::string last_token;
  // Each item carries its token: a readdirplus reply cut short remembers
  // the token of the last item it took.
  auto give = [&](DirItem& item) {
    if (skip > 0) {
      --skip;
      return true;
    }
    if (!fn(item)) return go = false;
    taken_any = true;
    last_token = item.cursor;
    ++offset;
    return true;
  };

  if (section == kTokenVersion) {
    const uint64_t from = token.empty() ? 0 : *TokenEntry(token) + 1;
    DirItem item;
    REVFS_RETURN_IF_ERROR(ListVersionsFrom(*trx, at.path, from, [&](uint64_t n, const PathVersion& v) {
      if (!Listed(v)) return true;
      item.name = VersionName(db_->store(), v.revision);
      item.node_hint = v.ino;
      item.hint_rev = v.revision;
      item.type = ModeOfType(v.type);
      item.st_ino = StInoOf(v.revision, v.ino, v.type, v.identity, options_.unique_ino);
      item.cursor = kTokenVersion + std::to_string(n);
      return give(item);
    }));
  }
  if (go && section == kTokenVersion) {
    REVFS_ASSIGN_OR_RETURN(auto last, LastVersion(*trx, at.path));
    if (last && Listed(*last)) {
      DirItem item{std::string(kCurrentName), 0, S_IFLNK, HistoryLinkStIno(at.path)};
      item.cursor = std::string(1, kTokenCurrent);
      give(item);
    }
  }
  if (go) {
    const std::string after = section == kTokenName ? token.substr(1) : std::string();
    REVFS_RETURN_IF_ERROR(ListHistoryChildren(
        *trx, at.path, after, [&](std::string_view name, uint64_t child) {
          DirItem item{Escape(name), 0, S_IFDIR, HistoryDirStIno(child)};
          item.cursor = kTokenName + std::string(name);
          return give(item);
        }));
  }
  if (taken_any) cursors_->Remember(id, offset, last_token);
  return Status::OK();
}

}  // namespace revfs::fusefs
