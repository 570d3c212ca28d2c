// revfs ls and revfs cat: read a revision back from the command line.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <memory>
#include <string>

#include "cli.h"
#include "revfs/json.h"
#include "revfs/time_util.h"
#include "revfs/diff.h"
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

// One entry of `ls --json`: every stored attribute.
void EntryJson(JsonWriter& w, const Inode& n, std::string_view name) {
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
  w.EndObject();
}

struct Opened {
  std::unique_ptr<Database> store;
  std::unique_ptr<ReadTrx> trx;
};

Result<Opened> OpenRevision(const std::string& store_path, const std::string& rev) {
  Opened o;
  REVFS_ASSIGN_OR_RETURN(o.store, Database::Open(store_path, DatabaseOptions{}));
  REVFS_ASSIGN_OR_RETURN(uint64_t number, ResolveRevision(*o.store, rev));
  REVFS_ASSIGN_OR_RETURN(o.trx, o.store->BeginRead(number));
  return o;
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
                "A JSON array of entries: name, type, mode, nlink, uid, gid, size, mtime");
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
        EntryJson(w, inode, args->path);
      } else {
        Status s = ListDirectory(trx, inode, "", [&](std::string_view name, const DirEntry& e) {
          auto child = GetInode(trx, e.ino);
          if (!child.ok()) {
            error = child.status();
            return false;
          }
          EntryJson(w, *child, name);
          return true;
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

Command AddCatCommand(CLI::App& app) {
  struct Args {
    std::string store, rev, path;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("cat", "Write a file of a revision to standard output");
  cmd->add_option("STORE", args->store, "The store")->required();
  cmd->add_option("REV", args->rev, "Revision: a number, latest or @TIME")->required();
  cmd->add_option("PATH", args->path, "Path of the file inside the revision")->required();
  return {cmd, [args] {
    auto o = OpenRevision(args->store, args->rev);
    if (!o.ok()) return Fail(o.status());
    auto target = ResolvePath(*o->trx, args->path);
    if (!target.ok()) return Fail(target.status());
    const Inode& inode = target->second;
    if (inode.type != FileType::kRegular) {
      return Fail(args->path, std::string("is a ") + FileTypeName(inode.type) + ", not a file");
    }
    Status s = ReadFile(*o->store, *o->trx, inode, 0, inode.size, [](std::string_view piece) {
      if (std::fwrite(piece.data(), 1, piece.size(), stdout) != piece.size()) {
        return Status::IOError("standard output: write failed");
      }
      return Status::OK();
    });
    if (!s.ok()) return Fail(s.WithContext(args->path));
    if (std::fflush(stdout) != 0) return Fail("standard output", "write failed");
    return kExitOk;
  }};
}

}  // namespace revfs::cli

namespace revfs::cli {

Command AddDiffCommand(CLI::App& app) {
  struct Args {
    std::string store, rev1, rev2, path;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "diff", "List what changed between two revisions: A added, D deleted, M content, "
              "T type, P metadata only");
  cmd->add_option("STORE", args->store, "The store")->required();
  cmd->add_option("REV1", args->rev1, "Older revision: a number, latest or @TIME")->required();
  cmd->add_option("REV2", args->rev2, "Newer revision")->required();
  cmd->add_option("PATH", args->path, "Limit to this path");
  cmd->add_flag("--json", args->json, "A JSON array of {\"change\": \"A|D|M|T|P\", \"path\"}");
  return {cmd, [args] {
    auto store = Database::Open(args->store, DatabaseOptions{});
    if (!store.ok()) return Fail(store.status());
    auto r1 = ResolveRevision(**store, args->rev1);
    if (!r1.ok()) return Fail(r1.status());
    auto r2 = ResolveRevision(**store, args->rev2);
    if (!r2.ok()) return Fail(r2.status());
    auto a = (*store)->BeginRead(*r1);
    if (!a.ok()) return Fail(a.status());
    auto b = (*store)->BeginRead(*r2);
    if (!b.ok()) return Fail(b.status());
    JsonWriter w;
    w.BeginArray();
    Status s = DiffTrees(**a, **b, args->path, [&](ChangeKind kind, const std::string& path) {
      const std::string shown = path.empty() ? "/" : path;
      if (args->json) {
        w.BeginObject();
        w.Key("change").String(std::string(1, static_cast<char>(kind)));
        w.NamedString("path", shown);
        w.EndObject();
      } else {
        std::printf("%c %s\n", static_cast<char>(kind), shown.c_str());
      }
    });
    if (!s.ok()) return Fail(s);
    w.EndArray();
    if (args->json) std::printf("%s\n", w.str().c_str());
    return kExitOk;
  }};
}

}  // namespace revfs::cli
