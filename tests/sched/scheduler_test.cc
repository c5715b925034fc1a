#include "sched/scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "queue_fixture.h"
#include "sched/job_queue.h"
#include "support/test_database.h"

namespace dw::sched {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;
using testing::QueryInt;

// 2024-03-01 00:00:00 UTC, a Friday.
const TimePoint kBase = TimePoint(seconds(1709251200));

config::Config ConfigWith(const std::string& cron, const std::string& catch_up = "once",
                          std::vector<std::string> targets = {"t1", "t2"}) {
  config::Config c;
  for (const char* t : {"t1", "t2"}) {
    config::TargetConfig target;
    target.name = t;
    target.provider = "sim";
    c.targets[t] = target;
  }
  config::ScheduleConfig s;
  s.name = "nightly";
  s.cron = cron;
  s.goldenset = "faq";
  s.targets = std::move(targets);
  s.catch_up = catch_up;
  c.schedules[s.name] = s;
  return c;
}

std::vector<CompiledSchedule> Compile(const config::Config& c) {
  auto compiled = CompileSchedules(c);
  EXPECT_TRUE(compiled) << (compiled ? "" : compiled.error().message);
  return compiled ? *compiled : std::vector<CompiledSchedule>{};
}

TickReport Tick(store::Database& db, const std::vector<CompiledSchedule>& schedules, TimePoint now,
                SchedulerOptions options = {}) {
  auto report = TickSchedules(db, schedules, now, options);
  EXPECT_TRUE(report) << (report ? "" : report.error().message);
  if (report) {
    EXPECT_THAT(report->errors, ::testing::IsEmpty());
  }
  return report ? *report : TickReport{};
}

TEST(CompileSchedulesTest, ReportsEveryProblemWithTheScheduleName) {
  config::Config c = ConfigWith("0 24 * * *", "once", {"t1", "nope"});
  c.schedules["nightly"].timezone = "Mars/Olympus";
  auto compiled = CompileSchedules(c);
  ASSERT_FALSE(compiled);
  EXPECT_EQ(compiled.error().kind, ErrorKind::kInvalidInput);
  EXPECT_THAT(compiled.error().message, HasSubstr("schedule 'nightly': cron field 'hour'"));
  EXPECT_THAT(compiled.error().message, HasSubstr("schedule 'nightly': time zone"));
  EXPECT_THAT(compiled.error().message, HasSubstr("schedule 'nightly': unknown target 'nope'"));
}

TEST(CompileSchedulesTest, RefusesAnExpressionThatNeverFires) {
  auto compiled = CompileSchedules(ConfigWith("0 0 31 2 *"));
  ASSERT_FALSE(compiled);
  EXPECT_THAT(compiled.error().message, HasSubstr("never fires"));
}

TEST(NextFiresTest, ListsTheComingFireTimesInTheScheduleTimeZone) {
  config::Config c = ConfigWith("30 2 * * *");
  c.schedules["nightly"].timezone = "Europe/Paris";
  auto schedules = Compile(c);
  ASSERT_EQ(schedules.size(), 1u);
  auto fires = NextFires(schedules[0], kBase, 2);
  ASSERT_EQ(fires.size(), 2u);
  EXPECT_EQ(fires[0], kBase + hours(1) + minutes(30));  // 02:30 CET is 01:30 UTC
  EXPECT_EQ(fires[1], fires[0] + hours(24));
}

TEST(TickTest, AScheduleSeenForTheFirstTimeDoesNotBackfill) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  auto schedules = Compile(ConfigWith("* * * * *"));
  TickReport report = Tick(*db, schedules, kBase + seconds(30));
  EXPECT_EQ(report.jobs_enqueued, 0);
  EXPECT_EQ(QueryInt(tdb, "SELECT count(*) FROM ops.job"), 0);
}

TEST(TickTest, ADueFireEnqueuesOneJobPerTarget) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  auto schedules = Compile(ConfigWith("*/5 * * * *"));
  Tick(*db, schedules, kBase + seconds(10));
  TickReport report = Tick(*db, schedules, kBase + minutes(5) + seconds(2));
  EXPECT_EQ(report.fires_enqueued, 1);
  EXPECT_EQ(report.jobs_enqueued, 2);
  EXPECT_EQ(tdb.Query("SELECT string_agg(target || ':' || trigger || ':' || requested_by, ',' ORDER BY target) "
                      "FROM ops.job"),
            "t1:schedule:schedule:nightly,t2:schedule:schedule:nightly");
  EXPECT_EQ(tdb.Query("SELECT to_char(fire_time AT TIME ZONE 'UTC', 'HH24:MI') FROM ops.job LIMIT 1"), "00:05");
}

TEST(TickTest, AFireIsRecordedOnceByConcurrentSchedulers) {
  dw::testing::TestDatabase tdb;
  auto a = tdb.Connect();
  auto b = tdb.Connect();
  auto schedules = Compile(ConfigWith("* * * * *"));
  Tick(*a, schedules, kBase);
  SchedulerOptions first, second;
  first.scheduler_id = "a";
  second.scheduler_id = "b";
  TickReport ra = Tick(*a, schedules, kBase + minutes(1), first);
  TickReport rb = Tick(*b, schedules, kBase + minutes(1) + seconds(1), second);
  EXPECT_EQ(ra.fires_enqueued + rb.fires_enqueued, 1);
  EXPECT_EQ(QueryInt(tdb, "SELECT count(*) FROM ops.schedule_fire"), 1);
  EXPECT_EQ(QueryInt(tdb, "SELECT count(*) FROM ops.job"), 2);
}

