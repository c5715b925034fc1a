#include "sched/cron.h"

#include <chrono>
#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace dw::sched {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// "YYYY-MM-DD HH:MM[:SS]" read as UTC.
TimePoint Utc(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  const int n = std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s);
  EXPECT_GE(n, 5) << text;
  const std::chrono::sys_days day =
      std::chrono::year{y} / std::chrono::month{static_cast<unsigned>(mo)} / std::chrono::day{static_cast<unsigned>(d)};
  return TimePoint(day) + hours(h) + minutes(mi) + seconds(s);
}

std::string Format(TimePoint t, seconds offset) {
  const auto local = std::chrono::floor<seconds>(t) + offset;
  const auto day = std::chrono::floor<std::chrono::days>(local);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss<seconds> time{local - day};
  char out[48];
  std::snprintf(out, sizeof out, "%04d-%02u-%02u %02ld:%02ld", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(time.hours().count()), static_cast<long>(time.minutes().count()));
  std::string text = out;
  if (offset.count() == 0) return text + "Z";
  const long total = offset.count() < 0 ? -offset.count() : offset.count();
  std::snprintf(out, sizeof out, "%c%02ld:%02ld", offset.count() < 0 ? '-' : '+', total / 3600, total % 3600 / 60);
  return text + out;
}

// A time as wall clock in `tz` with its UTC offset, e.g. "2024-03-31 03:00+02:00".
std::string Local(const TimeZone& tz, TimePoint t) { return Format(t, tz.UtcOffset(t)); }

CronExpr Cron(const std::string& text) {
  auto parsed = ParseCron(text);
  EXPECT_TRUE(parsed.has_value()) << text << ": " << (parsed ? "" : parsed.error().message);
  return parsed ? *parsed : *ParseCron("* * * * *");
}

TimeZone Zone(const std::string& name) {
  auto zone = LoadTimeZone(name);
  EXPECT_TRUE(zone.has_value()) << name << ": " << (zone ? "" : zone.error().message);
  return zone ? *zone : TimeZone::Utc();
}

// The next fire after `after` (UTC text) in UTC, formatted, or "never".
std::string NextUtc(const std::string& expr, const std::string& after) {
  auto next = NextFire(Cron(expr), TimeZone::Utc(), Utc(after));
  return next ? Format(*next, seconds(0)) : "never";
}

std::string NextLocal(const std::string& expr, const TimeZone& tz, const std::string& after_utc) {
  auto next = NextFire(Cron(expr), tz, Utc(after_utc));
  return next ? Local(tz, *next) : "never";
}

template <std::size_t N>
std::vector<int> Bits(const std::bitset<N>& bits) {
  std::vector<int> values;
  for (std::size_t i = 0; i < N; ++i) {
    if (bits[i]) values.push_back(static_cast<int>(i));
  }
  return values;
}

// --- Next fire in UTC: one row per syntax or calendar rule -----------------

struct NextCase {
  const char* name;
  const char* expr;
  const char* after;
  const char* next;
};

void PrintTo(const NextCase& c, std::ostream* os) { *os << '"' << c.expr << "\" after " << c.after; }

class NextFireUtc : public ::testing::TestWithParam<NextCase> {};

TEST_P(NextFireUtc, IsTheFirstMatchingMinuteStrictlyAfter) {
  EXPECT_EQ(NextUtc(GetParam().expr, GetParam().after), GetParam().next) << GetParam().expr;
}

