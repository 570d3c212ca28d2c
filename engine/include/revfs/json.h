// JsonWriter: a minimal streaming JSON writer for counters, `--json` output
// and .revfs/stats. It writes valid JSON for any byte string (bytes that are
// not valid UTF-8 are escaped as \u00XX of their byte value, which is lossy:
// such a string cannot be told from one holding U+00XX, so writers of names
// and paths add the exact bytes with NamedString).
//
// Not thread-safe; one writer per document.
#ifndef REVFS_JSON_H_
#define REVFS_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace revfs {

// Returns whether `s` is well-formed UTF-8 (no overlong forms, surrogates
// or code points past U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Returns `s` in base64 (RFC 4648, with padding).
std::string Base64(std::string_view s);

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  // Writes an object key; the next call writes its value.
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  // Writes key: value, and when `value` is not valid UTF-8 also
  // key_b64: its exact bytes in base64 (RFC 4648), so names that are not
  // UTF-8 survive the round trip.
  JsonWriter& NamedString(std::string_view key, std::string_view value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  // Writes `json`, which must be one complete JSON value, as it is.
  JsonWriter& Raw(std::string_view json);

  const std::string& str() const { return out_; }

 private:
  void BeforeValue();

  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

// Appends `s` to `out` as a quoted JSON string.
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace revfs

#endif  // REVFS_JSON_H_