TEST(TickTest, AnEarlierTickAfterALaterOneEnqueuesNothing) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  auto schedules = Compile(ConfigWith("* * * * *"));
  Tick(*db, schedules, kBase);
  Tick(*db, schedules, kBase + minutes(2));
  TickReport late = Tick(*db, schedules, kBase + minutes(1));
  EXPECT_EQ(late.jobs_enqueued, 0);
  EXPECT_EQ(QueryInt(tdb, "SELECT count(DISTINCT fire_time) FROM ops.job"), 2);
}

TEST(TickTest, CatchUpOnceRunsOneJobForAllFiresMissedDuringDowntime) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  auto schedules = Compile(ConfigWith("0 * * * *", "once", {"t1"}));
  Tick(*db, schedules, kBase);
  TickReport report = Tick(*db, schedules, kBase + hours(10) + minutes(30));  // down for 10 fires
  EXPECT_EQ(report.jobs_enqueued, 1);
  EXPECT_EQ(report.missed, 10);
  EXPECT_EQ(tdb.Query("SELECT to_char(fire_time AT TIME ZONE 'UTC', 'HH24:MI') || ' ' || outcome || ' ' || missed "
                      "FROM ops.schedule_fire"),
            "10:00 enqueued 9");
}

TEST(TickTest, CatchUpSkipRunsNothingForMissedFiresAndRecordsTheSkip) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  auto schedules = Compile(ConfigWith("0 * * * *", "skip", {"t1"}));
  Tick(*db, schedules, kBase);
  TickReport report = Tick(*db, schedules, kBase + hours(10) + minutes(30));
  EXPECT_EQ(report.jobs_enqueued, 0);
  EXPECT_EQ(report.fires_skipped, 1);
  EXPECT_EQ(QueryInt(tdb, "SELECT count(*) FROM ops.job"), 0);
  EXPECT_EQ(tdb.Query("SELECT outcome || ' ' || missed FROM ops.schedule_fire"), "skipped 9");
  TickReport next = Tick(*db, schedules, kBase + hours(11) + seconds(5));
  EXPECT_EQ(next.jobs_enqueued, 1);
}

TEST(TickTest, AnOnTimeFireCoversTheFiresMissedBeforeIt) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  auto schedules = Compile(ConfigWith("0 * * * *", "once", {"t1"}));
  Tick(*db, schedules, kBase);
  TickReport report = Tick(*db, schedules, kBase + hours(10) + seconds(20));
  EXPECT_EQ(report.jobs_enqueued, 1);
  EXPECT_EQ(tdb.Query("SELECT to_char(fire_time AT TIME ZONE 'UTC', 'HH24:MI') || ' ' || missed "
                      "FROM ops.schedule_fire"),
            "10:00 9");
}

TEST(TickTest, ADisabledScheduleAdvancesWithoutFiringOrCatchingUpLater) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  config::Config c = ConfigWith("0 * * * *", "once", {"t1"});
  c.schedules["nightly"].enabled = false;
  auto disabled = Compile(c);
  Tick(*db, disabled, kBase);
  Tick(*db, disabled, kBase + hours(5) + minutes(1));
  EXPECT_EQ(QueryInt(tdb, "SELECT count(*) FROM ops.job"), 0);
  c.schedules["nightly"].enabled = true;
  auto enabled = Compile(c);
  EXPECT_EQ(Tick(*db, enabled, kBase + hours(5) + minutes(30)).jobs_enqueued, 0);
  EXPECT_EQ(Tick(*db, enabled, kBase + hours(6) + seconds(1)).jobs_enqueued, 1);
}

TEST(TickTest, LatestPublishedGoldenSetIsPinnedWhenTheJobIsEnqueued) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  testing::PublishGoldenSet(*db, "faq", 2);
  testing::PublishGoldenSet(*db, "faq", 3);
  auto schedules = Compile(ConfigWith("* * * * *", "once", {"t1"}));
  Tick(*db, schedules, kBase);
  Tick(*db, schedules, kBase + minutes(1));
  EXPECT_EQ(tdb.Query("SELECT goldenset FROM ops.job"), "faq@2");
}

TEST(TickTest, EachEnqueuedFireIsAudited) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  auto schedules = Compile(ConfigWith("* * * * *"));
  Tick(*db, schedules, kBase);
  Tick(*db, schedules, kBase + minutes(1));
  EXPECT_EQ(tdb.Query("SELECT actor || ' ' || action || ' ' || object_id FROM audit.event "
                      "WHERE action = 'schedule.fire'"),
            "driftwatch-scheduler schedule.fire nightly");
}

TEST(TickTest, TimeZoneFiresFollowLocalWallTime) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  config::Config c = ConfigWith("0 9 * * *", "once", {"t1"});
  c.schedules["nightly"].timezone = "America/New_York";
  auto schedules = Compile(c);
  Tick(*db, schedules, kBase);
  Tick(*db, schedules, kBase + hours(14) + seconds(1));  // 09:00 EST = 14:00 UTC
  EXPECT_EQ(tdb.Query("SELECT to_char(fire_time AT TIME ZONE 'UTC', 'HH24:MI') FROM ops.job"), "14:00");
}

}  // namespace
}  // namespace dw::sched
