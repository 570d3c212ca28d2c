// ApplyRetentionPolicy: restic's --keep-* semantics over revision times, as
// tables of times -> the revisions kept.
#include <gtest/gtest.h>

#include "revfs/retention.h"
#include "revfs/time_util.h"

namespace revfs {
namespace {

// Revisions 1..n at the given UTC times (ascending).
std::vector<RevisionTime> At(const std::vector<std::string>& times) {
  std::vector<RevisionTime> revs;
  uint64_t n = 1;
  for (const auto& t : times) {
    auto ns = ParseTime(t);
    EXPECT_TRUE(ns.ok()) << t;
    revs.push_back({n++, *ns});
  }
  return revs;
}

std::vector<uint64_t> Keep(const std::vector<RevisionTime>& revs, const RetentionPolicy& p,
                           const std::vector<uint64_t>& held = {}) {
  PolicyDecision d = ApplyRetentionPolicy(revs, p, held);
  EXPECT_EQ(d.keep.size() + d.forget.size(), revs.size());
  EXPECT_EQ(d.reasons.size(), d.keep.size());
  return d.keep;
}

// restic's documentation example shape: one snapshot a day, 2015-08-08 to
// 2015-09-06 plus a few extra the same day; --keep-daily 7 --keep-weekly 2
// --keep-monthly 2 keeps the newest per day for 7 days, then the newest of
// each of the two ISO weeks after those, then the newest of each month.
const std::vector<std::string> kHistory = {
    "2015-08-01T10:00:00Z",  // 1  Sat, week 31, August
    "2015-08-08T10:00:00Z",  // 2  Sat, week 32
    "2015-08-15T10:00:00Z",  // 3  Sat, week 33
    "2015-08-22T10:00:00Z",  // 4  Sat, week 34
    "2015-08-29T10:00:00Z",  // 5  Sat, week 35
    "2015-08-30T10:00:00Z",  // 6  Sun, week 35
    "2015-08-31T09:00:00Z",  // 7  Mon, week 36, last of August
    "2015-09-01T09:00:00Z",  // 8  Tue, September
    "2015-09-02T09:00:00Z",  // 9
    "2015-09-03T09:00:00Z",  // 10
    "2015-09-03T18:00:00Z",  // 11 same day as 10
    "2015-09-04T09:00:00Z",  // 12
    "2015-09-05T09:00:00Z",  // 13
    "2015-09-05T09:30:00Z",  // 14 same hour as 13
    "2015-09-06T09:00:00Z",  // 15 Sun, latest
};

TEST(RetentionPolicyTest, EachBucketPolicyAlone) {
  auto revs = At(kHistory);
  RetentionPolicy p;
  p.last = 3;
  EXPECT_EQ(Keep(revs, p), (std::vector<uint64_t>{13, 14, 15}));
  p = {};
  p.daily = 4;  // 15 (6th), 14 (5th), 12 (4th), 11 (3rd; 10 same day)
  EXPECT_EQ(Keep(revs, p), (std::vector<uint64_t>{11, 12, 14, 15}));
  p = {};
  p.hourly = 3;  // 15, 14 (13 same hour), 12
  EXPECT_EQ(Keep(revs, p), (std::vector<uint64_t>{12, 14, 15}));
  p = {};
  p.weekly = 3;  // week 36 (15: Sun Sep 6 ends it), week 35 (6), week 34 (4)
  EXPECT_EQ(Keep(revs, p), (std::vector<uint64_t>{4, 6, 15}));
  p = {};
  p.monthly = 2;
  EXPECT_EQ(Keep(revs, p), (std::vector<uint64_t>{7, 15}));
  p = {};
  p.yearly = 5;
  EXPECT_EQ(Keep(revs, p), (std::vector<uint64_t>{15}));
}

TEST(RetentionPolicyTest, PoliciesCombineAsAUnion) {
  auto revs = At(kHistory);
  RetentionPolicy p;
  p.daily = 7;    // 15 14 12 11 9 8 7 (days 6,5,4,3,2,1 Sep, 31 Aug)
  p.weekly = 2;   // 15 (week 36), 6 (week 35)
  p.monthly = 3;  // 15 (Sep), 7 (Aug); no third month but 1 is August too
  PolicyDecision d = ApplyRetentionPolicy(revs, p, {});
  EXPECT_EQ(d.keep, (std::vector<uint64_t>{6, 7, 8, 9, 11, 12, 14, 15}));
  EXPECT_EQ(d.forget, (std::vector<uint64_t>{1, 2, 3, 4, 5, 10, 13}));
  EXPECT_EQ(d.reasons.back(),
            (std::vector<std::string>{"latest", "daily", "weekly", "monthly"}));
  EXPECT_EQ(d.reasons.front(), (std::vector<std::string>{"weekly"}));
}

TEST(RetentionPolicyTest, LatestAndHeldAreAlwaysKept) {
  auto revs = At(kHistory);
  RetentionPolicy p;
  p.monthly = 1;
  EXPECT_EQ(Keep(revs, p, {2, 10}), (std::vector<uint64_t>{2, 10, 15}));
  // Revisions already forgotten are not passed: buckets see only these.
  std::vector<RevisionTime> some = {revs[0], revs[6], revs[14]};
  p = {};
  p.last = 1;
  EXPECT_EQ(Keep(some, p), (std::vector<uint64_t>{15}));
  EXPECT_EQ(Keep(some, RetentionPolicy{}), (std::vector<uint64_t>{1, 7, 15}));
}

TEST(RetentionPolicyTest, KeepWithinIsRelativeToTheNewestRevision) {
  auto revs = At(kHistory);
  RetentionPolicy p;
  p.within = *ParseKeepWithin("2d");  // after 2015-09-04T09:00:00 exactly
  EXPECT_EQ(Keep(revs, p), (std::vector<uint64_t>{13, 14, 15}));
  p.within = *ParseKeepWithin("1m");  // after 2015-08-06T09:00
  EXPECT_EQ(Keep(revs, p).front(), 2u);
  p.within = *ParseKeepWithin("3d2h");  // after 2015-09-03T07:00
  EXPECT_EQ(Keep(revs, p).front(), 10u);
  // Calendar arithmetic normalises like Go's AddDate: 31 March - 1m is
  // 3 March (no 31 February).
  EXPECT_EQ(SubtractCalendar(*ParseTime("2015-03-31T00:00:00Z"), {0, 1, 0, 0}),
            *ParseTime("2015-03-03T00:00:00Z"));
  EXPECT_EQ(SubtractCalendar(*ParseTime("2016-02-29T12:00:00.5Z"), {1, 0, 0, 0}),
            *ParseTime("2015-03-01T12:00:00.5Z"));
}

TEST(RetentionPolicyTest, WeeksAreIso8601) {
  // 2020-12-31 (Thu) is in 2020-W53; 2021-01-03 (Sun) too; 2021-01-04 W01.
  auto revs = At({"2020-12-28T00:00:00Z", "2020-12-31T00:00:00Z", "2021-01-03T00:00:00Z",
                  "2021-01-04T00:00:00Z"});
  RetentionPolicy p;
  p.weekly = 10;
  EXPECT_EQ(Keep(revs, p), (std::vector<uint64_t>{3, 4}));
  // 2019-12-30 (Mon) is 2020-W01, with 2020-01-01.
  revs = At({"2019-12-29T00:00:00Z", "2019-12-30T00:00:00Z", "2020-01-01T00:00:00Z"});
  EXPECT_EQ(Keep(revs, p), (std::vector<uint64_t>{1, 3}));
}

TEST(RetentionPolicyTest, KeepWithinParsing) {
  EXPECT_EQ(*ParseKeepWithin("1y2m3d4h"), (CalendarDuration{1, 2, 3, 4}));
  EXPECT_EQ(*ParseKeepWithin("36h"), (CalendarDuration{0, 0, 0, 36}));
  for (const char* bad : {"", "5", "d", "1w", "2d1y", "1d1d", "0d", "1000000d", "-1d", "1.5d"}) {
    auto d = ParseKeepWithin(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_TRUE(d.status().IsInvalidArgument());
    EXPECT_NE(d.status().message().find(std::string("'") + bad + "'"), std::string_view::npos);
  }
}

}  // namespace
}  // namespace revfs
