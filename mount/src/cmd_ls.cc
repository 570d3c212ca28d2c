// revfs ls STORE REV [PATH] [-l] [--json]: lists a directory of a revision
// (names only, `ls -l`-like lines, or every stored attribute as JSON,
// extended attributes included); for
// any other entry, that entry alone.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <memory>
#include <string>

#include "cli.h"
#include "revfs/json.h"
#include "revfs/time_util.h"
#include "revfs/tree.h"

namespace revfs::cli {
namespace {

std::string ModeString(const Inode& n) {
  std::string s(10, '-');
  switch (n.type) {
    case FileType::kDirectory: s[0] = 'd'; break;
    case FileType::kSymlink: s[0] = 'l'; break;
    case FileType::kFifo: s[0] = 'p'; break;
    case FileType::kCharDevice: s[0] = 'c'; break;
    case FileType::kBlockDevice: s[0] = 'b'; break;
    case FileType::kSocket: s[0] = 's'; break;
    default: break;
  }
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) {
    if (n.mode & (0400 >> i)) s[1 + i] = rwx[i];
  }
  if (n.mode & S_ISUID) s[3] = (n.mode & S_IXUSR) ? 's' : 'S';
  if (n.mode & S_ISGID) s[6] = (n.mode & S_IXGRP) ? 's' : 'S';
  if (n.mode & S_ISVTX) s[9] = (n.mode & S_IXOTH) ? 't' : 'T';
  return s;
}

void PrintLong(const Inode& n, std::string_view name) {
  std::string size = std::to_string(n.size);
  if (n.type == FileType::kCharDevice || n.type == FileType::kBlockDevice) {
    size = std::to_string(major(n.rdev)) + "," + std::to_string(minor(n.rdev));
  }
  std::printf("%s %u %u %u %s %s %.*s", ModeString(n).c_str(), n.nlink, n.uid, n.gid,
              size.c_str(), FormatTime(n.mtime_ns, true).c_str(), static_cast<int>(name.size()),
              name.data());
  if (n.type == FileType::kSymlink) std::printf(" -> %s", n.symlink.c_str());
  std::printf("\n");
}

// One entry of `ls --json`: every stored attribute, extended attributes
// included (read from their blob if they have one).
Status EntryJson(JsonWriter& w, Database& db, ReadTrx& trx, const Inode& n,
                 std::string_view name) {
  REVFS_ASSIGN_OR_RETURN(XattrList xattrs, LoadXattrs(db, trx, n));
  w.BeginObject();
  w.NamedString("name", name);
  w.Key("type").String(FileTypeName(n.type));
  w.Key("mode").Uint(n.mode & 07777);
  w.Key("nlink").Uint(n.nlink);
  w.Key("uid").Uint(n.uid);
  w.Key("gid").Uint(n.gid);
  w.Key("size").Uint(n.size);
  w.Key("mtime_ns").Int(n.mtime_ns);
  w.Key("mtime").String(FormatTime(n.mtime_ns, true));
  if (n.type == FileType::kSymlink) w.NamedString("target", n.symlink);
  if (n.type == FileType::kCharDevice || n.type == FileType::kBlockDevice) {
    w.Key("rdev_major").Uint(major(n.rdev));
    w.Key("rdev_minor").Uint(minor(n.rdev));
  }
  // name -> value in base64: values are bytes (ACLs, capabilities).
  w.Key("xattrs").BeginObject();
  for (const auto& [xname, value] : xattrs) w.Key(xname).String(Base64(value));
  w.EndObject();
  w.EndObject();
  return Status::OK();
}

}  // namespace

Command AddLsCommand(CLI::App& app) {
  struct Args {
    std::string store, rev, path;
    bool long_format = false, json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("ls", "List a directory of a revision");
  cmd->add_option("STORE", args->store, "The store")->required();
  cmd->add_option("REV", args->rev, "Revision: a number, latest or @TIME")->required();
  cmd->add_option("PATH", args->path, "Path inside the revision (default: its root)");
  cmd->add_flag("-l", args->long_format, "Mode, links, owner, group, size, mtime, name");
  cmd->add_flag("--json", args->json,
                "A JSON array of entries: name, type, mode, nlink, uid, gid, size, "
                "mtime, xattrs (name: base64 value)");
  return {cmd, [args] {
    auto o = OpenRevision(args->store, args->rev);
    if (!o.ok()) return Fail(o.status());
    ReadTrx& trx = *o->trx;
    auto target = ResolvePath(trx, args->path);
    if (!target.ok()) return Fail(target.status());
    const Inode& inode = target->second;
    if (args->json) {
      JsonWriter w;
      w.BeginArray();
      Status error;
      if (inode.type != FileType::kDirectory) {
        error = EntryJson(w, *o->db, trx, inode, args->path);
        if (!error.ok()) return Fail(error.WithContext(args->path));
      } else {
        Status s = ListDirectory(trx, inode, "", [&](std::string_view name, const DirEntry& e) {
          auto child = GetInode(trx, e.ino);
          if (!child.ok()) {
            error = child.status();
            return false;
          }
          error = EntryJson(w, *o->db, trx, *child, name);
          if (!error.ok()) error = error.WithContext(std::string(name));
          return error.ok();
        });
        if (!s.ok()) return Fail(s);
        if (!error.ok()) return Fail(error);
      }
      w.EndArray();
      std::printf("%s\n", w.str().c_str());
      return kExitOk;
    }
    if (inode.type != FileType::kDirectory) {
      if (args->long_format) {
        PrintLong(inode, args->path);
      } else {
        std::printf("%s\n", args->path.c_str());
      }
      return kExitOk;
    }
    Status error;
    Status s = ListDirectory(trx, inode, "", [&](std::string_view name, const DirEntry& e) {
      if (!args->long_format) {
        std::printf("%.*s\n", static_cast<int>(name.size()), name.data());
        return true;
      }
      auto child = GetInode(trx, e.ino);
      if (!child.ok()) {
        error = child.status();
        return false;
      }
      PrintLong(*child, name);
      return true;
    });
    if (!s.ok()) return Fail(s);
    if (!error.ok()) return Fail(error);
    return kExitOk;
  }};
}

}  // namespace revfs::cli
