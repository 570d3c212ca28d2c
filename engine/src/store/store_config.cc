#include "revfs/store_config.h"

#include <charconv>
#include <string>

namespace revfs {

inline constexpr uint32_t kMaxWindow = 64;
inline constexpr uint32_t kMaxFullDumpEvery = 1024;

Status StoreConfig::Validate() const {
  if (static_cast<uint8_t>(versioning) > static_cast<uint8_t>(Versioning::kSliding)) {
    return Status::InvalidArgument("versioning: unknown approach");
  }
  if (window < 2 || window > kMaxWindow) {
    return Status::InvalidArgument("window: " + std::to_string(window) +
                                   " is out of range 2.." + std::to_string(kMaxWindow));
  }
  if (full_dump_every < 1 || full_dump_every > kMaxFullDumpEvery) {
    return Status::InvalidArgument("full-dump-every: " + std::to_string(full_dump_every) +
                                   " is out of range 1.." +
                                   std::to_string(kMaxFullDumpEvery));
  }
  if (compression != Compression::kNone && compression != Compression::kZstd) {
    return Status::InvalidArgument("compression: unknown method");
  }
  if (compression == Compression::kZstd &&
      (compression_level < 1 || compression_level > 19)) {
    return Status::InvalidArgument("compression: zstd level " +
                                   std::to_string(compression_level) +
                                   " is out of range 1..19");
  }
  if (segment_size < kMinSegmentSize || segment_size > kMaxSegmentSize) {
    return Status::InvalidArgument("segment-size: " + std::to_string(segment_size) +
                                   " bytes is out of range 64KiB..1TiB");
  }
  return Status::OK();
}

const char* VersioningName(Versioning v) {
  switch (v) {
    case Versioning::kFull: return "full";
    case Versioning::kIncremental: return "incremental";
    case Versioning::kDifferential: return "differential";
    case Versioning::kSliding: return "sliding";
  }
  return "unknown";
}

Result<Versioning> ParseVersioning(std::string_view name) {
  for (auto v : {Versioning::kFull, Versioning::kIncremental,
                 Versioning::kDifferential, Versioning::kSliding}) {
    if (name == VersioningName(v)) return v;
  }
  return Status::InvalidArgument("versioning: '" + std::string(name) +
                                 "' is not one of full, incremental, "
                                 "differential, sliding");
}

std::string CompressionName(Compression c, int level) {
  if (c == Compression::kNone) return "none";
  return "zstd:" + std::to_string(level);
}

Status ParseCompression(std::string_view text, StoreConfig* config) {
  if (text == "none") {
    config->compression = Compression::kNone;
    return Status::OK();
  }
  if (text == "zstd") {
    config->compression = Compression::kZstd;
    return Status::OK();
  }
  if (text.substr(0, 5) == "zstd:") {
    std::string_view digits = text.substr(5);
    int level = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), level);
    if (ec == std::errc() && end == digits.data() + digits.size()) {
      config->compression = Compression::kZstd;
      config->compression_level = level;
      return config->Validate();
    }
  }
  return Status::InvalidArgument("compression: '" + std::string(text) +
                                 "' is not none, zstd or zstd:LEVEL");
}

Status ParseSegmentSize(std::string_view text, StoreConfig* config) {
  const auto bad = [&] {
    return Status::InvalidArgument("segment-size: '" + std::string(text) +
                                   "' is not a size (bytes, or a number with K, M, G or T)");
  };
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data()) return bad();
  std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  if (unit.size() == 3 && unit.substr(1) == "iB") unit = unit.substr(0, 1);
  int shift = 0;
  if (unit.empty()) {
    shift = 0;
  } else if (unit == "K" || unit == "k") {
    shift = 10;
  } else if (unit == "M" || unit == "m") {
    shift = 20;
  } else if (unit == "G" || unit == "g") {
    shift = 30;
  } else if (unit == "T" || unit == "t") {
    shift = 40;
  } else {
    return bad();
  }
  if (shift > 0 && n > (UINT64_MAX >> shift)) {
    return Status::InvalidArgument("segment-size: '" + std::string(text) +
                                   "' is out of range 64KiB..1TiB");
  }
  StoreConfig next = *config;
  next.segment_size = n << shift;
  if (next.segment_size < StoreConfig::kMinSegmentSize ||
      next.segment_size > StoreConfig::kMaxSegmentSize) {
    return Status::InvalidArgument("segment-size: '" + std::string(text) +
                                   "' is out of range 64KiB..1TiB");
  }
  config->segment_size = next.segment_size;
  return Status::OK();
}

std::string SegmentSizeName(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (u < 4 && bytes != 0 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++u;
  }
  return std::to_string(bytes) + kUnits[u];
}

}  // namespace revfs
