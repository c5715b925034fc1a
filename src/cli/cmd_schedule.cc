// `driftwatch schedule`: the configured cron schedules and their next fire
// times, the job queue, manual fires and per-target job slots.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "core/text_table.h"
#include "sched/job_queue.h"
#include "sched/scheduler.h"
#include "store/goldenset_repo.h"

namespace po = boost::program_options;

namespace dw::cli {
namespace {

// "2025-01-02 03:04 +01:00" in the schedule's own time zone.
std::string LocalTime(const sched::TimeZone& zone, sched::TimePoint t) {
  const auto offset = zone.UtcOffset(t);
  const std::time_t local = std::chrono::system_clock::to_time_t(t) + offset.count();
  std::tm tm{};
  gmtime_r(&local, &tm);
  const long long minutes = offset.count() / 60;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d %c%02lld:%02lld", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, minutes < 0 ? '-' : '+', std::llabs(minutes) / 60,
                std::llabs(minutes) % 60);
  return buf;
}

std::string UtcIso(sched::TimePoint t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

int List(Context& ctx, int count) {
  auto cfg = ctx.Config();
  if (!cfg) return ReportError(ctx.err(), cfg.error());
  auto schedules = sched::CompileSchedules(**cfg);
  if (!schedules) return ReportError(ctx.err(), schedules.error());
  const auto now = std::chrono::system_clock::now();
  if (ctx.format() == OutputFormat::kJson) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& s : *schedules) {
      nlohmann::json next = nlohmann::json::array();
      if (s.config.enabled)
        for (auto t : sched::NextFires(s, now, static_cast<size_t>(count)))
          next.push_back({{"utc", UtcIso(t)}, {"local", LocalTime(s.zone, t)}});
      arr.push_back({{"name", s.config.name},
                     {"cron", s.config.cron},
                     {"timezone", s.config.timezone},
                     {"goldenset", s.config.goldenset},
                     {"targets", s.config.targets},
                     {"repeat", s.config.repeat},
                     {"catch_up", s.config.catch_up},
                     {"enabled", s.config.enabled},
                     {"policy", s.config.policy.empty() ? nlohmann::json() : nlohmann::json(s.config.policy)},
                     {"budget_usd", s.config.budget_usd ? nlohmann::json(*s.config.budget_usd) : nlohmann::json()},
                     {"concurrency", s.config.concurrency > 0 ? nlohmann::json(s.config.concurrency) : nlohmann::json()},
                     {"next_fires", next}});
    }
    ctx.out() << arr.dump(2) << "\n";
    return kExitOk;
  }
  if (schedules->empty()) {
    ctx.out() << "no schedules in " << (*cfg)->path << "\n";
    return kExitOk;
  }
  TextTable table({"NAME", "CRON", "TIME ZONE", "GOLDEN SET", "TARGETS", "REPEAT", "CATCH-UP", "NEXT FIRE"});
  for (const auto& s : *schedules) {
    std::vector<sched::TimePoint> next;
    if (s.config.enabled) next = sched::NextFires(s, now, static_cast<size_t>(count));
    std::string first = !s.config.enabled ? "disabled" : next.empty() ? "never" : LocalTime(s.zone, next[0]);
    table.AddRow({s.config.name, s.config.cron, s.config.timezone, s.config.goldenset, Join(s.config.targets),
                  std::to_string(s.config.repeat), s.config.catch_up, first});
    for (size_t i = 1; i < next.size(); ++i) table.AddRow({"", "", "", "", "", "", "", LocalTime(s.zone, next[i])});
  }
  ctx.out() << table.Render();
  return kExitOk;
}

int Jobs(Context& ctx, const sched::JobFilter& filter) {
  auto db = ctx.Database();
  if (!db) return ReportError(ctx.err(), db.error());
  auto jobs = sched::ListJobs(**db, filter);
  if (!jobs) return ReportError(ctx.err(), jobs.error());
  if (ctx.format() == OutputFormat::kJson) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& j : *jobs) arr.push_back(sched::JobToJson(j));
    ctx.out() << arr.dump(2) << "\n";
    return kExitOk;
  }
  TextTable table(
      {"JOB", "STATE", "SCHEDULE", "FIRE TIME", "GOLDEN SET", "TARGET", "ATTEMPTS", "WORKER", "RUN", "ERROR"});
  for (const auto& j : *jobs)
    table.AddRow({std::to_string(j.id), j.state, j.schedule_name.empty() ? "-" : j.schedule_name,
                  j.fire_time.empty() ? "-" : j.fire_time.substr(0, 19) + "Z", j.goldenset, j.target,
                  std::to_string(j.attempts) + "/" + std::to_string(j.max_attempts),
                  j.lease_owner.empty() ? "-" : j.lease_owner, j.run_id.empty() ? "-" : j.run_id.substr(0, 8),
                  j.error.empty() ? "-" : j.error.substr(0, 60)});
  ctx.out() << table.Render();
  return kExitOk;
}

