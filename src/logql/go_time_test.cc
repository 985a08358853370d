#include "logql/go_time.h"

#include <gtest/gtest.h>

namespace argus::logql {
namespace {

int64_t Ns(std::string_view layout, std::string_view value, const TimeZone* loc = nullptr) {
  auto t = ParseGoTime(layout, value, loc);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? t->ToUnixNs(loc) : 0;
}

TEST(GoTimeTest, NamedLayouts) {
  EXPECT_EQ(Ns(GoNamedLayout("RFC3339"), "2019-07-09T21:48:36Z"), 1562708916'000000000);
  EXPECT_EQ(Ns(GoNamedLayout("RFC3339"), "2019-07-09T23:48:36+02:00"), 1562708916'000000000);
  // RFC3339 has no fraction in its layout but Go reads one after the seconds.
  EXPECT_EQ(Ns(GoNamedLayout("RFC3339"), "2019-07-09T21:48:36.5Z"), 1562708916'500000000);
  EXPECT_EQ(Ns(GoNamedLayout("RFC3339Nano"), "2019-07-09T21:48:36.000000123Z"), 1562708916'000000123);
  EXPECT_EQ(Ns(GoNamedLayout("RFC3339Nano"), "2019-07-09T21:48:36Z"), 1562708916'000000000);
  EXPECT_EQ(Ns(GoNamedLayout("ANSIC"), "Tue Jul  9 21:48:36 2019"), 1562708916'000000000);
  EXPECT_EQ(Ns(GoNamedLayout("RFC1123Z"), "Tue, 09 Jul 2019 17:48:36 -0400"), 1562708916'000000000);
  EXPECT_EQ(Ns(GoNamedLayout("RFC822"), "09 Jul 19 21:48 UTC"), 1562708880'000000000);
  EXPECT_EQ(GoNamedLayout("2006"), "2006");
}

TEST(GoTimeTest, CustomLayoutsFromRealLogs) {
  // Apache: [Sun Dec 04 04:47:44 2005]
  EXPECT_EQ(Ns("Mon Jan 02 15:04:05 2006", "Sun Dec 04 04:47:44 2005"), 1133671664'000000000);
  // Hadoop, comma before the milliseconds.
  EXPECT_EQ(Ns("2006-01-02 15:04:05,000", "2015-10-18 18:01:47,978"), 1445191307'978000000);
  // Spark: two-digit year.
  EXPECT_EQ(Ns("06/01/02 15:04:05", "17/06/09 20:10:40"), 1497039040'000000000);
  // HDFS: digits run together.
  EXPECT_EQ(Ns("060102 150405", "081109 203615"), 1226262975'000000000);
  // Syslog has no year: Go leaves year 0.
  auto t = ParseGoTime("Jan _2 15:04:05", "Jun  4 15:16:01");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->has_year);
  EXPECT_EQ(t->year, 0);
  EXPECT_EQ(t->month, 6);
  EXPECT_EQ(t->day, 4);
  EXPECT_EQ(t->hour, 15);
  // A run of spaces matches a run of spaces; names ignore case; 12-hour clock.
  EXPECT_EQ(Ns("Jan 2 2006 3:04PM", "jun   1 2020 1:02PM"), 1591016520'000000000);
  EXPECT_EQ(Ns("Jan 2 2006 03:04 pm", "Jun 1 2020 12:02 am"), 1590969720'000000000);
  EXPECT_EQ(Ns("2006-002", "2020-060"), 1582934400'000000000);  // day of year: Feb 29
}

TEST(GoTimeTest, ErrorsInGoWords) {
  auto t = ParseGoTime("2006-01-02", "2019-x");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "parsing time \"2019-x\" as \"2006-01-02\": cannot parse \"x\" as \"01\"");
  t = ParseGoTime("2006-01-02", "2019-13-01");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "parsing time \"2019-13-01\": month out of range");
  t = ParseGoTime("2006-01-02", "2019-02-30");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "parsing time \"2019-02-30\": day out of range");
  t = ParseGoTime("2006", "2019 trailing");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "parsing time \"2019 trailing\": extra text: \" trailing\"");
  EXPECT_FALSE(ParseGoTime("15:04:05.000", "10:00:00.12").ok());
}

TEST(GoTimeTest, Locations) {
  auto ny = LoadTimeZone("America/New_York");
  if (!ny.ok()) GTEST_SKIP() << "no tzdata: " << ny.status().ToString();
  // Summer (EDT, -4h) and winter (EST, -5h) wall times.
  EXPECT_EQ(Ns("2006-01-02 15:04:05", "2019-07-09 17:48:36", ny->get()), 1562708916'000000000);
  EXPECT_EQ(Ns("2006-01-02 15:04:05", "2019-01-09 16:48:36", ny->get()), 1547070516'000000000);
  // An explicit offset wins over the location; an abbreviation of the location is resolved.
  EXPECT_EQ(Ns("2006-01-02 15:04:05 -0700", "2019-07-09 21:48:36 +0000", ny->get()), 1562708916'000000000);
  EXPECT_EQ(Ns("2006-01-02 15:04:05 MST", "2019-07-09 17:48:36 EDT", ny->get()), 1562708916'000000000);
  EXPECT_EQ((*ny)->OffsetAt(1562708916), -4 * 3600);
  EXPECT_FALSE(LoadTimeZone("Nowhere/City").ok());
  EXPECT_FALSE(LoadTimeZone("../etc/passwd").ok());
  auto utc = LoadTimeZone("UTC");
  ASSERT_TRUE(utc.ok());
  EXPECT_EQ((*utc)->OffsetAt(0), 0);
}

}  // namespace
}  // namespace argus::logql
