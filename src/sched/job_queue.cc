#include "sched/job_queue.h"

#include <algorithm>
#include <cctype>
#include <pqxx/pqxx>

#include "store/audit_log.h"

namespace dw::sched {
namespace {

constexpr const char* kTime = "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'";

std::string TimeColumn(const std::string& column) {
  return "coalesce(to_char(" + column + " AT TIME ZONE 'UTC', " + kTime + "), '')";
}

std::string JobColumns(const std::string& alias) {
  const std::string a = alias + ".";
  return a + "id, coalesce(" + a + "schedule_name, ''), " + TimeColumn(a + "fire_time") + ", " + a + "goldenset, " + a +
         "target, " + a + "repeats, " + a + "trigger, " + a + "requested_by, " + a + "state, " + a + "priority, " + a +
         "attempts, " + a + "max_attempts, " + a + "fence, coalesce(" + a + "lease_owner, ''), " +
         TimeColumn(a + "lease_expires_at") + ", coalesce(" + a + "run_id::text, ''), coalesce(" + a + "error, ''), " +
         TimeColumn(a + "created_at") + ", " + TimeColumn(a + "started_at") + ", " + TimeColumn(a + "finished_at");
}

Job JobFromRow(const pqxx::row& row) {
  Job j;
  j.id = row[0].as<long long>();
  j.schedule_name = row[1].as<std::string>();
  j.fire_time = row[2].as<std::string>();
  j.goldenset = row[3].as<std::string>();
  j.target = row[4].as<std::string>();
  j.repeats = row[5].as<int>();
  j.trigger = row[6].as<std::string>();
  j.requested_by = row[7].as<std::string>();
  j.state = row[8].as<std::string>();
  j.priority = row[9].as<int>();
  j.attempts = row[10].as<int>();
  j.max_attempts = row[11].as<int>();
  j.fence = row[12].as<long long>();
  j.lease_owner = row[13].as<std::string>();
  j.lease_expires_at = row[14].as<std::string>();
  j.run_id = row[15].as<std::string>();
  j.error = row[16].as<std::string>();
  j.created_at = row[17].as<std::string>();
  j.started_at = row[18].as<std::string>();
  j.finished_at = row[19].as<std::string>();
  return j;
}

Status ValidateSpec(const JobSpec& spec) {
  if (spec.target.empty()) return Fail(ErrorKind::kInvalidInput, "a job needs a target");
  if (spec.goldenset.empty()) return Fail(ErrorKind::kInvalidInput, "a job needs a golden set");
  if (spec.repeats < 1 || spec.repeats > 100)
    return Fail(ErrorKind::kInvalidInput, "repeats must be between 1 and 100, not " + std::to_string(spec.repeats));
  if (spec.max_attempts < 1 || spec.max_attempts > 100)
    return Fail(ErrorKind::kInvalidInput,
                "max_attempts must be between 1 and 100, not " + std::to_string(spec.max_attempts));
  if (spec.trigger != "schedule" && spec.trigger != "api" && spec.trigger != "manual")
    return Fail(ErrorKind::kInvalidInput, "unknown job trigger '" + spec.trigger + "'");
  if (spec.fire_time && spec.schedule_name.empty())
    return Fail(ErrorKind::kInvalidInput, "a fire time needs a schedule name");
  if (spec.requested_by.empty()) return Fail(ErrorKind::kInvalidInput, "a job needs a requester");
  return Ok();
}

// A PostgreSQL array literal of integers, e.g. "{1,2,3}".
std::string IntArrayLiteral(const std::vector<long long>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + std::to_string(values[i]);
  return out + "}";
}

bool ValidSettingName(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_' || c == '.'; });
}

bool ValidSettingValue(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-';
  });
}

std::string PercentEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

Result<std::string> PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(s[i + 2])))
        return Fail(ErrorKind::kInvalidInput, "malformed percent-escape in a database URL");
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Single-quoted key=value value with \\ and \' escaped.
std::string QuoteConninfoValue(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

struct ConninfoPair {
  std::string key;
  std::string value;
};

// Parses "key=value key='quoted value'" (libpq's key=value form).
Result<std::vector<ConninfoPair>> ParseKeyValueConninfo(const std::string& s) {
  std::vector<ConninfoPair> out;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  };
  while (true) {
    skip_space();
    if (i >= s.size()) break;
    size_t key_start = i;
    while (i < s.size() && s[i] != '=' && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    std::string key = s.substr(key_start, i - key_start);
    skip_space();
    if (i >= s.size() || s[i] != '=' || key.empty())
      return Fail(ErrorKind::kInvalidInput, "malformed database connection string near '" + key + "'");
    ++i;
    skip_space();
    std::string value;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          value += s[i + 1];
          i += 2;
        } else if (s[i] == '\'') {
          ++i;
          closed = true;
          break;
        } else {
          value += s[i++];
        }
      }
      if (!closed) return Fail(ErrorKind::kInvalidInput, "unterminated quoted value in a database connection string");
    } else {
      while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value += s[i++];
      }
    }
    out.push_back({key, value});
  }
  return out;
}

}  // namespace