INSTANTIATE_TEST_SUITE_P(
    Table, NextFireUtc,
    ::testing::Values(
        NextCase{"EveryMinute", "* * * * *", "2024-01-01 10:07:30", "2024-01-01 10:08Z"},
        NextCase{"FixedTimeLaterToday", "30 10 * * *", "2024-01-01 09:00", "2024-01-01 10:30Z"},
        NextCase{"FireTimeItselfIsNotAfter", "30 10 * * *", "2024-01-01 10:30", "2024-01-02 10:30Z"},
        NextCase{"OneSecondBeforeFire", "0 10 * * *", "2024-01-01 09:59:59", "2024-01-01 10:00Z"},
        NextCase{"MinuteStep", "*/15 * * * *", "2024-01-01 10:07", "2024-01-01 10:15Z"},
        NextCase{"MinuteStepWrapsToNextHour", "*/15 * * * *", "2024-01-01 10:46", "2024-01-01 11:00Z"},
        NextCase{"RangeWithStep", "10-30/10 * * * *", "2024-01-01 10:31", "2024-01-01 11:10Z"},
        NextCase{"StartWithStepRunsToFieldEnd", "50/5 * * * *", "2024-01-01 10:56", "2024-01-01 11:50Z"},
        NextCase{"MinuteList", "5,20,40 * * * *", "2024-01-01 10:21", "2024-01-01 10:40Z"},
        NextCase{"HourRangeRollsToNextDay", "0 9-17 * * *", "2024-01-01 17:30", "2024-01-02 09:00Z"},
        NextCase{"ListOfRanges", "0 1-2,22-23 * * *", "2024-01-01 03:00", "2024-01-01 22:00Z"},
        NextCase{"HourStep", "0 */6 * * *", "2024-01-01 12:01", "2024-01-01 18:00Z"},
        NextCase{"MonthName", "0 0 1 JUN *", "2024-01-15 00:00", "2024-06-01 00:00Z"},
        NextCase{"LowerCaseMonthRange", "0 0 1 jun-aug *", "2024-06-02 00:00", "2024-07-01 00:00Z"},
        NextCase{"MonthStep", "0 0 1 */3 *", "2024-02-01 00:00", "2024-04-01 00:00Z"},
        NextCase{"WeekdayNamesSkipWeekend", "0 9 * * MON-FRI", "2024-01-05 10:00", "2024-01-08 09:00Z"},
        NextCase{"MixedCaseDayName", "0 9 * * sUn", "2024-01-01 00:00", "2024-01-07 09:00Z"},
        NextCase{"DaySevenIsSunday", "0 0 * * 7", "2024-01-01 00:00", "2024-01-07 00:00Z"},
        NextCase{"DayRangeEndingAtSeven", "0 0 * * 6-7", "2024-01-06 12:00", "2024-01-07 00:00Z"},
        NextCase{"VixieOrMatchesWeekdayBeforeDate", "0 0 13 * FRI", "2024-01-01 00:00", "2024-01-05 00:00Z"},
        NextCase{"VixieOrMatchesDateOnOtherWeekday", "0 0 13 * FRI", "2024-01-12 00:00", "2024-01-13 00:00Z"},
        NextCase{"StarredDayOfMonthMeansBothMustMatch", "0 0 */10 * MON", "2024-01-01 00:00",
                 "2024-03-11 00:00Z"},
        NextCase{"LeapDay", "0 0 29 2 *", "2023-03-01 00:00", "2024-02-29 00:00Z"},
        NextCase{"LeapDaySkipsCenturyYear2100", "0 0 29 2 *", "2096-03-01 00:00", "2104-02-29 00:00Z"},
        NextCase{"LeapDayOnSundayIsDecadesAway", "0 0 29 2 */7", "2089-01-01 00:00", "2128-02-29 00:00Z"},
        NextCase{"Day31SkipsShortMonths", "0 12 31 * *", "2024-04-01 00:00", "2024-05-31 12:00Z"},
        NextCase{"LastMinuteOfYearRollsOneYear", "59 23 31 12 *", "2024-12-31 23:59", "2025-12-31 23:59Z"},
        NextCase{"NewYearRollover", "0 0 1 1 *", "2024-12-31 23:59:59", "2025-01-01 00:00Z"},
        NextCase{"DayOfMonth31WithFebruaryRestrictedByOr", "0 0 31 2 MON", "2024-01-01 00:00",
                 "2024-02-05 00:00Z"},
        NextCase{"MacroYearly", "@yearly", "2024-03-01 00:00", "2025-01-01 00:00Z"},
        NextCase{"MacroAnnually", "@annually", "2024-03-01 00:00", "2025-01-01 00:00Z"},
        NextCase{"MacroMonthly", "@monthly", "2024-01-31 00:00", "2024-02-01 00:00Z"},
        NextCase{"MacroWeekly", "@weekly", "2024-01-01 00:00", "2024-01-07 00:00Z"},
        NextCase{"MacroDaily", "@daily", "2024-01-01 12:00", "2024-01-02 00:00Z"},
        NextCase{"MacroMidnight", "@midnight", "2024-01-01 12:00", "2024-01-02 00:00Z"},
        NextCase{"MacroHourly", "@hourly", "2024-01-01 10:01", "2024-01-01 11:00Z"},
        NextCase{"MacroIsCaseInsensitive", "@DAILY", "2024-01-01 12:00", "2024-01-02 00:00Z"},
        NextCase{"TabsAndExtraSpacesSeparateFields", " 0\t12  * *\t* ", "2024-01-01 00:00", "2024-01-01 12:00Z"},
        NextCase{"FebruaryThirtyFirstNeverFires", "0 0 31 2 *", "2024-01-01 00:00", "never"},
        NextCase{"ThirtyFirstOfThirtyDayMonthsNeverFires", "0 0 31 4,6,9,11 *", "2024-01-01 00:00", "never"}),
    [](const ::testing::TestParamInfo<NextCase>& info) { return std::string(info.param.name); });

