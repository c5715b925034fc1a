// `driftwatch schedule list`: the next fire times of each configured schedule,
// in its own time zone, from the real binary. The command has no fixed "now",
// so the fires are checked against the clock around the call and against the
// schedules' rules (wall-clock time, weekdays, UTC offset of the zone).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "support/cli_process.h"
#include "support/temp_dir.h"

namespace dw {
namespace {

using testing::CliOutcome;
using testing::DriftwatchCli;
using ::testing::HasSubstr;

constexpr const char* kConfig = R"(targets:
  bot:
    provider: sim
    prompt: "{{question}}"
schedules:
  paris-weekday-mornings:
    cron: "30 9 * * mon-fri"
    timezone: Europe/Paris
    goldenset: faq
    targets: [bot]
  quarter-hourly:
    cron: "*/15 * * * *"
    goldenset: faq@2
    targets: [bot]
    repeat: 3
  paused:
    cron: "0 0 * * *"
    goldenset: faq
    targets: [bot]
    enabled: false
)";

std::time_t Now() { return std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()); }

// "2025-01-02T03:04:05Z" as Unix time.
std::time_t ParseUtc(const std::string& text) {
  std::tm tm{};
  EXPECT_NE(strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm), nullptr) << text;
  return timegm(&tm);
}

// Europe/Paris's UTC offset in seconds at `t`, from the system's zoneinfo
// (independently of Driftwatch's TZif reader).
long ParisOffset(std::time_t t) {
  const char* previous = std::getenv("TZ");
  const std::string saved = previous ? previous : "";
  setenv("TZ", "Europe/Paris", 1);
  tzset();
  std::tm tm{};
  localtime_r(&t, &tm);
  if (previous)
    setenv("TZ", saved.c_str(), 1);
  else
    unsetenv("TZ");
  tzset();
  return tm.tm_gmtoff;
}

