// history_gen: makes a reproducible, source-like directory history for the
// benchmarks. `history_gen DIR SEED 0` creates the first revision (about
// 1,600 files, 24 MB of text in nested packages); `history_gen DIR SEED N`
// applies step N: edits a few percent of the files (lines changed, added,
// removed), adds and deletes some files and renames one, as a week of work
// on a real project would.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string Word(std::mt19937_64& rng) {
  static const char* kWords[] = {"status", "result", "page",  "store",  "revision", "chunk",
                                 "record", "index",  "cache", "buffer", "segment",  "commit",
                                 "read",   "write",  "open",  "close",  "offset",   "length"};
  return kWords[rng() % (sizeof(kWords) / sizeof(kWords[0]))] + std::to_string(rng() % 50);
}

std::string Line(std::mt19937_64& rng) {
  std::string s(2 * (rng() % 4), ' ');
  switch (rng() % 5) {
    case 0: s += "if (" + Word(rng) + " == " + Word(rng) + ") {"; break;
    case 1: s += "return " + Word(rng) + "(" + Word(rng) + ", " + Word(rng) + ");"; break;
    case 2: s += "// " + Word(rng) + " " + Word(rng) + " " + Word(rng) + " " + Word(rng); break;
    case 3: s += "auto " + Word(rng) + " = " + Word(rng) + "->" + Word(rng) + "();"; break;
    default: s += "}"; break;
  }
  return s + "\n";
}

std::string File(std::mt19937_64& rng, size_t lines) {
  std::string s;
  for (size_t i = 0; i < lines; ++i) s += Line(rng);
  return s;
}

std::vector<fs::path> Files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: history_gen DIR SEED STEP\n";
    return 1;
  }
  fs::path dir = argv[1];
  const uint64_t seed = std::stoull(argv[2]);
  const int step = std::stoi(argv[3]);
  std::mt19937_64 rng(seed * 1000003 + static_cast<uint64_t>(step));
  if (step == 0) {
    fs::remove_all(dir);
    for (int p = 0; p < 40; ++p) {
      fs::path pkg = dir / ("pkg" + std::to_string(p)) / ("sub" + std::to_string(p % 7));
      fs::create_directories(pkg);
      for (int f = 0; f < 40; ++f) {
        std::ofstream(pkg / ("file" + std::to_string(f) + ".cc")) << File(rng, 100 + rng() % 600);
      }
    }
    return 0;
  }
  std::vector<fs::path> files = Files(dir);
  const size_t edits = files.size() / 40;
  for (size_t i = 0; i < edits; ++i) {
    const fs::path& f = files[rng() % files.size()];
    std::ifstream in(f);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l + "\n");
    in.close();
    for (int k = 0; k < 5 && !lines.empty(); ++k) {
      size_t at = rng() % lines.size();
      switch (rng() % 3) {
        case 0: lines[at] = Line(rng); break;
        case 1: lines.insert(lines.begin() + static_cast<long>(at), Line(rng)); break;
        default: lines.erase(lines.begin() + static_cast<long>(at)); break;
      }
    }
    std::ofstream out(f, std::ios::trunc);
    for (const auto& l : lines) out << l;
  }
  for (int i = 0; i < 3; ++i) {
    fs::path pkg = files[rng() % files.size()].parent_path();
    std::ofstream(pkg / ("new" + std::to_string(step) + "_" + std::to_string(i) + ".cc"))
        << File(rng, 50 + rng() % 300);
  }
  fs::remove(files[rng() % files.size()]);
  const fs::path& from = files[rng() % files.size()];
  if (fs::exists(from)) fs::rename(from, from.parent_path() / ("renamed" + std::to_string(step) + ".cc"));
  return 0;
}