namespace internal {

long long ToEpochMicros(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

TimePoint FromEpochMicros(long long micros) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::microseconds(micros)));
}

Result<std::optional<Job>> EnqueueJobInTransaction(pqxx::dbtransaction& tx, const JobSpec& spec) {
  if (auto s = ValidateSpec(spec); !s) return Fail(s.error());
  const long long fire = spec.fire_time ? ToEpochMicros(*spec.fire_time) : 0;
  auto rows = tx.exec_params(
      "INSERT INTO ops.job AS j (schedule_name, fire_time, goldenset, target, repeats, trigger, requested_by, "
      "max_attempts, priority) VALUES (NULLIF($1, ''), CASE WHEN $2 THEN 'epoch'::timestamptz + $3::bigint * "
      "interval '1 microsecond' END, $4, $5, $6, $7, $8, $9, $10) "
      "ON CONFLICT (schedule_name, fire_time, target) DO NOTHING RETURNING " +
          JobColumns("j"),
      spec.schedule_name, spec.fire_time.has_value(), fire, spec.goldenset, spec.target, spec.repeats, spec.trigger,
      spec.requested_by, spec.max_attempts, spec.priority);
  if (rows.empty()) return std::optional<Job>();
  return std::optional<Job>(JobFromRow(rows[0]));
}

}  // namespace internal

nlohmann::json JobToJson(const Job& job) {
  auto opt = [](const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); };
  return {{"id", job.id},
          {"schedule", opt(job.schedule_name)},
          {"fire_time", opt(job.fire_time)},
          {"goldenset", job.goldenset},
          {"target", job.target},
          {"repeats", job.repeats},
          {"trigger", job.trigger},
          {"requested_by", job.requested_by},
          {"state", job.state},
          {"priority", job.priority},
          {"attempts", job.attempts},
          {"max_attempts", job.max_attempts},
          {"fence", job.fence},
          {"lease_owner", opt(job.lease_owner)},
          {"lease_expires_at", opt(job.lease_expires_at)},
          {"run_id", opt(job.run_id)},
          {"error", opt(job.error)},
          {"created_at", job.created_at},
          {"started_at", opt(job.started_at)},
          {"finished_at", opt(job.finished_at)}};
}

const char* JobEndName(JobEnd end) {
  switch (end) {
    case JobEnd::kDone:
      return "done";
    case JobEnd::kRetry:
      return "retry";
    case JobEnd::kFailed:
      return "failed";
    case JobEnd::kReleased:
      return "released";
  }
  return "failed";
}

Result<std::optional<Job>> EnqueueJob(store::Database& db, const JobSpec& spec, const std::string& actor) {
  if (auto s = ValidateSpec(spec); !s) return Fail(s.error());
  if (actor.empty()) return Fail(ErrorKind::kInvalidInput, "enqueueing a job needs an actor");
  std::optional<Job> job;
  Status status = db.Transact([&](pqxx::dbtransaction& tx) -> Status {
    auto inserted = internal::EnqueueJobInTransaction(tx, spec);
    if (!inserted) return Fail(inserted.error());
    job = std::move(*inserted);
    if (!job) return Ok();
    nlohmann::json payload = {{"goldenset", job->goldenset},
                              {"target", job->target},
                              {"repeats", job->repeats},
                              {"trigger", job->trigger},
                              {"requested_by", job->requested_by}};
    if (!job->schedule_name.empty()) payload["schedule"] = job->schedule_name;
    if (!job->fire_time.empty()) payload["fire_time"] = job->fire_time;
    return AsStatus(store::AppendAudit(tx, actor, "job.enqueue", "job", std::to_string(job->id), payload));
  });
  if (!status) return Fail(status.error());
  return job;
}

