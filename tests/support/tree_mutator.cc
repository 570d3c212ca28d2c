#include "support/tree_mutator.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace revfs::testing {

namespace fs = std::filesystem;

bool MutateTree(const std::string& src, const std::vector<std::string>& names, std::mt19937& rng,
                int r) {
  const std::string p = src + "/" + names[rng() % names.size()];
  fs::create_directories(fs::path(p).parent_path());
  struct stat st;
  const bool exists = ::lstat(p.c_str(), &st) == 0;
  switch (rng() % 8) {
    case 0:  // write (add or edit)
    case 1:
      if (exists && !S_ISREG(st.st_mode)) fs::remove_all(p);
      std::ofstream(p, std::ios::app) << "line of revision " << r << "\n";
      break;
    case 2:  // metadata only
      if (exists) {
        struct timespec times[2] = {{0, UTIME_OMIT}, {1'600'000'000 + r, 0}};
        ::utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW);
        if (!S_ISLNK(st.st_mode)) ::chmod(p.c_str(), (r % 2) ? 0600 : 0644);
      }
      break;
    case 3:  // type change: file <-> directory
      if (exists && S_ISDIR(st.st_mode)) {
        fs::remove_all(p);
        std::ofstream(p) << "was a directory\n";
      } else {
        if (exists) fs::remove(p);
        fs::create_directories(p + "/inner");
        std::ofstream(p + "/inner/file") << "inside " << r << "\n";
      }
      break;
    case 4:  // rename
      if (exists) {
        const std::string to = src + "/" + names[rng() % names.size()];
        if (to != p && to.find(p + "/") != 0 && p.find(to + "/") != 0) {
          fs::remove_all(to);
          fs::create_directories(fs::path(to).parent_path());
          fs::rename(p, to);
        }
      }
      break;
    case 5:  // delete
      if (exists) fs::remove_all(p);
      break;
    case 6:  // symlink
      if (exists) fs::remove_all(p);
      fs::create_symlink("target-" + std::to_string(r % 3), p);
      break;
    case 7:  // FIFO
      if (exists) fs::remove_all(p);
      return ::mkfifo(p.c_str(), 0644) == 0;
  }
  return true;
}

}  // namespace revfs::testing