TEST(NextFire, SubSecondAfterAFireTimeSkipsIt) {
  const TimePoint after = Utc("2024-01-01 10:00") + std::chrono::milliseconds(500);
  EXPECT_EQ(Format(*NextFire(Cron("0 10 * * *"), TimeZone::Utc(), after), seconds(0)), "2024-01-02 10:00Z");
}

TEST(NextFire, AgreesWithMinuteByMinuteScan) {
  const TimePoint start = Utc("2024-02-27 22:13");
  for (const char* expr : {"*/7 1-3,22 * * *", "0,30 */5 28-29 * *", "15 0 1 3 *", "*/13 * * * TUE,THU",
                           "3-59/20 23 * FEB-MAR SUN-MON", "0 0 29 * WED"}) {
    const CronExpr cron = Cron(expr);
    TimePoint expected = std::chrono::floor<minutes>(start) + minutes(1);
    auto matches = [&](TimePoint t) {
      const auto day = std::chrono::floor<std::chrono::days>(t);
      const std::chrono::year_month_day ymd{day};
      const std::chrono::hh_mm_ss<seconds> hms{std::chrono::floor<seconds>(t - day)};
      return cron.MatchesDate(static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                              static_cast<unsigned>(ymd.day())) &&
             cron.hours()[static_cast<std::size_t>(hms.hours().count())] &&
             cron.minutes()[static_cast<std::size_t>(hms.minutes().count())];
    };
    while (!matches(expected)) expected += minutes(1);
    EXPECT_EQ(Format(*NextFire(cron, TimeZone::Utc(), start), seconds(0)), Format(expected, seconds(0))) << expr;
  }
}

// --- Parsed field sets -------------------------------------------------------

TEST(ParseCron, RangeWithStepSelectsEveryNthValue) {
  EXPECT_THAT(Bits(Cron("1-10/3 * * * *").minutes()), ElementsAre(1, 4, 7, 10));
}

TEST(ParseCron, StarStepOnDayOfWeekStaysWithinSundayToSaturday) {
  EXPECT_THAT(Bits(Cron("0 0 * * */2").days_of_week()), ElementsAre(0, 2, 4, 6));
}

TEST(ParseCron, SevenAndZeroAreBothSunday) {
  EXPECT_THAT(Bits(Cron("0 0 * * 0,7").days_of_week()), ElementsAre(0));
  EXPECT_THAT(Bits(Cron("0 0 * * 5-7").days_of_week()), ElementsAre(0, 5, 6));
}

TEST(ParseCron, MonthNamesMapToMonthNumbers) {
  EXPECT_THAT(Bits(Cron("0 0 1 Jan,mar,DEC *").months()), ElementsAre(1, 3, 12));
}

TEST(ParseCron, DayNameRangeWithStep) {
  EXPECT_THAT(Bits(Cron("0 0 * * MON-FRI/2").days_of_week()), ElementsAre(1, 3, 5));
}

TEST(ParseCron, DayFieldsCombineWithOrOnlyWhenBothAreRestricted) {
  EXPECT_TRUE(Cron("0 0 1 * MON").day_fields_or());
  EXPECT_FALSE(Cron("0 0 * * MON").day_fields_or());
  EXPECT_FALSE(Cron("0 0 */2 * MON").day_fields_or());
  EXPECT_FALSE(Cron("0 0 1 * *").day_fields_or());
}

