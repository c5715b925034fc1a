// Cron expressions from hostile text, evaluated in UTC and in zones with
// daylight saving: ParseCron must accept or refuse with a message, and the
// fire times of an accepted expression must be ordered, strictly after the
// start, whole local minutes on a matching date, and agree between
// NextFire and FiresBetween.
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "sched/cron.h"

namespace {

using dw::sched::TimePoint;
using dw::sched::TimeZone;

const std::vector<TimeZone>& Zones() {
  static const std::vector<TimeZone> zones = [] {
    std::vector<TimeZone> z = {TimeZone::Utc()};
    // Half-hour DST (Lord Howe), 45-minute offsets (Chatham), a southern
    // and a northern hemisphere zone; absent without a tz database.
    for (const char* name : {"Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham"})
      if (auto tz = dw::sched::LoadTimeZone(name)) z.push_back(*tz);
    return z;
  }();
  return zones;
}

std::string Describe(const std::string& expr, const TimeZone& tz, TimePoint t) {
  return "\"" + expr + "\" in " + tz.name() + " at " +
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

void CheckFire(const dw::sched::CronExpr& cron, const TimeZone& tz, TimePoint fire, const std::string& what) {
  const auto local = fire + tz.UtcOffset(fire);
  const auto since_epoch = std::chrono::duration_cast<std::chrono::seconds>(local.time_since_epoch()).count();
  DW_FUZZ_CHECK(since_epoch % 60 == 0, "fire is not a whole local minute: " + what);
  const std::chrono::year_month_day date{std::chrono::floor<std::chrono::days>(local)};
  DW_FUZZ_CHECK(cron.MatchesDate(static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                                 static_cast<unsigned>(date.day())),
                "fire on a date the expression does not match: " + what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  const auto& zones = Zones();
  const TimeZone& tz = zones[input.ConsumeIntegralInRange<size_t>(0, zones.size() - 1)];
  // 1900-01-01 .. 2200-01-01 UTC.
  const TimePoint after{std::chrono::seconds(input.ConsumeIntegralInRange<std::int64_t>(-2208988800, 7258118400))};
  const std::string expr = input.ConsumeRemainingBytesAsString();

  auto cron = dw::sched::ParseCron(expr);
  if (!cron) {
    DW_FUZZ_CHECK(cron.error().kind == dw::ErrorKind::kInvalidInput, cron.error().message);
    DW_FUZZ_CHECK(!cron.error().message.empty(), "empty error for " + expr);
    return 0;
  }
  DW_FUZZ_CHECK(cron->source() == expr, "source() differs from " + expr);
  DW_FUZZ_CHECK(cron->minutes().any() && cron->hours().any() && cron->months().any(), "empty field in " + expr);
  DW_FUZZ_CHECK(!cron->days_of_month()[0] && !cron->months()[0], "day or month 0 allowed by " + expr);

  const auto next = dw::sched::NextFire(*cron, tz, after);
  if (cron->NeverFires()) DW_FUZZ_CHECK(!next, "NeverFires but fires: " + Describe(expr, tz, after));
  if (!next) return 0;
  DW_FUZZ_CHECK(*next > after, "next fire not after the start: " + Describe(expr, tz, after));
  CheckFire(*cron, tz, *next, Describe(expr, tz, after));

  const TimePoint to = after + std::chrono::hours(24 * 40);
  const auto fires = dw::sched::FiresBetween(*cron, tz, after, to, 20);
  DW_FUZZ_CHECK(fires.size() <= 20, "FiresBetween ignored its limit: " + Describe(expr, tz, after));
  if (*next <= to)
    DW_FUZZ_CHECK(!fires.empty() && fires[0] == *next, "FiresBetween disagrees: " + Describe(expr, tz, after));
  for (size_t i = 0; i < fires.size(); ++i) {
    DW_FUZZ_CHECK(fires[i] > after && fires[i] <= to, "fire outside the range: " + Describe(expr, tz, after));
    if (i > 0) {
      DW_FUZZ_CHECK(fires[i] > fires[i - 1], "fires out of order: " + Describe(expr, tz, after));
      DW_FUZZ_CHECK(dw::sched::NextFire(*cron, tz, fires[i - 1]) == fires[i],
                    "NextFire skips a fire: " + Describe(expr, tz, fires[i - 1]));
    }
  }
  return 0;
}