Result<std::optional<Job>> ClaimJob(store::Database& db, const std::string& worker, std::chrono::milliseconds lease,
                                    const std::vector<std::string>& targets) {
  if (worker.empty()) return Fail(ErrorKind::kInvalidInput, "a worker needs an id");
  if (lease.count() < 100) return Fail(ErrorKind::kInvalidInput, "a lease must last at least 100 ms");
  std::string joined;
  for (const auto& t : targets) joined += (joined.empty() ? "" : "\x1f") + t;
  std::optional<Job> job;
  Status status = db.Transact([&](pqxx::dbtransaction& tx) -> Status {
    auto rows = tx.exec_params("SELECT " + JobColumns("c") +
                                   " FROM ops.claim_job($1, $2, CASE WHEN $3 THEN string_to_array($4, chr(31)) END) c",
                               worker, static_cast<long long>(lease.count()), !targets.empty(), joined);
    if (rows.empty()) return Ok();
    job = JobFromRow(rows[0]);
    job->target_slots =
        tx.exec_params1("SELECT coalesce((SELECT slots FROM ops.target_slots WHERE target = $1), 1)", job->target)[0]
            .as<int>();
    return Ok();
  });
  if (!status) return Fail(status.error());
  return job;
}

Result<std::vector<long long>> RenewLeases(store::Database& db, const std::string& worker,
                                           std::chrono::milliseconds lease, const std::vector<Lease>& leases) {
  std::vector<long long> renewed;
  if (leases.empty()) return renewed;
  std::vector<long long> ids, fences;
  for (const auto& l : leases) {
    ids.push_back(l.job_id);
    fences.push_back(l.fence);
  }
  Status status = db.Transact([&](pqxx::dbtransaction& tx) -> Status {
    for (const auto& row :
         tx.exec_params("SELECT id FROM ops.renew_leases($1, $2, $3::bigint[], $4::bigint[]) AS r(id)", worker,
                        static_cast<long long>(lease.count()), IntArrayLiteral(ids), IntArrayLiteral(fences)))
      renewed.push_back(row[0].as<long long>());
    return Ok();
  });
  if (!status) return Fail(status.error());
  return renewed;
}

Result<std::optional<std::string>> FinishJob(store::Database& db, const Lease& lease, JobEnd end,
                                             const std::string& detail, std::chrono::milliseconds retry_delay) {
  std::optional<std::string> state;
  Status status = db.Transact([&](pqxx::dbtransaction& tx) -> Status {
    auto row = tx.exec_params1("SELECT ops.finish_job($1, $2, $3, NULLIF($4, ''), $5)", lease.job_id, lease.fence,
                               std::string(JobEndName(end)), detail, static_cast<long long>(retry_delay.count()));
    if (!row[0].is_null()) state = row[0].as<std::string>();
    return Ok();
  });
  if (!status) return Fail(status.error());
  return state;
}

Result<Job> GetJob(store::Database& db, long long id) {
  std::optional<Job> job;
  Status status = store::Guard("get job", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    auto rows = tx.exec_params("SELECT " + JobColumns("j") + " FROM ops.job j WHERE j.id = $1", id);
    if (rows.empty()) return Ok();
    job = JobFromRow(rows[0]);
    job->target_slots =
        tx.exec_params1("SELECT coalesce((SELECT slots FROM ops.target_slots WHERE target = $1), 1)", job->target)[0]
            .as<int>();
    return Ok();
  });
  if (!status) return Fail(status.error());
  if (!job) return Fail(ErrorKind::kNotFound, "no job with id " + std::to_string(id));
  return *job;
}

Result<std::vector<Job>> ListJobs(store::Database& db, const JobFilter& filter) {
  if (filter.limit < 1 || filter.limit > 1000)
    return Fail(ErrorKind::kInvalidInput, "limit must be between 1 and 1000");
  std::vector<Job> jobs;
  Status status = store::Guard("list jobs", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    for (const auto& row : tx.exec_params(
             "SELECT " + JobColumns("j") +
                 " FROM ops.job j WHERE ($1 = '' OR j.state = $1) AND ($2 = '' OR j.schedule_name = $2) "
                 "AND ($3 = '' OR j.target = $3) ORDER BY j.id DESC LIMIT $4",
             filter.state.value_or(""), filter.schedule_name.value_or(""), filter.target.value_or(""), filter.limit))
      jobs.push_back(JobFromRow(row));
    return Ok();
  });
  if (!status) return Fail(status.error());
  return jobs;
}

Result<std::map<std::string, long long>> CountJobsByState(store::Database& db) {
  std::map<std::string, long long> counts;
  Status status = store::Guard("count jobs", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    for (const auto& row : tx.exec("SELECT state, count(*) FROM ops.job GROUP BY state"))
      counts[row[0].as<std::string>()] = row[1].as<long long>();
    return Ok();
  });
  if (!status) return Fail(status.error());
  return counts;
}