TEST(ParseCron, MacroExpandsToItsFieldsAndKeepsItsSource) {
  const CronExpr weekly = Cron("@weekly");
  EXPECT_EQ(weekly.source(), "@weekly");
  EXPECT_THAT(Bits(weekly.minutes()), ElementsAre(0));
  EXPECT_THAT(Bits(weekly.hours()), ElementsAre(0));
  EXPECT_THAT(Bits(weekly.days_of_week()), ElementsAre(0));
  EXPECT_EQ(weekly.days_of_month().count(), 31u);
}

TEST(ParseCron, NeverFiresOnlyForDatesNoMonthHas) {
  EXPECT_TRUE(Cron("0 0 30,31 2 *").NeverFires());
  EXPECT_FALSE(Cron("0 0 29 2 *").NeverFires());
  EXPECT_FALSE(Cron("0 0 31 2 MON").NeverFires());
}

// --- Errors: each names the field, the token and what is allowed -------------

struct ErrorCase {
  const char* name;
  const char* expr;
  const char* message;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << '"' << c.expr << '"'; }

class ParseCronError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParseCronError, ExplainsTheProblem) {
  auto parsed = ParseCron(GetParam().expr);
  ASSERT_FALSE(parsed.has_value()) << GetParam().expr;
  EXPECT_EQ(parsed.error().kind, ErrorKind::kInvalidInput);
  EXPECT_EQ(parsed.error().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseCronError,
    ::testing::Values(
        ErrorCase{"HourTooLarge", "0 24 * * *", "cron field 'hour': value 24 out of range 0-23 in \"0 24 * * *\""},
        ErrorCase{"MinuteTooLarge", "60 * * * *",
                  "cron field 'minute': value 60 out of range 0-59 in \"60 * * * *\""},
        ErrorCase{"DayOfMonthZero", "0 0 0 * *",
                  "cron field 'day-of-month': value 0 out of range 1-31 in \"0 0 0 * *\""},
        ErrorCase{"MonthThirteen", "0 0 1 13 *", "cron field 'month': value 13 out of range 1-12 in \"0 0 1 13 *\""},
        ErrorCase{"DayOfWeekEight", "0 0 * * 1-8",
                  "cron field 'day-of-week': value 8 out of range 0-7 in \"0 0 * * 1-8\""},
        ErrorCase{"NumberTooLargeForInt", "99999999999 * * * *",
                  "cron field 'minute': value 99999999999 out of range 0-59 in \"99999999999 * * * *\""},
        ErrorCase{"UnknownMonthName", "0 0 1 FOO *",
                  "cron field 'month': unknown name 'FOO' (expected 1-12 or JAN-DEC) in \"0 0 1 FOO *\""},
        ErrorCase{"DayNameInMonthField", "0 0 1 MON *",
                  "cron field 'month': unknown name 'MON' (expected 1-12 or JAN-DEC) in \"0 0 1 MON *\""},
        ErrorCase{"NameInNumericField", "0 MON * * *",
                  "cron field 'hour': invalid value 'MON' (expected 0-23) in \"0 MON * * *\""},
        ErrorCase{"ReversedRange", "0 0 * * 5-1",
                  "cron field 'day-of-week': range '5-1' is reversed (start must not exceed end) in \"0 0 * * "
                  "5-1\""},
        ErrorCase{"ZeroStep", "*/0 * * * *", "cron field 'minute': step 0 out of range 1-59 in \"*/0 * * * *\""},
        ErrorCase{"StepLargerThanField", "0 0 */32 * *",
                  "cron field 'day-of-month': step 32 out of range 1-31 in \"0 0 */32 * *\""},
        ErrorCase{"MissingStep", "0 */ * * *", "cron field 'hour': missing step after '/' in '*/' in \"0 */ * * *\""},
        ErrorCase{"NonNumericStep", "0 0 * */x *",
                  "cron field 'month': invalid step 'x' (expected a number) in \"0 0 * */x *\""},
        ErrorCase{"DoubleStep", "*/2/3 * * * *",
                  "cron field 'minute': invalid step '2/3' (expected a number) in \"*/2/3 * * * *\""},
        ErrorCase{"EmptyListItem", "0,,5 * * * *",
                  "cron field 'minute': empty list item in '0,,5' in \"0,,5 * * * *\""},
        ErrorCase{"TrailingComma", "0 0 * * 1,",
                  "cron field 'day-of-week': empty list item in '1,' in \"0 0 * * 1,\""},
        ErrorCase{"NegativeNumber", "-1 * * * *",
                  "cron field 'minute': missing value (expected 0-59) in \"-1 * * * *\""},
        ErrorCase{"OpenEndedRange", "0 0 1- * *",
                  "cron field 'day-of-month': missing value (expected 1-31) in \"0 0 1- * *\""},
        ErrorCase{"StarInsideRange", "0 *-5 * * *",
                  "cron field 'hour': invalid value '*' (expected 0-23) in \"0 *-5 * * *\""},
        ErrorCase{"Punctuation", "0 0 1 * M?N",
                  "cron field 'day-of-week': invalid value 'M?N' (expected 0-7 or SUN-SAT) in \"0 0 1 * M?N\""},
        ErrorCase{"TooFewFields", "0 0 * *",
                  "cron expression has 4 fields, expected 5 (minute hour day-of-month month day-of-week) in "
                  "\"0 0 * *\""},
        ErrorCase{"SecondsFieldNotSupported", "0 0 0 * * *",
                  "cron expression has 6 fields, expected 5 (minute hour day-of-month month day-of-week) in "
                  "\"0 0 0 * * *\""},
        ErrorCase{"Empty", "   ", "cron expression is empty"},
        ErrorCase{"UnknownMacro", "@reboot",
                  "unknown cron macro '@reboot' (expected @yearly, @annually, @monthly, @weekly, @daily, "
                  "@midnight or @hourly) in \"@reboot\""}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

// --- FiresBetween -------------------------------------------------------------

TEST(FiresBetween, ExcludesFromAndIncludesTo) {
  const auto fires =
      FiresBetween(Cron("*/20 * * * *"), TimeZone::Utc(), Utc("2024-01-01 10:00"), Utc("2024-01-01 11:00"), 100);
  std::vector<std::string> text;
  for (TimePoint t : fires) text.push_back(Format(t, seconds(0)));
  EXPECT_THAT(text, ElementsAre("2024-01-01 10:20Z", "2024-01-01 10:40Z", "2024-01-01 11:00Z"));
}

TEST(FiresBetween, StopsAtLimit) {
  const auto fires =
      FiresBetween(Cron("* * * * *"), TimeZone::Utc(), Utc("2024-01-01 00:00"), Utc("2025-01-01 00:00"), 5);
  ASSERT_EQ(fires.size(), 5u);
  EXPECT_EQ(Format(fires.back(), seconds(0)), "2024-01-01 00:05Z");
}

TEST(FiresBetween, EmptyForImpossibleExpression) {
  EXPECT_TRUE(
      FiresBetween(Cron("0 0 30 2 *"), TimeZone::Utc(), Utc("2024-01-01 00:00"), Utc("2030-01-01 00:00"), 10).empty());
}

TEST(FiresBetween, EmptyWhenToIsBeforeFrom) {
  EXPECT_TRUE(
      FiresBetween(Cron("* * * * *"), TimeZone::Utc(), Utc("2024-01-02 00:00"), Utc("2024-01-01 00:00"), 10).empty());
}

// --- Time zones -----------------------------------------------------------------

TEST(LoadTimeZone, ReadsParisOffsetsForWinterAndSummer) {
  const TimeZone paris = Zone("Europe/Paris");
  EXPECT_EQ(paris.name(), "Europe/Paris");
  EXPECT_EQ(paris.UtcOffset(Utc("2024-01-15 12:00")), hours(1));
  EXPECT_EQ(paris.UtcOffset(Utc("2024-07-15 12:00")), hours(2));
}

TEST(LoadTimeZone, SwitchesOffsetExactlyAtTheTransition) {
  const TimeZone paris = Zone("Europe/Paris");
  EXPECT_EQ(paris.UtcOffset(Utc("2024-03-31 00:59:59")), hours(1));
  EXPECT_EQ(paris.UtcOffset(Utc("2024-03-31 01:00:00")), hours(2));
}

TEST(LoadTimeZone, FollowsTheFooterRuleAfterTheLastListedTransition) {
  const TimeZone new_york = Zone("America/New_York");
  EXPECT_EQ(new_york.UtcOffset(Utc("2045-07-01 12:00")), hours(-4));
  EXPECT_EQ(new_york.UtcOffset(Utc("2045-12-01 12:00")), hours(-5));
  EXPECT_EQ(new_york.UtcOffset(Utc("2045-03-12 06:59:59")), hours(-5));
  EXPECT_EQ(new_york.UtcOffset(Utc("2045-03-12 07:00:00")), hours(-4));
}

TEST(LoadTimeZone, SouthernHemisphereRuleHasSummerInJanuary) {
  const TimeZone sydney = Zone("Australia/Sydney");
  EXPECT_EQ(sydney.UtcOffset(Utc("2050-01-15 00:00")), hours(11));
  EXPECT_EQ(sydney.UtcOffset(Utc("2050-07-15 00:00")), hours(10));
}

TEST(LoadTimeZone, HandlesHalfHourOffsets) {
  EXPECT_EQ(Zone("Asia/Kolkata").UtcOffset(Utc("2024-01-01 00:00")), hours(5) + minutes(30));
}

TEST(LoadTimeZone, EtcGmtPlusFiveIsFiveHoursBehindUtc) {
  EXPECT_EQ(Zone("Etc/GMT+5").UtcOffset(Utc("2024-01-01 00:00")), hours(-5));
}

TEST(LoadTimeZone, UnknownNameIsNotFound) {
  auto zone = LoadTimeZone("Mars/Olympus_Mons");
  ASSERT_FALSE(zone.has_value());
  EXPECT_EQ(zone.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(zone.error().message, HasSubstr("unknown time zone 'Mars/Olympus_Mons'"));
}

TEST(LoadTimeZone, RejectsPathsOutsideTheDatabase) {
  for (const char* name : {"../../etc/passwd", "/etc/localtime", "Europe//Paris", "", "Europe/Paris "}) {
    auto zone = LoadTimeZone(name);
    ASSERT_FALSE(zone.has_value()) << name;
    EXPECT_EQ(zone.error().kind, ErrorKind::kInvalidInput) << name;
    EXPECT_THAT(zone.error().message, HasSubstr("invalid time zone name")) << name;
  }
}

TEST(LoadTimeZone, DirectoryIsNotAZone) {
  auto zone = LoadTimeZone("Europe");
  ASSERT_FALSE(zone.has_value());
  EXPECT_EQ(zone.error().kind, ErrorKind::kNotFound);
}

TEST(LoadTimeZone, UtcNeedsNoDatabase) {
  const dw::testing::TempDir empty;
  auto utc = LoadTimeZone("UTC", empty.path().string());
  ASSERT_TRUE(utc.has_value());
  EXPECT_EQ(utc->name(), "UTC");
  EXPECT_EQ(utc->UtcOffset(Utc("2024-07-01 00:00")), seconds(0));
}

TEST(LoadTimeZone, RejectsAFileThatIsNotTzif) {
  const dw::testing::TempDir dir;
  dir.WriteFile("Fake", "Europe/Paris is not a binary file\n");
  auto zone = LoadTimeZone("Fake", dir.path().string());
  ASSERT_FALSE(zone.has_value());
  EXPECT_EQ(zone.error().message, "time zone 'Fake': not a TZif file");
}

TEST(LoadTimeZone, RejectsATruncatedTzifFile) {
  const std::string paris = dw::testing::ReadFile("/usr/share/zoneinfo/Europe/Paris");
  ASSERT_GT(paris.size(), 200u);
  auto zone = TimeZone::FromTzif("Cut", paris.substr(0, paris.size() / 2));
  ASSERT_FALSE(zone.has_value());
  EXPECT_EQ(zone.error().message, "time zone 'Cut': truncated TZif data");
}

// A TZif v2 file with no transitions, one local time type of `offset`
// seconds and the given footer.
std::string FooterOnlyTzif(std::int32_t offset, const std::string& footer) {
  auto be32 = [](std::uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
  };
  auto header = [&](char version) {
    return std::string("TZif") + version + std::string(15, '\0') + be32(0) + be32(0) + be32(0) + be32(0) +
           be32(1) + be32(4);
  };
  const std::string block = be32(static_cast<std::uint32_t>(offset)) + std::string(1, '\0') +
                            std::string(1, '\0') + std::string("ABC", 4);
  return header('2') + block + header('2') + block + "\n" + footer + "\n";
}

TEST(TimeZoneFromTzif, FooterWithNegativeTransitionTimes) {
  // Greenland-style rule: DST starts on the last Sunday of March at -02:00
  // local time, i.e. 22:00 on Saturday, which is 01:00 UTC on Sunday.
  auto zone = TimeZone::FromTzif("Test/Nuuk", FooterOnlyTzif(-3 * 3600, "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1"));
  ASSERT_TRUE(zone.has_value()) << zone.error().message;
  EXPECT_EQ(zone->UtcOffset(Utc("2030-03-31 00:59:59")), hours(-3));
  EXPECT_EQ(zone->UtcOffset(Utc("2030-03-31 01:00:00")), hours(-2));
}

TEST(TimeZoneFromTzif, JulianDayRuleNeverCountsFebruary29) {
  auto zone = TimeZone::FromTzif("Test/Julian", FooterOnlyTzif(0, "AAA0BBB,J60/0,J300/0"));
  ASSERT_TRUE(zone.has_value()) << zone.error().message;
  EXPECT_EQ(zone->UtcOffset(Utc("2024-02-29 23:59:59")), seconds(0));
  EXPECT_EQ(zone->UtcOffset(Utc("2024-03-01 00:00:00")), hours(1));
}

TEST(TimeZoneFromTzif, ZeroBasedDayRuleCountsFebruary29) {
  auto zone = TimeZone::FromTzif("Test/ZeroBased", FooterOnlyTzif(0, "AAA0BBB,59/0,300/0"));
  ASSERT_TRUE(zone.has_value()) << zone.error().message;
  EXPECT_EQ(zone->UtcOffset(Utc("2024-02-28 23:59:59")), seconds(0));
  EXPECT_EQ(zone->UtcOffset(Utc("2024-02-29 00:00:00")), hours(1));
}

TEST(TimeZoneFromTzif, RejectsAMalformedFooter) {
  auto zone = TimeZone::FromTzif("Test/Bad", FooterOnlyTzif(0, "AAA0BBB,M13.1.0,M10.5.0"));
  ASSERT_FALSE(zone.has_value());
  EXPECT_EQ(zone.error().message, "time zone 'Test/Bad': unsupported TZ rule 'AAA0BBB,M13.1.0,M10.5.0'");
}

TEST(TimeZoneFromTzif, RejectsAMissingFooter) {
  std::string tzif = FooterOnlyTzif(0, "UTC0");
  tzif.resize(tzif.size() - 6);
  auto zone = TimeZone::FromTzif("Test/NoFooter", tzif);
  ASSERT_FALSE(zone.has_value());
  EXPECT_EQ(zone.error().message, "time zone 'Test/NoFooter': missing TZif footer");
}

// --- Wall-clock scheduling and daylight saving ------------------------------------

TEST(NextFireInZone, DailyJobFollowsLocalWallClock) {
  const TimeZone paris = Zone("Europe/Paris");
  EXPECT_EQ(NextLocal("0 9 * * *", paris, "2024-01-15 12:00"), "2024-01-16 09:00+01:00");
  EXPECT_EQ(NextLocal("0 9 * * *", paris, "2024-07-15 12:00"), "2024-07-16 09:00+02:00");
}

TEST(NextFireInZone, DayOfWeekIsJudgedOnTheLocalDate) {
  // Monday 01:00 in Tokyo is still Sunday in UTC.
  const TimeZone tokyo = Zone("Asia/Tokyo");
  auto next = NextFire(Cron("0 1 * * MON"), tokyo, Utc("2024-01-06 00:00"));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(Local(tokyo, *next), "2024-01-08 01:00+09:00");
  EXPECT_EQ(Format(*next, seconds(0)), "2024-01-07 16:00Z");
}

TEST(NextFireInZone, TimeInSpringForwardGapFiresAtTheTransition) {
  // 2024-03-31 in Paris: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
  const TimeZone paris = Zone("Europe/Paris");
  EXPECT_EQ(NextLocal("30 2 * * *", paris, "2024-03-30 12:00"), "2024-03-31 03:00+02:00");
  EXPECT_EQ(NextLocal("30 2 * * *", paris, "2024-03-31 01:00"), "2024-04-01 02:30+02:00");
}

TEST(NextFireInZone, SeveralGapMinutesFireOnlyOnce) {
  const TimeZone paris = Zone("Europe/Paris");
  const auto fires = FiresBetween(Cron("*/15 2 * * *"), paris, Utc("2024-03-30 12:00"), Utc("2024-04-01 12:00"), 10);
  std::vector<std::string> text;
  for (TimePoint t : fires) text.push_back(Local(paris, t));
  EXPECT_THAT(text, ElementsAre("2024-03-31 03:00+02:00", "2024-04-01 02:00+02:00", "2024-04-01 02:15+02:00",
                                "2024-04-01 02:30+02:00", "2024-04-01 02:45+02:00"));
}

TEST(NextFireInZone, HourlyJobAcrossSpringForwardRunsEachRealHour) {
  const TimeZone paris = Zone("Europe/Paris");
  const auto fires = FiresBetween(Cron("0 * * * *"), paris, Utc("2024-03-30 23:30"), Utc("2024-03-31 03:00"), 10);
  std::vector<std::string> text;
  for (TimePoint t : fires) text.push_back(Local(paris, t));
  EXPECT_THAT(text, ElementsAre("2024-03-31 01:00+01:00", "2024-03-31 03:00+02:00", "2024-03-31 04:00+02:00",
                                "2024-03-31 05:00+02:00"));
}

TEST(NextFireInZone, RepeatedFallBackTimeFiresOnceAtFirstOccurrence) {
  // 2024-10-27 in Paris: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
  const TimeZone paris = Zone("Europe/Paris");
  EXPECT_EQ(NextLocal("30 2 * * *", paris, "2024-10-26 12:00"), "2024-10-27 02:30+02:00");
  EXPECT_EQ(NextLocal("30 2 * * *", paris, "2024-10-27 00:30"), "2024-10-28 02:30+01:00");
}

TEST(NextFireInZone, AfterInsideTheRepeatedHourDoesNotRefireIt) {
  const TimeZone paris = Zone("Europe/Paris");
  // 01:20 UTC is 02:20 CET, the second pass through 02:xx.
  EXPECT_EQ(NextLocal("45 2 * * *", paris, "2024-10-27 01:20"), "2024-10-28 02:45+01:00");
}

TEST(NextFireInZone, HourlyJobAcrossFallBackSkipsTheRepeatedHour) {
  const TimeZone paris = Zone("Europe/Paris");
  const auto fires = FiresBetween(Cron("0 * * * *"), paris, Utc("2024-10-26 23:30"), Utc("2024-10-27 03:00"), 10);
  std::vector<std::string> text;
  for (TimePoint t : fires) text.push_back(Local(paris, t));
  EXPECT_THAT(text, ElementsAre("2024-10-27 02:00+02:00", "2024-10-27 03:00+01:00", "2024-10-27 04:00+01:00"));
}

TEST(NextFireInZone, NewYorkSpringForwardAndFallBack) {
  const TimeZone new_york = Zone("America/New_York");
  EXPECT_EQ(NextLocal("30 2 * * *", new_york, "2024-03-09 12:00"), "2024-03-10 03:00-04:00");
  EXPECT_EQ(NextLocal("30 1 * * *", new_york, "2024-11-02 12:00"), "2024-11-03 01:30-04:00");
  EXPECT_EQ(NextLocal("30 1 * * *", new_york, "2024-11-03 05:30"), "2024-11-04 01:30-05:00");
}

TEST(NextFireInZone, UsesTheRuleForYearsBeyondTheTzifTable) {
  EXPECT_EQ(NextLocal("0 12 1 7 *", Zone("America/New_York"), "2045-01-01 00:00"), "2045-07-01 12:00-04:00");
}

TEST(NextFireInZone, ImpossibleExpressionNeverFiresInAnyZone) {
  EXPECT_FALSE(NextFire(Cron("0 0 31 2 *"), Zone("Europe/Paris"), Utc("2024-01-01 00:00")).has_value());
}

TEST(NextFireInZone, NothingBeyondTheTimePointRange) {
  EXPECT_FALSE(NextFire(Cron("0 0 1 1 *"), TimeZone::Utc(), Utc("2262-01-01 00:00")).has_value());
}

}  // namespace
}  // namespace dw::sched
