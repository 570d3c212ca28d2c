#include "tree/exclude.h"

#include <fnmatch.h>

#include "revfs/tree.h"

namespace revfs {
namespace {

// Drops trailing spaces not escaped with '\'.
std::string TrimTrailingSpaces(std::string s) {
  while (!s.empty() && s.back() == ' ') {
    size_t backslashes = 0;
    for (size_t i = s.size() - 1; i > 0 && s[i - 1] == '\\'; --i) ++backslashes;
    if (backslashes % 2 == 1) break;  // "\ ": an escaped space stays
    s.pop_back();
  }
  return s;
}

std::vector<std::string_view> Split(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '/') {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

bool Fn(const std::string& pattern, std::string_view s) {
  return ::fnmatch(pattern.c_str(), std::string(s).c_str(), FNM_PATHNAME) == 0;
}

}  // namespace

std::vector<std::string> ExcludeMatcher::Normalize(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  for (const std::string& raw : lines) {
    std::string line = raw;
    if (!line.empty() && line.back() == '\r') line.pop_back();  // files written on Windows
    if (line.empty() || line[0] == '#') continue;
    if (TrimTrailingSpaces(line).empty()) continue;
    out.push_back(line);
  }
  return out;
}

ExcludeMatcher::ExcludeMatcher(const std::vector<std::string>& lines) {
  for (const std::string& kept : Normalize(lines)) {
    std::string line = TrimTrailingSpaces(kept);
    Rule rule;
    if (line[0] == '!') {
      rule.negate = true;
      line.erase(0, 1);
    }
    while (!line.empty() && line.back() == '/') {
      rule.dir_only = true;
      line.pop_back();
    }
    if (line.empty()) continue;
    rule.anchored = line.find('/') != std::string::npos;
    if (!rule.anchored) {
      rule.pattern = line;
    } else {
      if (line[0] == '/') line.erase(0, 1);
      for (std::string_view seg : Split(line)) {
        if (seg.empty()) continue;  // "a//b" is "a/b"
        rule.segments.emplace_back(seg);
        if (seg == "**") rule.has_globstar = true;
      }
      if (rule.segments.empty()) continue;
      if (!rule.has_globstar) {  // one fnmatch over the whole path
        rule.pattern.clear();
        for (const std::string& seg : rule.segments) {
          rule.pattern += (rule.pattern.empty() ? "" : "/") + seg;
        }
      }
    }
    rules_.push_back(std::move(rule));
  }
}

bool ExcludeMatcher::MatchSegments(const std::vector<std::string>& pat, size_t pi,
                                   const std::vector<std::string_view>& path, size_t si) {
  for (; pi < pat.size(); ++pi, ++si) {
    if (pat[pi] == "**") {
      // A trailing "**" matches everything inside, not the directory itself.
      const size_t min = pi + 1 == pat.size() ? 1 : 0;
      for (size_t skip = min; si + skip <= path.size(); ++skip) {
        if (MatchSegments(pat, pi + 1, path, si + skip)) return true;
      }
      return false;
    }
    if (si >= path.size() || !Fn(pat[pi], path[si])) return false;
  }
  return si == path.size();
}

bool ExcludeMatcher::Excluded(std::string_view rel_path, bool is_dir) const {
  bool excluded = false;
  std::vector<std::string_view> segments;
  for (auto it = rules_.rbegin(); it != rules_.rend(); ++it) {  // the last match decides
    const Rule& r = *it;
    if (r.dir_only && !is_dir) continue;
    bool match;
    if (!r.anchored) {
      const size_t slash = rel_path.rfind('/');
      match = Fn(r.pattern, slash == std::string_view::npos ? rel_path : rel_path.substr(slash + 1));
    } else if (!r.has_globstar) {
      match = Fn(r.pattern, rel_path);
    } else {
      if (segments.empty()) segments = Split(rel_path);
      match = MatchSegments(r.segments, 0, segments, 0);
    }
    if (match) {
      excluded = !r.negate;
      break;
    }
  }
  return excluded;
}

PathExclusions::PathExclusions(const std::vector<std::string>& patterns)
    : matcher_(std::make_unique<const ExcludeMatcher>(patterns)) {}

PathExclusions::~PathExclusions() = default;

bool PathExclusions::DirExcluded(std::string_view rel) const {
  if (matcher_->empty() || rel.empty()) return false;
  for (size_t end = rel.find('/');; end = rel.find('/', end + 1)) {
    if (matcher_->Excluded(rel.substr(0, end), true)) return true;
    if (end == std::string_view::npos) return false;
  }
}

}  // namespace revfs