Result<std::string> RunStatus(store::Database& db, const std::string& run_id) {
  std::optional<std::string> found;
  Status status = store::Guard("run status", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    auto rows = tx.exec_params("SELECT status FROM run.run WHERE id::text = $1", run_id);
    if (!rows.empty()) found = rows[0][0].as<std::string>();
    return Ok();
  });
  if (!status) return Fail(status.error());
  if (!found) return Fail(ErrorKind::kNotFound, "no run with id " + run_id);
  return *found;
}

Status SetTargetSlots(store::Database& db, const std::string& target, int slots, const std::string& actor) {
  if (target.empty()) return Fail(ErrorKind::kInvalidInput, "a target name is required");
  if (slots < 1 || slots > 1000)
    return Fail(ErrorKind::kInvalidInput, "slots must be between 1 and 1000, not " + std::to_string(slots));
  if (actor.empty()) return Fail(ErrorKind::kInvalidInput, "changing slots needs an actor");
  return db.Transact([&](pqxx::dbtransaction& tx) -> Status {
    auto previous = tx.exec_params("SELECT slots FROM ops.target_slots WHERE target = $1 FOR UPDATE", target);
    tx.exec_params(
        "INSERT INTO ops.target_slots (target, slots, updated_by) VALUES ($1, $2, $3) "
        "ON CONFLICT (target) DO UPDATE SET slots = excluded.slots, updated_by = excluded.updated_by, "
        "updated_at = now()",
        target, slots, actor);
    return AsStatus(store::AppendAudit(tx, actor, "target.slots", "target", target,
                              {{"slots", slots}, {"previous", previous.empty() ? 1 : previous[0][0].as<int>()}}));
  });
}

Result<std::map<std::string, int>> ListTargetSlots(store::Database& db) {
  std::map<std::string, int> slots;
  Status status = store::Guard("list target slots", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    for (const auto& row : tx.exec("SELECT target, slots FROM ops.target_slots ORDER BY target"))
      slots[row[0].as<std::string>()] = row[1].as<int>();
    return Ok();
  });
  if (!status) return Fail(status.error());
  return slots;
}

Result<std::string> WithSessionSettings(const std::string& url, const std::map<std::string, std::string>& settings) {
  std::string extra;
  for (const auto& [name, value] : settings) {
    if (!ValidSettingName(name)) return Fail(ErrorKind::kInvalidInput, "invalid session setting name '" + name + "'");
    if (!ValidSettingValue(value)) return Fail(ErrorKind::kInvalidInput, "invalid value for session setting " + name);
    extra += (extra.empty() ? "" : " ") + ("-c " + name + "=" + value);
  }
  if (extra.empty()) return url;
  const bool is_uri = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  if (is_uri) {
    size_t fragment = url.find('#');
    if (fragment != std::string::npos) return Fail(ErrorKind::kInvalidInput, "a database URL must not have a fragment");
    size_t q = url.find('?');
    if (q == std::string::npos) return url + "?options=" + PercentEncode(extra);
    std::string base = url.substr(0, q);
    std::string query = url.substr(q + 1);
    std::string rebuilt;
    bool merged = false;
    size_t start = 0;
    while (start <= query.size()) {
      size_t amp = query.find('&', start);
      std::string part = query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
      if (!part.empty()) {
        size_t eq = part.find('=');
        std::string key = part.substr(0, eq);
        if (key == "options") {
          auto decoded = PercentDecode(eq == std::string::npos ? "" : part.substr(eq + 1));
          if (!decoded) return Fail(decoded.error());
          part = "options=" + PercentEncode(decoded->empty() ? extra : *decoded + " " + extra);
          merged = true;
        }
        rebuilt += (rebuilt.empty() ? "" : "&") + part;
      }
      if (amp == std::string::npos) break;
      start = amp + 1;
    }
    if (!merged) rebuilt += (rebuilt.empty() ? "" : "&") + ("options=" + PercentEncode(extra));
    return base + "?" + rebuilt;
  }
  auto pairs = ParseKeyValueConninfo(url);
  if (!pairs) return Fail(pairs.error());
  std::string out;
  bool merged = false;
  for (auto& p : *pairs) {
    if (p.key == "options") {
      p.value = p.value.empty() ? extra : p.value + " " + extra;
      merged = true;
    }
    out += (out.empty() ? "" : " ") + p.key + "=" + QuoteConninfoValue(p.value);
  }
  if (!merged) out += (out.empty() ? "" : " ") + ("options=" + QuoteConninfoValue(extra));
  return out;
}

Result<std::string> FencedDatabaseUrl(const std::string& url, const Lease& lease) {
  return WithSessionSettings(
      url, {{"driftwatch.job", std::to_string(lease.job_id)}, {"driftwatch.fence", std::to_string(lease.fence)}});
}

}  // namespace dw::sched
