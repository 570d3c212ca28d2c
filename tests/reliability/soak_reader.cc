// One soak reader: OPS random reads — a random revision among 1..REVS, a
// random file of it, a random offset and length — each through the mount and
// compared with the same bytes of the reference copy REF/<rev>/<file>.
// Exits 1 (printing the first mismatch) if any byte differs or a read of
// the mount fails where the reference succeeds.
//   soak_reader MOUNT REF REVS OPS SEED
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {

// Reads up to `n` bytes at `offset`; returns the count, or -1.
long ReadAt(const std::string& path, uint64_t offset, size_t n, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return -1;
  out->resize(n);
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out->data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      ::close(fd);
      return -1;
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  ::close(fd);
  out->resize(done);
  return static_cast<long>(done);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: soak_reader MOUNT REF REVS OPS SEED\n");
    return 2;
  }
  const std::string mnt = argv[1], ref = argv[2];
  const int revs = std::atoi(argv[3]);
  const long ops = std::atol(argv[4]);
  std::mt19937_64 rng(std::strtoull(argv[5], nullptr, 10));
  std::vector<std::vector<std::string>> files(revs + 1);
  for (int r = 1; r <= revs; ++r) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(ref + "/" + std::to_string(r))) {
      if (e.is_regular_file()) {
        files[r].push_back(std::filesystem::relative(e.path(), ref + "/" + std::to_string(r)).string());
      }
    }
  }
  std::string want, got;
  long bytes = 0;
  for (long i = 0; i < ops; ++i) {
    const int r = 1 + static_cast<int>(rng() % revs);
    if (files[r].empty()) continue;
    const std::string& f = files[r][rng() % files[r].size()];
    const std::string a = ref + "/" + std::to_string(r) + "/" + f;
    const std::string b = mnt + "/revisions/" + std::to_string(r) + "/" + f;
    const uint64_t size = std::filesystem::file_size(a);
    const uint64_t offset = size ? rng() % size : 0;
    const size_t length = 1 + rng() % (rng() % 4 == 0 ? (1u << 20) : 16384);
    const long n = ReadAt(a, offset, length, &want);
    const long m = ReadAt(b, offset, length, &got);
    if (n < 0) continue;
    if (m != n || got != want) {
      std::fprintf(stderr, "soak: %s at %llu+%zu: %ld bytes read, %ld expected%s\n", b.c_str(),
                   static_cast<unsigned long long>(offset), length, m, n,
                   m == n ? " (bytes differ)" : "");
      return 1;
    }
    bytes += n;
  }
  std::printf("%ld ops, %ld bytes checked\n", ops, bytes);
  return 0;
}
