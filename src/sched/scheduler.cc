#include "sched/scheduler.h"

#include <cstdio>
#include <ctime>
#include <optional>
#include <pqxx/pqxx>

#include "sched/job_queue.h"
#include "store/audit_log.h"
#include "store/goldenset_repo.h"

namespace dw::sched {
namespace {

constexpr std::size_t kBatch = 10000;
constexpr int kMaxBatches = 10000;

// The fires in (from, now] of one schedule, summarised.
struct DueFires {
  std::size_t count = 0;
  std::optional<TimePoint> latest;
  std::vector<TimePoint> on_time;  // within grace of `now`, in order
  std::size_t missed = 0;          // older than grace
  std::optional<TimePoint> latest_missed;
};

DueFires CollectDue(const CompiledSchedule& s, TimePoint from, TimePoint now, std::chrono::seconds grace,
                    std::size_t batch) {
  DueFires due;
  TimePoint cursor = from;
  for (int i = 0; i < kMaxBatches; ++i) {
    auto fires = FiresBetween(s.cron, s.zone, cursor, now, batch);
    for (TimePoint f : fires) {
      ++due.count;
      due.latest = f;
      if (now - f <= grace) {
        due.on_time.push_back(f);
      } else {
        ++due.missed;
        due.latest_missed = f;
      }
    }
    if (fires.size() < batch) break;
    cursor = fires.back();
  }
  return due;
}

std::string ResolveGoldenSet(pqxx::dbtransaction& tx, const std::string& ref) {
  auto parsed = store::ParseVersionRef(ref);
  if (!parsed || parsed->second) return ref;
  auto rows = tx.exec_params(
      "SELECT v.version FROM core.golden_set_version v JOIN core.golden_set g ON g.id = v.golden_set_id "
      "WHERE g.name = $1 ORDER BY v.version DESC LIMIT 1",
      parsed->first);
  if (rows.empty()) return ref;
  return parsed->first + "@" + rows[0][0].as<std::string>();
}

std::string EpochSql(int param) {
  return "('epoch'::timestamptz + $" + std::to_string(param) + "::bigint * interval '1 microsecond')";
}

std::string IsoUtc(TimePoint t) {
  long long micros = internal::ToEpochMicros(t);
  std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// Records `fire` with `outcome`; true when this call recorded it.
bool RecordFire(pqxx::dbtransaction& tx, const std::string& schedule, TimePoint fire, const std::string& outcome,
                std::size_t missed, const std::string& recorded_by) {
  auto rows = tx.exec_params(
      "INSERT INTO ops.schedule_fire (schedule_name, fire_time, outcome, missed, recorded_by) VALUES ($1, " +
          EpochSql(2) + ", $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1",
      schedule, internal::ToEpochMicros(fire), outcome, static_cast<long long>(missed), recorded_by);
  return !rows.empty();
}

Status TickOne(pqxx::dbtransaction& tx, const CompiledSchedule& s, TimePoint now, const SchedulerOptions& options,
               TickReport& report) {
  const std::string& name = s.config.name;
  const long long now_us = internal::ToEpochMicros(now);
  tx.exec_params("INSERT INTO ops.schedule_state (schedule_name, known_since) VALUES ($1, " + EpochSql(2) +
                     ") ON CONFLICT DO NOTHING",
                 name, now_us);
  auto state = tx.exec_params1(
      "SELECT (extract(epoch FROM coalesce(last_fire, known_since)) * 1000000)::bigint "
      "FROM ops.schedule_state WHERE schedule_name = $1 FOR UPDATE",
      name);
  TimePoint from = internal::FromEpochMicros(state[0].as<long long>());
  if (from >= now) return Ok();
  DueFires due = CollectDue(s, from, now, options.grace, std::min(kBatch, options.max_fires_per_tick));
  if (due.count == 0) return Ok();

  if (s.config.enabled) {
    std::vector<std::pair<TimePoint, std::size_t>> enqueue;  // fire, missed fires it stands for
    if (!due.on_time.empty()) {
      for (size_t i = 0; i < due.on_time.size(); ++i) enqueue.emplace_back(due.on_time[i], i == 0 ? due.missed : 0);
    } else if (s.config.catch_up == "once") {
      enqueue.emplace_back(*due.latest_missed, due.missed - 1);
    } else if (RecordFire(tx, name, *due.latest_missed, "skipped", due.missed - 1, options.scheduler_id)) {
      ++report.fires_skipped;
    }
    report.missed += static_cast<int>(due.missed);
    const std::string goldenset = ResolveGoldenSet(tx, s.config.goldenset);
    for (const auto& [fire, missed] : enqueue) {
      if (!RecordFire(tx, name, fire, "enqueued", missed, options.scheduler_id)) continue;
      nlohmann::json job_ids = nlohmann::json::array();
      for (const auto& target : s.config.targets) {
        JobSpec spec;
        spec.schedule_name = name;
        spec.fire_time = fire;
        spec.goldenset = goldenset;
        spec.target = target;
        spec.repeats = s.config.repeat;
        spec.trigger = "schedule";
        spec.requested_by = "schedule:" + name;
        spec.max_attempts = options.max_attempts;
        auto job = internal::EnqueueJobInTransaction(tx, spec);
        if (!job) return Fail(job.error());
        if (*job) {
          job_ids.push_back((*job)->id);
          ++report.jobs_enqueued;
        }
      }
      ++report.fires_enqueued;
      if (auto st = store::AppendAudit(tx, "driftwatch-scheduler", "schedule.fire", "schedule", name,
                                       {{"fire_time", IsoUtc(fire)},
                                        {"jobs", job_ids},
                                        {"goldenset", goldenset},
                                        {"missed", missed},
                                        {"scheduler", options.scheduler_id}});
          !st)
        return Fail(st.error());
    }
  }
  tx.exec_params(
      "UPDATE ops.schedule_state SET last_fire = " + EpochSql(2) + ", updated_at = now() WHERE schedule_name = $1",
      name, internal::ToEpochMicros(*due.latest));
  return Ok();
}

}  // namespace

Result<std::vector<CompiledSchedule>> CompileSchedules(const config::Config& config) {
  std::vector<CompiledSchedule> out;
  std::string problems;
  auto problem = [&](const std::string& name, const std::string& message) {
    problems += (problems.empty() ? "" : "\n") + ("schedule '" + name + "': " + message);
  };
  for (const auto& [name, s] : config.schedules) {
    size_t before = problems.size();
    auto cron = ParseCron(s.cron);
    if (!cron)
      problem(name, cron.error().message);
    else if (cron->NeverFires())
      problem(name, "cron expression \"" + s.cron + "\" never fires");
    auto zone = LoadTimeZone(s.timezone);
    if (!zone) problem(name, "time zone: " + zone.error().message);
    if (auto ref = store::ParseVersionRef(s.goldenset); !ref || ref->first.empty())
      problem(name, "goldenset '" + s.goldenset + "' is not NAME or NAME@VERSION");
    if (s.targets.empty()) problem(name, "needs at least one target");
    for (const auto& t : s.targets)
      if (!config.targets.count(t)) problem(name, "unknown target '" + t + "'");
    if (s.repeat < 1 || s.repeat > 100) problem(name, "repeat must be between 1 and 100");
    if (s.catch_up != "once" && s.catch_up != "skip") problem(name, "catch_up must be once or skip");
    if (problems.size() != before || !cron || !zone) continue;
    out.push_back(CompiledSchedule{s, *cron, *zone});
  }
  if (!problems.empty()) return Fail(ErrorKind::kInvalidInput, problems);
  return out;
}

std::vector<TimePoint> NextFires(const CompiledSchedule& schedule, TimePoint after, std::size_t count) {
  std::vector<TimePoint> out;
  TimePoint cursor = after;
  while (out.size() < count) {
    auto next = NextFire(schedule.cron, schedule.zone, cursor);
    if (!next) break;
    out.push_back(*next);
    cursor = *next;
  }
  return out;
}

Result<TickReport> TickSchedules(store::Database& db, const std::vector<CompiledSchedule>& schedules, TimePoint now,
                                 const SchedulerOptions& options) {
  TickReport report;
  for (const auto& s : schedules) {
    TickReport one;
    Status status = db.Transact([&](pqxx::dbtransaction& tx) { return TickOne(tx, s, now, options, one); });
    if (!status) {
      if (status.error().kind == ErrorKind::kUnavailable) return Fail(status.error());
      report.errors.push_back("schedule '" + s.config.name + "': " + status.error().message);
      continue;
    }
    report.fires_enqueued += one.fires_enqueued;
    report.jobs_enqueued += one.jobs_enqueued;
    report.fires_skipped += one.fires_skipped;
    report.missed += one.missed;
  }
  return report;
}

}  // namespace dw::sched
