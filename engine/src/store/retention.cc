#include "store/retention.h"

#include <algorithm>

#include "store/page.h"
#include "util/coding.h"

namespace revfs {

bool RetentionState::IsForgotten(uint64_t revision) const {
  auto it = std::upper_bound(forgotten.begin(), forgotten.end(), revision,
                             [](uint64_t r, const Range& g) { return r < g.first; });
  if (it == forgotten.begin()) return false;
  --it;
  return revision - it->first < it->count;
}

const RevisionHold* RetentionState::HoldOf(uint64_t revision) const {
  auto it = std::lower_bound(holds.begin(), holds.end(), revision,
                             [](const RevisionHold& h, uint64_t r) { return h.revision < r; });
  return it != holds.end() && it->revision == revision ? &*it : nullptr;
}

std::optional<uint64_t> RetentionState::KeptAtOrBefore(uint64_t revision) const {
  // At most one range holds `revision`, and ranges are never adjacent: the
  // revision just below a range is kept.
  auto it = std::upper_bound(forgotten.begin(), forgotten.end(), revision,
                             [](uint64_t r, const Range& g) { return r < g.first; });
  if (it == forgotten.begin()) return revision;
  --it;
  if (revision - it->first >= it->count) return revision;
  if (it->first == 0) return std::nullopt;
  return it->first - 1;
}

void RetentionState::AddForgotten(const std::vector<uint64_t>& revisions) {
  std::vector<uint64_t> all = revisions;
  for (const Range& g : forgotten) {
    for (uint64_t r = g.first; r < g.first + g.count; ++r) all.push_back(r);
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  std::erase_if(overrides, [&](const RootOverride& o) {
    return std::binary_search(all.begin(), all.end(), o.revision);
  });
  forgotten.clear();
  for (uint64_t r : all) {
    if (!forgotten.empty() && forgotten.back().first + forgotten.back().count == r) {
      ++forgotten.back().count;
    } else {
      forgotten.push_back({r, 1});
    }
  }
}

uint64_t RetentionState::ForgottenCount() const {
  uint64_t n = 0;
  for (const Range& g : forgotten) n += g.count;
  return n;
}

std::string EncodeRetention(const RetentionState& state) {
  std::string s;
  PutVarint64(&s, state.forgotten.size());
  for (const auto& g : state.forgotten) {
    PutVarint64(&s, g.first);
    PutVarint64(&s, g.count);
  }
  PutVarint64(&s, state.holds.size());
  for (const auto& h : state.holds) {
    PutVarint64(&s, h.revision);
    s.push_back(static_cast<char>(std::min(h.tag.size(), kMaxHoldTag)));
    s.append(h.tag.substr(0, kMaxHoldTag));
  }
  PutVarint64(&s, state.segments.size());
  for (const auto& g : state.segments) {
    PutVarint64(&s, g.segment);
    PutVarint64(&s, g.live_bytes);
  }
  PutVarint64(&s, state.overrides.size());
  for (const auto& o : state.overrides) {
    PutVarint64(&s, o.revision);
    EncodeCompactPageRef(&s, o.root);
  }
  return s;
}

Result<RetentionState> DecodeRetention(std::string_view payload) {
  Decoder in(payload);
  RetentionState st;
  auto bad = [](const char* what) {
    return Status::Corruption(std::string("retention page: ") + what);
  };
  // Every entry takes at least one byte: a count past the bytes left is
  // refused before anything is sized from it.
  uint64_t n = in.Varint64();
  if (!in.ok() || n > in.remaining()) return bad("bad range count");
  for (uint64_t i = 0; i < n; ++i) {
    RetentionState::Range g{in.Varint64(), in.Varint64()};
    if (!in.ok() || g.count == 0 || g.first + g.count < g.first) return bad("bad range");
    if (!st.forgotten.empty() &&
        g.first <= st.forgotten.back().first + st.forgotten.back().count) {
      return bad("ranges out of order");
    }
    st.forgotten.push_back(g);
  }
  n = in.Varint64();
  if (!in.ok() || n > in.remaining()) return bad("bad hold count");
  for (uint64_t i = 0; i < n; ++i) {
    RevisionHold h;
    h.revision = in.Varint64();
    h.tag = std::string(in.ShortBytes());
    if (!in.ok()) return bad("bad hold");
    if (!st.holds.empty() && h.revision <= st.holds.back().revision) {
      return bad("holds out of order");
    }
    if (st.IsForgotten(h.revision)) return bad("a held revision is forgotten");
    st.holds.push_back(std::move(h));
  }
  n = in.Varint64();
  if (!in.ok() || n > in.remaining()) return bad("bad segment count");
  for (uint64_t i = 0; i < n; ++i) {
    RetentionState::SegmentLive g{in.Varint64(), in.Varint64()};
    if (!in.ok()) return bad("bad segment entry");
    if (!st.segments.empty() && g.segment <= st.segments.back().segment) {
      return bad("segments out of order");
    }
    st.segments.push_back(g);
  }
  // A page of an earlier development build ends here: no overrides.
  n = in.remaining() == 0 ? 0 : in.Varint64();
  if (!in.ok() || n > in.remaining()) return bad("bad override count");
  for (uint64_t i = 0; i < n; ++i) {
    RetentionState::RootOverride o;
    o.revision = in.Varint64();
    o.root = DecodeCompactPageRef(&in);
    if (!in.ok() || o.root.IsNull()) return bad("bad root override");
    if (!st.overrides.empty() && o.revision <= st.overrides.back().revision) {
      return bad("root overrides out of order");
    }
    if (st.IsForgotten(o.revision)) return bad("a forgotten revision has a root override");
    st.overrides.push_back(o);
  }
  if (in.remaining() != 0) return bad("trailing bytes");
  return st;
}

}  // namespace revfs
