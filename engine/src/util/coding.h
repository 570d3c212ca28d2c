// Little-endian fixed-width encoding of integers and length-prefixed strings,
// used by every on-disk structure. Decoding goes through Decoder, which never
// reads past its input: a short or malformed buffer makes it fail (ok()
// becomes false) instead of reading out of bounds.
#ifndef REVFS_UTIL_CODING_H_
#define REVFS_UTIL_CODING_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace revfs {

inline void PutFixed16(std::string* dst, uint16_t v) {
  char buf[2] = {static_cast<char>(v), static_cast<char>(v >> 8)};
  dst->append(buf, 2);
}
inline void PutFixed32(std::string* dst, uint32_t v) {
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>(v >> (8 * i));
  dst->append(buf, 4);
}
inline void PutFixed64(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(v >> (8 * i));
  dst->append(buf, 8);
}
inline void PutBytes(std::string* dst, std::string_view s) {
  PutFixed32(dst, static_cast<uint32_t>(s.size()));
  dst->append(s);
}

// LEB128: 7 bits a byte, low bits first, the high bit set on all but the
// last byte (at most 10 bytes for 64 bits).
inline void PutVarint64(std::string* dst, uint64_t v) {
  while (v >= 0x80) {
    dst->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  dst->push_back(static_cast<char>(v));
}
// Zigzag: small negative and positive numbers as small unsigned ones.
inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

inline uint16_t DecodeFixed16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>(u[0] | (u[1] << 8));
}
inline uint32_t DecodeFixed32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | u[i];
  return v;
}
inline uint64_t DecodeFixed64(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | u[i];
  return v;
}
inline void EncodeFixed16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v);
  p[1] = static_cast<char>(v >> 8);
}
inline void EncodeFixed32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void EncodeFixed64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}

// Reads fields in order from a buffer; sticky failure on underflow.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return in_.size(); }

  uint8_t U8() {
    if (!Need(1)) return 0;
    uint8_t v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return v;
  }
  uint16_t U16() {
    if (!Need(2)) return 0;
    uint16_t v = DecodeFixed16(in_.data());
    in_.remove_prefix(2);
    return v;
  }
  uint32_t U32() {
    if (!Need(4)) return 0;
    uint32_t v = DecodeFixed32(in_.data());
    in_.remove_prefix(4);
    return v;
  }
  uint64_t U64() {
    if (!Need(8)) return 0;
    uint64_t v = DecodeFixed64(in_.data());
    in_.remove_prefix(8);
    return v;
  }
  // Returns a LEB128 varint; fails on more than 10 bytes or past the end.
  uint64_t Varint64() {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (!Need(1)) return 0;
      const uint8_t b = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok_ = false;
    return 0;
  }
  // Returns a varint that must fit 32 bits; fails on a larger one.
  uint32_t Varint32() {
    const uint64_t v = Varint64();
    if (v > UINT32_MAX) ok_ = false;
    return ok_ ? static_cast<uint32_t>(v) : 0;
  }
  // Returns a byte string prefixed by a varint length of at most `max_len`.
  std::string_view VarBytes(size_t max_len) { return Take(Varint64(), max_len); }
  // Returns a byte string prefixed by a u8 length.
  std::string_view ShortBytes() { return Take(U8(), SIZE_MAX); }
  // Returns a length-prefixed byte string of at most `max_len` bytes; the
  // view points into the input and is valid as long as the input is.
  std::string_view Bytes(size_t max_len = SIZE_MAX) { return Take(U32(), max_len); }
  // Returns the next `n` bytes (a fixed-size field such as a digest).
  std::string_view Fixed(size_t n) { return Take(n, SIZE_MAX); }

 private:
  // The next `n` bytes (a length just read), failing past `max_len` or the
  // end, or if the length's own read failed.
  std::string_view Take(uint64_t n, size_t max_len) {
    if (!ok_ || n > max_len || !Need(n)) {
      ok_ = false;
      return {};
    }
    std::string_view v = in_.substr(0, n);
    in_.remove_prefix(n);
    return v;
  }
  bool Need(size_t n) {
    if (!ok_ || in_.size() < n) ok_ = false;
    return ok_;
  }

  std::string_view in_;
  bool ok_ = true;
};

}  // namespace revfs

#endif  // REVFS_UTIL_CODING_H_
