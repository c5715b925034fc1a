// The job queue in PostgreSQL (ops.job, migrations/V0004__jobs.sql): enqueue,
// claim with a lease and a fencing token, renew, finish, inspect.
//
// The rules live in the database (ops.claim_job, ops.renew_leases,
// ops.finish_job and the fencing triggers); these functions are its typed
// front end. Every function takes a caller-owned Database, runs at most one
// transaction and is as thread-safe as that Database (one per thread).
// Errors: kInvalidInput for malformed arguments, kNotFound for unknown jobs,
// kUnavailable for a lost connection, other database failures as
// store::ErrorFromCurrentException maps them.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "sched/cron.h"
#include "store/database.h"

namespace pqxx {
class dbtransaction;
}  // namespace pqxx

namespace dw::sched {

// One replay to perform: a golden set against one target.
struct JobSpec {
  std::string schedule_name;           // empty for API and manual jobs
  std::optional<TimePoint> fire_time;  // the cron fire it stands for; needs schedule_name
  std::string goldenset;               // NAME or NAME@VERSION
  std::string target;
  int repeats = 1;              // 1..100
  std::string trigger = "api";  // schedule | api | manual
  std::string requested_by;     // recorded on the run and in the audit log
  int max_attempts = 3;         // 1..100
  int priority = 0;             // higher first
};

// A job as stored. Times are UTC "YYYY-MM-DDTHH:MM:SS.ffffffZ", empty when unset.
struct Job {
  long long id = 0;
  std::string schedule_name;
  std::string fire_time;
  std::string goldenset;
  std::string target;
  int repeats = 1;
  std::string trigger;
  std::string requested_by;
  std::string state;  // queued | running | done | failed
  int priority = 0;
  int attempts = 0;
  int max_attempts = 0;
  long long fence = 0;
  std::string lease_owner;
  std::string lease_expires_at;
  std::string run_id;  // empty until the job's run is created
  std::string error;
  std::string created_at;
  std::string started_at;
  std::string finished_at;
  // ClaimJob only: the target's slots (ops.target_slots) when the job was
  // claimed, read in the claiming transaction. 1 elsewhere.
  int target_slots = 1;
};

// The JSON form used by the API and `schedule jobs --format json`.
nlohmann::json JobToJson(const Job& job);

// What a worker holds after a claim. The fence identifies this attempt.
struct Lease {
  long long job_id = 0;
  long long fence = 0;
  std::string worker;
};

// Inserts a job and appends a "job.enqueue" audit event by `actor`, in one
// transaction. A job for a (schedule, fire_time, target) that already exists
// is not inserted again: returns nullopt. kInvalidInput for an empty target
// or golden set, repeats or max_attempts out of range, an unknown trigger or
// a fire time without a schedule name.
Result<std::optional<Job>> EnqueueJob(store::Database& db, const JobSpec& spec, const std::string& actor);

// Claims the most urgent runnable job whose target has a free slot
// (ops.target_slots, default 1 per target across all workers), for `worker`,
// with a lease of `lease`. Expired leases are rescued first: their jobs are
// queued again, or failed when their attempts are used up. `targets` limits
// the targets this worker can run; empty means any. nullopt when nothing is
// claimable. The job carries the target's slot count at claim time. Never
// holds a lock after returning.
Result<std::optional<Job>> ClaimJob(store::Database& db, const std::string& worker, std::chrono::milliseconds lease,
                                    const std::vector<std::string>& targets);

// Extends every lease in `leases` that is still held (same worker, same
// fence, job running) to now + `lease` and returns the ids of the jobs
// renewed; a lease missing from the answer is lost.
Result<std::vector<long long>> RenewLeases(store::Database& db, const std::string& worker,
                                           std::chrono::milliseconds lease, const std::vector<Lease>& leases);

// How an attempt ended.
enum class JobEnd {
  kDone,      // finished
  kRetry,     // failed transiently: queued again after a delay, or failed when out of attempts
  kFailed,    // failed for good (bad input): no retry
  kReleased,  // handed back unfinished (shutdown); does not use up an attempt
};

// "done", "retry", "failed", "released".
const char* JobEndName(JobEnd end);

// Ends the attempt `lease` with `end` and `detail` (the error for failures).
// Returns the job's new state ("done", "queued" or "failed"), or nullopt when
// the lease is no longer held (the job was taken over: leave it alone).
Result<std::optional<std::string>> FinishJob(store::Database& db, const Lease& lease, JobEnd end,
                                             const std::string& detail, std::chrono::milliseconds retry_delay);

// One job by id; kNotFound when there is none.
Result<Job> GetJob(store::Database& db, long long id);

struct JobFilter {
  std::optional<std::string> state;
  std::optional<std::string> schedule_name;
  std::optional<std::string> target;
  int limit = 50;  // newest first; 1..1000
};

// Jobs matching `filter`, newest first.
Result<std::vector<Job>> ListJobs(store::Database& db, const JobFilter& filter);

// Number of jobs in each state (states with none are absent).
Result<std::map<std::string, long long>> CountJobsByState(store::Database& db);

// The status of run `run_id` (run.run.status); kNotFound when missing.
Result<std::string> RunStatus(store::Database& db, const std::string& run_id);

// Sets how many jobs of `target` may run at once across all workers (1..1000),
// with an audit event by `actor`.
Status SetTargetSlots(store::Database& db, const std::string& target, int slots, const std::string& actor);

// Configured slots per target (targets without a row have 1).
Result<std::map<std::string, int>> ListTargetSlots(store::Database& db);

// `url` (a libpq URL or key=value string) with extra server settings passed
// at connection start (libpq `options`, "-c name=value"), merged with any
// options already present. Setting names are [a-z_.]+ and values
// [A-Za-z0-9_.:-]+; kInvalidInput otherwise or for a malformed `url`.
Result<std::string> WithSessionSettings(const std::string& url, const std::map<std::string, std::string>& settings);

// `url` with the session settings that identify `lease` to the fencing
// triggers (driftwatch.job, driftwatch.fence). Every connection a job's
// runner opens must use it.
Result<std::string> FencedDatabaseUrl(const std::string& url, const Lease& lease);

namespace internal {

// EnqueueJob inside the caller's transaction (no audit event).
Result<std::optional<Job>> EnqueueJobInTransaction(pqxx::dbtransaction& tx, const JobSpec& spec);

// Microseconds since the Unix epoch, as the queue stores fire times.
long long ToEpochMicros(TimePoint t);
TimePoint FromEpochMicros(long long micros);

}  // namespace internal

}  // namespace dw::sched
