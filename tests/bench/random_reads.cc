// random_reads: `random_reads FILE COUNT SEED` does COUNT preads of 4 KiB at
// random 4 KiB-aligned offsets of FILE (reproducible for a SEED), printing
// nothing; exit 1 if the file cannot be opened or a read fails. Used by
// tests/bench/run.sh for the random-read workload.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s FILE COUNT SEED\n", argv[0]);
    return 2;
  }
  const long count = std::strtol(argv[2], nullptr, 10);
  const uint64_t seed = std::strtoull(argv[3], nullptr, 10);
  const int fd = open(argv[1], O_RDONLY);
  if (fd < 0) {
    std::perror(argv[1]);
    return 1;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size < 4096) {
    std::fprintf(stderr, "%s: smaller than 4 KiB\n", argv[1]);
    return 1;
  }
  const uint64_t blocks = static_cast<uint64_t>(st.st_size) / 4096;
  std::mt19937_64 rng(seed);
  alignas(4096) static char buf[4096];
  for (long i = 0; i < count; ++i) {
    const off_t off = static_cast<off_t>((rng() % blocks) * 4096);
    if (pread(fd, buf, sizeof buf, off) != static_cast<ssize_t>(sizeof buf)) {
      std::perror("pread");
      return 1;
    }
  }
  close(fd);
  return 0;
}
