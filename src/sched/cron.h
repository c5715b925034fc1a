// Standard 5-field cron expressions (Vixie semantics) evaluated in the wall
// time of an IANA time zone read from the system tz database (TZif files).
//
// Daylight-saving rules for NextFire/FiresBetween:
//  - A local time that falls in a spring-forward gap does not exist that day;
//    it fires once at the first instant after the gap (the transition itself,
//    e.g. 03:00 CEST for a 02:30 Europe/Paris job), however many gap minutes
//    match. A daily job therefore never loses a day.
//  - A local time that occurs twice in a fall-back overlap fires once, at its
//    first occurrence (the earlier UTC instant).
//
// Every type here is immutable after construction and safe to share across
// threads; no function touches the process TZ or calls localtime().
#pragma once

#include <bitset>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace dw::sched {

namespace internal {
struct ZoneData;
}  // namespace internal

// An instant; fire times are always whole minutes of local wall time.
using TimePoint = std::chrono::system_clock::time_point;

// A parsed cron expression: the set of allowed values of each field.
class CronExpr {
 public:
  // The expression text as given to ParseCron (macros stay unexpanded).
  const std::string& source() const { return source_; }

  // Allowed minutes (bit 0..59).
  const std::bitset<60>& minutes() const { return minutes_; }
  // Allowed hours (bit 0..23).
  const std::bitset<24>& hours() const { return hours_; }
  // Allowed days of the month (bit 1..31; bit 0 is never set).
  const std::bitset<32>& days_of_month() const { return days_of_month_; }
  // Allowed months (bit 1..12; bit 0 is never set).
  const std::bitset<13>& months() const { return months_; }
  // Allowed days of the week (bit 0 = Sunday .. 6 = Saturday; 7 maps to 0).
  const std::bitset<7>& days_of_week() const { return days_of_week_; }

  // True when both day fields are restricted (neither starts with '*'), so a
  // day matches if EITHER field matches; otherwise both must match.
  bool day_fields_or() const { return !dom_star_ && !dow_star_; }

  // Whether the civil date year-month-day (month 1..12, day 1..31) satisfies
  // the day-of-month, month and day-of-week fields.
  bool MatchesDate(int year, unsigned month, unsigned day) const;

  // True when no date in any year can ever match (e.g. "0 0 31 2 *").
  bool NeverFires() const;

 private:
  friend Result<CronExpr> ParseCron(std::string_view expr);

  std::string source_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;
  std::bitset<13> months_;
  std::bitset<7> days_of_week_;
  bool dom_star_ = false;
  bool dow_star_ = false;
};

// Parses "minute hour day-of-month month day-of-week" separated by blanks.
// Each field is a comma list of `*`, `v`, `a-b`, `*/n`, `a-b/n` or `a/n`
// (a to the field's maximum, step n). Month names JAN-DEC and day names
// SUN-SAT are accepted in any case; day-of-week 7 is Sunday. The macros
// @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly stand
// for their usual expansions. Fails with kInvalidInput and a message naming
// the field, the offending token and the allowed range, e.g.
//   cron field 'hour': value 24 out of range 0-23 in "0 24 * * *"
Result<CronExpr> ParseCron(std::string_view expr);

// An IANA time zone: UTC offsets over time, from a TZif file's transitions
// and, past the last one, its POSIX TZ footer rule. Cheap to copy.
class TimeZone {
 public:
  // Coordinated Universal Time, available without a tz database.
  static TimeZone Utc();

  // Parses the contents of a TZif file (RFC 8536, versions 1 to 4) and
  // labels the zone `name`. Fails with kInvalidInput on malformed data,
  // naming the defect; files with leap-second records ("right/" zones) are
  // rejected.
  static Result<TimeZone> FromTzif(std::string_view name, std::string_view tzif);

  // The IANA name, e.g. "Europe/Paris".
  const std::string& name() const;

  // Offset of local wall time from UTC in effect at `t` (local = UTC + offset).
  std::chrono::seconds UtcOffset(TimePoint t) const;

  // One stretch of UTC time with a constant offset: [begin, end) in seconds
  // since the epoch; begin is INT64_MIN and end INT64_MAX at the open ends.
  // `previous_offset` is the offset just before `begin` (equal to `offset`
  // at the open start).
  struct Span {
    std::int64_t begin;
    std::int64_t end;
    std::int32_t offset;
    std::int32_t previous_offset;
  };

  // The span containing the instant `t` (seconds since the epoch).
  Span SpanAt(std::int64_t t) const;

 private:
  friend Result<TimeZone> LoadTimeZone(std::string_view name, const std::string& zoneinfo_dir);

  explicit TimeZone(std::shared_ptr<const internal::ZoneData> zone) : zone_(std::move(zone)) {}

  std::shared_ptr<const internal::ZoneData> zone_;
};

// Loads the IANA zone `name` (e.g. "Europe/Paris", "UTC") from the directory
// named by $TZDIR, else /usr/share/zoneinfo. "UTC" and "Etc/UTC" work even
// without a tz database. Successful loads are cached for the process.
// Fails with kInvalidInput for a malformed name or file, kNotFound for a
// name the database does not have.
Result<TimeZone> LoadTimeZone(std::string_view name);

// Like LoadTimeZone(name) but reads from `zoneinfo_dir` and does not cache.
Result<TimeZone> LoadTimeZone(std::string_view name, const std::string& zoneinfo_dir);

// The first fire time strictly after `after`, judged by the wall clock of
// `tz` (see the daylight-saving rules at the top of this file). nullopt when
// the expression can never fire or the next fire is past the range of
// TimePoint (year 2262).
std::optional<TimePoint> NextFire(const CronExpr& expr, const TimeZone& tz, TimePoint after);

// The fire times t with from < t <= to, in order, at most `limit` of them.
std::vector<TimePoint> FiresBetween(const CronExpr& expr, const TimeZone& tz, TimePoint from,
                                    TimePoint to, std::size_t limit);

}  // namespace dw::sched
