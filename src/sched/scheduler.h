// Cron schedules from the config, and the leaderless scheduler tick that
// turns due fires into queued jobs.
//
// Any number of schedulers (threads, `serve` processes, machines, cron-driven
// `serve --once`) may tick at the same time against one database: each
// schedule's tick runs in one transaction holding that schedule's row in
// ops.schedule_state, and a fire is recorded once in ops.schedule_fire
// (primary key (schedule, fire_time)); only the transaction that records a
// fire enqueues its jobs, one per target.
//
// Catch-up policy. A fire is "on time" when the tick sees it within `grace`
// of its fire time; older fires were missed (the service was down or
// the schedule disabled). When a tick finds missed fires:
//   - if an on-time fire is also due, it runs and the missed ones are
//     recorded as covered by it (never run N times);
//   - otherwise catch_up: once enqueues the latest missed fire, once, and
//     records how many earlier ones it stands for; catch_up: skip records the
//     latest missed fire as skipped and runs nothing.
// A schedule seen for the first time starts at that tick (no backfill of
// history), and a disabled schedule advances without firing, so enabling it
// later does not replay the fires it missed while disabled.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/status.h"
#include "sched/cron.h"
#include "store/database.h"

namespace dw::sched {

// A schedule with its cron expression and time zone parsed. Immutable;
// safe to share between threads.
struct CompiledSchedule {
  config::ScheduleConfig config;
  CronExpr cron;
  TimeZone zone;
};

// Parses and checks every schedule of `config`: the cron expression parses
// and can fire, the time zone loads, the golden-set reference is NAME or
// NAME@VERSION, every target is defined, repeat is 1..100 and catch_up is
// once or skip. kInvalidInput listing every problem, one line each, starting
// "schedule 'NAME': ". Schedules come back in name order.
Result<std::vector<CompiledSchedule>> CompileSchedules(const config::Config& config);

// The next `count` fire times strictly after `after` (fewer when the
// expression stops firing).
std::vector<TimePoint> NextFires(const CompiledSchedule& schedule, TimePoint after, std::size_t count);

struct SchedulerOptions {
  // Recorded as ops.schedule_fire.recorded_by and the audit actor's suffix.
  std::string scheduler_id = "scheduler";
  // Fires seen later than this after their time count as missed.
  std::chrono::seconds grace{120};
  // Attempts each enqueued job gets (1..100).
  int max_attempts = 3;
  // Upper bound on the fires examined per schedule and tick (a per-minute
  // schedule down for a week has about 10,000).
  std::size_t max_fires_per_tick = 100000;
};

struct TickReport {
  int fires_enqueued = 0;  // fires recorded by this tick that enqueued jobs
  int jobs_enqueued = 0;
  int fires_skipped = 0;            // rows recorded as skipped (each may stand for many missed fires)
  int missed = 0;                   // missed fires handled by the catch-up policy
  std::vector<std::string> errors;  // per-schedule failures ("schedule 'x': ..."); other schedules still ticked
};

// Records every fire of `schedules` due at `now` and enqueues its jobs, each
// schedule in its own transaction, with a "schedule.fire" audit event per
// enqueued fire (actor "driftwatch-scheduler"). A golden set named without a
// version is pinned to its latest published version at enqueue time. Errors
// for single schedules land in the report; the Result fails only when the
// database is unreachable (kUnavailable).
Result<TickReport> TickSchedules(store::Database& db, const std::vector<CompiledSchedule>& schedules, TimePoint now,
                                 const SchedulerOptions& options);

}  // namespace dw::sched