int FireNow(Context& ctx, const std::string& name) {
  auto cfg = ctx.Config();
  if (!cfg) return ReportError(ctx.err(), cfg.error());
  auto it = (*cfg)->schedules.find(name);
  if (it == (*cfg)->schedules.end()) {
    ctx.err() << "driftwatch: no schedule named '" << name << "' in " << (*cfg)->path << "\n";
    return kExitBadInput;
  }
  const auto& s = it->second;
  auto db = ctx.Database();
  if (!db) return ReportError(ctx.err(), db.error());
  auto ref = store::ParseVersionRef(s.goldenset);
  if (!ref) return ReportError(ctx.err(), ref.error());
  auto version = store::FindVersion(**db, ref->first, ref->second);
  if (!version) return ReportError(ctx.err(), version.error());
  nlohmann::json created = nlohmann::json::array();
  for (const auto& target : s.targets) {
    sched::JobSpec spec;
    spec.schedule_name = s.name;
    spec.goldenset = version->name + "@" + std::to_string(version->version);
    spec.target = target;
    spec.repeats = s.repeat;
    spec.trigger = "manual";
    spec.requested_by = ctx.user();
    auto job = sched::EnqueueJob(**db, spec, ctx.user());
    if (!job) return ReportError(ctx.err(), job.error());
    if (*job) created.push_back(sched::JobToJson(**job));
  }
  if (ctx.format() == OutputFormat::kJson) {
    ctx.out() << created.dump(2) << "\n";
  } else {
    for (const auto& j : created)
      ctx.out() << "enqueued job " << j["id"].get<long long>() << ": " << j["goldenset"].get<std::string>() << " on "
                << j["target"].get<std::string>() << "\n";
  }
  return kExitOk;
}

int Slots(Context& ctx, const std::vector<std::string>& rest) {
  auto db = ctx.Database();
  if (!db) return ReportError(ctx.err(), db.error());
  if (rest.size() == 3) {
    int slots = 0;
    try {
      size_t used = 0;
      slots = std::stoi(rest[2], &used);
      if (used != rest[2].size()) slots = 0;
    } catch (const std::exception&) {
      slots = 0;
    }
    if (slots < 1 || slots > 1000) {
      ctx.err() << "driftwatch: slots must be a whole number from 1 to 1000, not '" << rest[2] << "'\n";
      return kExitBadInput;
    }
    if (auto s = sched::SetTargetSlots(**db, rest[1], slots, ctx.user()); !s) return ReportError(ctx.err(), s.error());
    ctx.out() << "target '" << rest[1] << "' may now run " << slots << " job" << (slots == 1 ? "" : "s")
              << " at once across all workers\n";
    return kExitOk;
  }
  if (rest.size() != 1) {
    ctx.err() << "driftwatch: schedule slots takes no arguments, or TARGET N\n";
    return kExitBadInput;
  }
  auto slots = sched::ListTargetSlots(**db);
  if (!slots) return ReportError(ctx.err(), slots.error());
  if (ctx.format() == OutputFormat::kJson) {
    ctx.out() << nlohmann::json(*slots).dump(2) << "\n";
    return kExitOk;
  }
  TextTable table({"TARGET", "SLOTS"});
  for (const auto& [target, n] : *slots) table.AddRow({target, std::to_string(n)});
  ctx.out() << table.Render() << "(targets not listed run one job at a time)\n";
  return kExitOk;
}

}  // namespace

int ScheduleCommand(const Args& args, std::ostream& out, std::ostream& err) {
  const std::string usage =
      "driftwatch schedule list [--count N]\n"
      "       driftwatch schedule jobs [--state S] [--schedule NAME] [--target T] [--limit N]\n"
      "       driftwatch schedule fire NAME\n"
      "       driftwatch schedule slots [TARGET N]";
  GlobalOptions global;
  std::vector<std::string> rest;
  int count = 3;
  std::string state, schedule, target;
  int limit = 50;
  po::options_description desc("schedule options");
  AddGlobalOptions(desc, global);
  desc.add_options()("count,n", po::value(&count)->default_value(3), "list: next fire times per schedule (1-100)")(
      "state", po::value(&state), "jobs: queued, running, done or failed")("schedule", po::value(&schedule),
                                                                           "jobs: only this schedule's")(
      "target", po::value(&target), "jobs: only this target's")("limit", po::value(&limit)->default_value(50),
                                                                "jobs: at most this many, newest first")(
      "args", po::value(&rest)->multitoken(), "subcommand and arguments");
  po::positional_options_description pos;
  pos.add("args", -1);
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine(args, usage, desc, pos, vm, out, err, code)) return code;
  if (rest.empty()) rest.push_back("list");
  Context ctx(global, out, err);
  const std::string& sub = rest[0];
  if (sub == "list") {
    if (count < 1 || count > 100 || rest.size() != 1) {
      err << "driftwatch: schedule list takes no arguments and --count 1-100\n";
      return kExitBadInput;
    }
    return List(ctx, count);
  }
  if (sub == "jobs") {
    if (rest.size() != 1) {
      err << "driftwatch: schedule jobs takes no arguments\n";
      return kExitBadInput;
    }
    sched::JobFilter filter;
    filter.limit = limit;
    if (!state.empty()) filter.state = state;
    if (!schedule.empty()) filter.schedule_name = schedule;
    if (!target.empty()) filter.target = target;
    return Jobs(ctx, filter);
  }
  if (sub == "fire") {
    if (rest.size() != 2) {
      err << "driftwatch: schedule fire needs exactly one schedule NAME\n";
      return kExitBadInput;
    }
    return FireNow(ctx, rest[1]);
  }
  if (sub == "slots") return Slots(ctx, rest);
  err << "driftwatch: unknown schedule subcommand '" << sub << "' (list, jobs, fire, slots)\nusage: " << usage << "\n";
  return kExitBadInput;
}

}  // namespace dw::cli