// The fire `t` in a zone `offset` seconds east of UTC, formatted like the
// command's "local" field.
std::string Local(std::time_t t, long offset) {
  const std::time_t shifted = t + offset;
  std::tm tm{};
  gmtime_r(&shifted, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d %c%02ld:%02ld", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, offset < 0 ? '-' : '+', std::labs(offset) / 3600, std::labs(offset) % 3600 / 60);
  return buf;
}

int ParisWeekday(std::time_t t) {
  const std::time_t shifted = t + ParisOffset(t);
  std::tm tm{};
  gmtime_r(&shifted, &tm);
  return tm.tm_wday;
}

class ScheduleListCommand : public ::testing::Test {
 protected:
  void SetUp() override { config_ = dir_.WriteFile("driftwatch.yaml", kConfig).string(); }

  // The command's JSON, with the clock read just before and after it ran.
  nlohmann::json ListJson(int count) {
    before_ = Now();
    CliOutcome listed =
        cli_.Run({"schedule", "list", "--config", config_, "--format", "json", "--count", std::to_string(count)});
    after_ = Now();
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    auto json = nlohmann::json::parse(listed.out, nullptr, false);
    EXPECT_TRUE(json.is_array()) << listed.out;
    return json;
  }

  static const nlohmann::json& Named(const nlohmann::json& list, const std::string& name) {
    for (const auto& s : list)
      if (s.value("name", "") == name) return s;
    static const nlohmann::json kNone;
    ADD_FAILURE() << "no schedule " << name << " in " << list.dump();
    return kNone;
  }

  testing::TempDir dir_;
  DriftwatchCli cli_{dir_.path(), "dbname=unused"};
  std::string config_;
  std::time_t before_ = 0, after_ = 0;
};

TEST_F(ScheduleListCommand, TimeZoneScheduleFiresAtItsLocalWallClockOnWeekdaysWithTheZonesOffset) {
  const nlohmann::json paris = Named(ListJson(7), "paris-weekday-mornings");
  EXPECT_EQ(paris["timezone"], "Europe/Paris");
  EXPECT_EQ(paris["cron"], "30 9 * * mon-fri");
  const auto& fires = paris["next_fires"];
  ASSERT_EQ(fires.size(), 7u) << paris.dump();
  std::time_t previous = before_ - 60;
  for (const auto& fire : fires) {
    const std::time_t utc = ParseUtc(fire["utc"]);
    EXPECT_EQ(fire["local"], Local(utc, ParisOffset(utc))) << fire.dump();
    EXPECT_THAT(fire["local"].get<std::string>(), ::testing::MatchesRegex(".* 09:30 \\+0[12]:00"));
    const int weekday = ParisWeekday(utc);
    EXPECT_TRUE(weekday >= 1 && weekday <= 5) << fire.dump() << " is on weekday " << weekday;
    EXPECT_GT(utc, previous);
    // No weekday morning is skipped: at most Friday to Monday (+1 h at a
    // DST change) between two fires.
    if (&fire != &fires[0]) {
      EXPECT_LE(utc - previous, 3 * 86400 + 3600) << fire.dump();
    }
    previous = utc;
  }
  // The first fire is the next one after now: within the next three days
  // and a bit, and no weekday 09:30 Paris lies between now and it.
  const std::time_t first = ParseUtc(fires[0]["utc"]);
  EXPECT_GT(first, before_ - 60);
  EXPECT_LE(first, after_ + 3 * 86400 + 3600);
  // Paris is a whole number of hours from UTC: 09:30 there is half past a
  // UTC hour.
  for (std::time_t t = before_ / 3600 * 3600 + 1800 + (before_ % 3600 >= 1800 ? 3600 : 0); t < first; t += 3600) {
    if (Local(t, ParisOffset(t)).find(" 09:30 ") != std::string::npos) {
      const int weekday = ParisWeekday(t);
      EXPECT_FALSE(weekday >= 1 && weekday <= 5) << "missed " << Local(t, ParisOffset(t));
    }
  }
}

TEST_F(ScheduleListCommand, UtcStepScheduleFiresEveryQuarterHourFromTheNextOne) {
  const nlohmann::json quarter = Named(ListJson(4), "quarter-hourly");
  EXPECT_EQ(quarter["timezone"], "UTC");
  EXPECT_EQ(quarter["goldenset"], "faq@2");
  EXPECT_EQ(quarter["repeat"], 3);
  const auto& fires = quarter["next_fires"];
  ASSERT_EQ(fires.size(), 4u) << quarter.dump();
  const std::time_t first = ParseUtc(fires[0]["utc"]);
  EXPECT_EQ(first % 900, 0);
  EXPECT_GT(first, before_ - 60);
  EXPECT_LE(first, after_ + 900);
  for (size_t i = 0; i < fires.size(); ++i) {
    const std::time_t utc = ParseUtc(fires[i]["utc"]);
    EXPECT_EQ(utc, first + static_cast<std::time_t>(900 * i));
    EXPECT_EQ(fires[i]["local"], Local(utc, 0));
  }
}

TEST_F(ScheduleListCommand, DisabledScheduleIsListedWithNoFires) {
  const nlohmann::json paused = Named(ListJson(3), "paused");
  EXPECT_EQ(paused["enabled"], false);
  EXPECT_TRUE(paused["next_fires"].empty()) << paused.dump();
}

TEST_F(ScheduleListCommand, TableShowsEachScheduleWithItsNextFiresInItsOwnZone) {
  const nlohmann::json listed = ListJson(2);
  CliOutcome table = cli_.Run({"schedule", "list", "--config", config_, "--count", "2"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  const std::string paris_first = Named(listed, "paris-weekday-mornings")["next_fires"][0]["local"];
  EXPECT_THAT(table.out, ::testing::ContainsRegex("paris-weekday-mornings +30 9 \\* \\* mon-fri +Europe/Paris +faq +"
                                                  "bot +1 .* " +
                                                  std::regex_replace(paris_first, std::regex("\\+"), "\\+")));
  EXPECT_THAT(table.out, ::testing::ContainsRegex("paused .* disabled"));
}

TEST_F(ScheduleListCommand, CountOutOfRangeIsBadInput) {
  CliOutcome listed = cli_.Run({"schedule", "list", "--config", config_, "--count", "0"});
  EXPECT_EQ(listed.exit_code, 2);
  EXPECT_THAT(listed.err, HasSubstr("--count 1-100"));
}

}  // namespace
}  // namespace dw
