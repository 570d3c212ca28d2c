// tree_gen: makes big, reproducible trees of small files for the capture,
// watch and metadata benchmarks.
//
//   tree_gen make DIR SEED FILES DIRS [MIN_BYTES=1024 MAX_BYTES=3072]
//     creates DIR (removed first) with FILES files of MIN..MAX bytes of
//     text spread over DIRS directories (two levels: d000/s00), e.g.
//     `tree_gen make T 1 200000 2000` for 200,000 files in 2,000 directories
//     (about 390 MiB of content, 790 MiB on a 4 KiB-block filesystem).
//   tree_gen edit DIR SEED COUNT
//     rewrites COUNT files picked at random (the same ones for the same
//     SEED), each with a few lines changed and a line appended; prints the
//     paths edited, one per line, relative to DIR.
//
// Content is text from a small vocabulary (it compresses about 3:1 like
// source code) and differs per file, so deduplication does not flatter
// the store.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string Line(std::mt19937_64& rng) {
  static const char* kWords[] = {"status", "result", "page",   "store", "revision", "chunk",
                                 "record", "index",  "cache",  "buffer", "segment", "commit",
                                 "read",   "write",  "offset", "length", "node",    "entry"};
  std::string s(2 * (rng() % 4), ' ');
  const int words = 3 + static_cast<int>(rng() % 6);
  for (int i = 0; i < words; ++i) {
    s += kWords[rng() % (sizeof(kWords) / sizeof(kWords[0]))];
    s += std::to_string(rng() % 1000);
    s += i + 1 < words ? " " : ";\n";
  }
  return s;
}

std::string Text(std::mt19937_64& rng, size_t bytes) {
  std::string s;
  while (s.size() < bytes) s += Line(rng);
  s.resize(bytes);
  s.back() = '\n';
  return s;
}

fs::path FilePath(size_t file, size_t files, size_t dirs) {
  const size_t dir = file * dirs / files;  // files spread evenly, in order
  const size_t outer = std::max<size_t>(1, static_cast<size_t>(std::sqrt(double(dirs))));
  char name[64];
  std::snprintf(name, sizeof(name), "d%03zu/s%03zu/f%06zu.txt", dir / outer, dir % outer, file);
  return name;
}

int Usage() {
  std::cerr << "usage: tree_gen make DIR SEED FILES DIRS [MIN_BYTES MAX_BYTES]\n"
               "       tree_gen edit DIR SEED COUNT\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) return Usage();
  const std::string mode = argv[1];
  const fs::path dir = argv[2];
  const uint64_t seed = std::stoull(argv[3]);
  std::mt19937_64 rng(seed);
  if (mode == "make" && (argc == 6 || argc == 8)) {
    const size_t files = std::stoull(argv[4]);
    const size_t dirs = std::max<size_t>(1, std::stoull(argv[5]));
    const size_t lo = argc == 8 ? std::stoull(argv[6]) : 1024;
    const size_t hi = argc == 8 ? std::stoull(argv[7]) : 3072;
    if (files == 0 || lo == 0 || hi < lo) return Usage();
    fs::remove_all(dir);
    for (size_t f = 0; f < files; ++f) {
      const fs::path p = dir / FilePath(f, files, dirs);
      fs::create_directories(p.parent_path());
      std::ofstream(p, std::ios::binary) << Text(rng, lo + rng() % (hi - lo + 1));
    }
    return 0;
  }
  if (mode == "edit" && argc == 5) {
    const size_t count = std::stoull(argv[4]);
    std::vector<fs::path> all;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) all.push_back(e.path());
    }
    if (all.empty()) return Usage();
    std::sort(all.begin(), all.end());
    for (size_t i = 0; i < count; ++i) {
      const fs::path& p = all[rng() % all.size()];
      std::vector<std::string> lines;
      {
        std::ifstream in(p, std::ios::binary);
        for (std::string l; std::getline(in, l);) lines.push_back(l + "\n");
      }
      for (int k = 0; k < 3 && !lines.empty(); ++k) lines[rng() % lines.size()] = Line(rng);
      lines.push_back(Line(rng));
      std::ofstream out(p, std::ios::binary | std::ios::trunc);
      for (const auto& l : lines) out << l;
      std::cout << fs::relative(p, dir).string() << "\n";
    }
    return 0;
  }
  return Usage();
}
