#include "store/run_repo.h"

#include <chrono>

#include <pqxx/pqxx>

#include "core/hash.h"
#include "core/utf8.h"
#include "store/audit_log.h"

namespace dw::store {
namespace {

constexpr const char* kRunColumns =
    "r.id, r.golden_set_version_id, g.name, v.version, v.manifest_sha256, t.name, t.version_hash, t.model, "
    "r.status, r.repeats, r.run_salt, r.requested_by, "
    "to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "coalesce(to_char(r.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), "
    "r.summary::text, r.settings::text, coalesce(r.error, ''), coalesce(s.name, ''), coalesce(s.version_hash, ''), "
    "coalesce(s.spec::text, 'null')";
constexpr const char* kRunJoins =
    " FROM run.run r JOIN core.golden_set_version v ON v.id = r.golden_set_version_id "
    "JOIN core.golden_set g ON g.id = v.golden_set_id JOIN core.target_version t ON t.id = r.target_version_id "
    "LEFT JOIN core.scorer_version s ON s.id = r.scorer_version_id ";

// Per-connection staging tables that result batches are copied into.
constexpr const char* kCreateStagingTables =
    "CREATE TEMP TABLE IF NOT EXISTS stage_result (LIKE run.result INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS stage_score (LIKE run.score INCLUDING DEFAULTS) ON COMMIT DELETE ROWS";

RunInfo RunFromRow(const pqxx::row& row) {
  RunInfo r;
  r.id = row[0].as<std::string>();
  r.golden_set_version_id = row[1].as<long long>();
  r.golden_set = row[2].as<std::string>();
  r.golden_set_version = row[3].as<int>();
  r.manifest_sha256 = row[4].as<std::string>();
  r.target = row[5].as<std::string>();
  r.target_version_hash = row[6].as<std::string>();
  r.target_model = row[7].as<std::string>();
  r.status = row[8].as<std::string>();
  r.repeats = row[9].as<int>();
  r.run_salt = row[10].as<std::string>();
  r.requested_by = row[11].as<std::string>();
  r.created_at = row[12].as<std::string>();
  r.finished_at = row[13].as<std::string>();
  r.summary = row[14].is_null() ? nlohmann::json() : nlohmann::json::parse(row[14].c_str());
  r.settings = nlohmann::json::parse(row[15].c_str());
  r.error = row[16].as<std::string>();
  r.scorer_name = row[17].as<std::string>();
  r.scorer_version_hash = row[18].as<std::string>();
  r.scorer_spec = nlohmann::json::parse(row[19].c_str());
  return r;
}

template <typename T>
std::optional<T> Opt(bool present, T value) {
  return present ? std::optional<T>(value) : std::nullopt;
}

// `text` as PostgreSQL accepts it in a text column: bytes that are not
// well-formed UTF-8, and NUL, become U+FFFD. A provider's answer or error
// body may contain anything; one bad byte must not fail a batch of results.
std::string PgText(std::string text) {
  if (!FindInvalidUtf8(text) && text.find('\0') == std::string::npos) return text;
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t n = text[i] == '\0' ? 0 : Utf8SequenceLength(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text, i, n);
      i += n;
    }
  }
  return out;
}

std::optional<std::string> PgText(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  return PgText(*text);
}

}  // namespace

std::string ResultKey(const std::string& case_id, int repeat) {
  return case_id + '\x1f' + std::to_string(repeat);
}

Result<RunInfo> CreateRun(Database& db, const RunSpec& spec) {
  RunInfo info;
  Status status = db.Transact([&](pqxx::dbtransaction& tx) -> Status {
    tx.exec_params(
        "INSERT INTO core.target_version (name, version_hash, provider, model, spec) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (name, version_hash) DO NOTHING",
        spec.target_name, spec.target_version_hash, spec.target_provider, spec.target_model,
        CanonicalJson(spec.target_spec));
    auto target = tx.exec_params1("SELECT id FROM core.target_version WHERE name = $1 AND version_hash = $2",
                                  spec.target_name, spec.target_version_hash);
    std::string scorer_hash = ContentHash(spec.scorer_spec);
    tx.exec_params(
        "INSERT INTO core.scorer_version (name, version_hash, spec) VALUES ($1, $2, $3) "
        "ON CONFLICT (name, version_hash) DO NOTHING",
        spec.scorer_name, scorer_hash, CanonicalJson(spec.scorer_spec));
    auto scorer = tx.exec_params1("SELECT id FROM core.scorer_version WHERE name = $1 AND version_hash = $2",
                                  spec.scorer_name, scorer_hash);
    tx.exec_params(
        "INSERT INTO run.run (id, golden_set_version_id, target_version_id, scorer_version_id, status, trigger, "
        "schedule_name, repeats, run_salt, requested_by, runner_build, runner_host, settings, started_at) "
        "VALUES ($1, $2, $3, $4, 'running', $5, NULLIF($6, ''), $7, $8, $9, $10, $11, $12, now())",
        spec.run_id, spec.golden_set_version_id, target[0].as<long long>(), scorer[0].as<long long>(), spec.trigger,
        spec.schedule_name, spec.repeats, spec.run_id, spec.requested_by, spec.runner_build, spec.runner_host,
        CanonicalJson(spec.settings));
    nlohmann::json payload = {{"golden_set_version_id", spec.golden_set_version_id},
                              {"target", spec.target_name},
                              {"target_version", spec.target_version_hash},
                              {"repeats", spec.repeats},
                              {"trigger", spec.trigger}};
    if (auto s = AppendAudit(tx, spec.requested_by, "run.start", "run", spec.run_id, payload); !s) return Fail(s.error());
    info = RunFromRow(tx.exec_params1(std::string("SELECT ") + kRunColumns + kRunJoins + "WHERE r.id = $1",
                                      spec.run_id));
    return Ok();
  });
  if (!status) return Fail(status.error());
  return info;
}

Result<RunInfo> GetRun(Database& db, const std::string& id_or_prefix) {
  std::vector<RunInfo> found;
  bool valid = id_or_prefix.size() >= 8 && id_or_prefix.size() <= 36 &&
               id_or_prefix.find_first_not_of("0123456789abcdef-") == std::string::npos;
  if (!valid)
    return Fail(ErrorKind::kInvalidInput, "'" + id_or_prefix + "' is not a run id (give at least 8 hex characters)");
  Status status = Guard("get run", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    for (const auto& row : tx.exec_params(std::string("SELECT ") + kRunColumns + kRunJoins +
                                              "WHERE r.id::text LIKE $1 || '%' ORDER BY r.created_at LIMIT 2",
                                          id_or_prefix))
      found.push_back(RunFromRow(row));
    return Ok();
  });
  if (!status) return Fail(status.error());
  if (found.empty()) return Fail(ErrorKind::kNotFound, "no run with id " + id_or_prefix);
  if (found.size() > 1) return Fail(ErrorKind::kInvalidInput, "run id prefix " + id_or_prefix + " is ambiguous");
  return found[0];
}

Result<std::vector<RunInfo>> ListRuns(Database& db, const std::string& golden_set, const std::string& target,
                                      int limit) {
  std::vector<RunInfo> out;
  Status status = Guard("list runs", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    for (const auto& row : tx.exec_params(std::string("SELECT ") + kRunColumns + kRunJoins +
                                              "WHERE ($1 = '' OR g.name = $1) AND ($2 = '' OR t.name = $2) "
                                              "ORDER BY r.created_at DESC LIMIT $3",
                                          golden_set, target, limit))
      out.push_back(RunFromRow(row));
    return Ok();
  });
  if (!status) return Fail(status.error());
  return out;
}

Status ReopenRun(Database& db, const std::string& run_id, const std::string& actor) {
  return db.Transact([&](pqxx::dbtransaction& tx) -> Status {
    auto row = tx.exec_params1("SELECT status FROM run.run WHERE id = $1 FOR UPDATE", run_id);
    std::string current = row[0].as<std::string>();
    if (current != "running" && current != "failed" && current != "cancelled")
      return Fail(ErrorKind::kConflict, "run " + run_id + " is '" + current + "'; only an unfinished, failed or "
                                                                             "cancelled run can be resumed");
    tx.exec_params("UPDATE run.run SET status = 'running', finished_at = NULL, error = NULL WHERE id = $1", run_id);
    return AsStatus(AppendAudit(tx, actor, "run.resume", "run", run_id, {{"previous_status", current}}));
  });
}

Status FinishRun(Database& db, const std::string& run_id, const std::string& status, const nlohmann::json& summary,
                 const std::string& error, const std::string& actor) {
  return db.Transact([&](pqxx::dbtransaction& tx) -> Status {
    tx.exec_params(
        "UPDATE run.run SET status = $2, finished_at = now(), summary = $3, error = NULLIF($4, '') WHERE id = $1",
        run_id, status, CanonicalJson(summary), error);
    nlohmann::json payload = {{"status", status}, {"error", error}};
    for (const char* key : {"results", "pass_rate", "cost_usd", "infra_failures"})
      if (summary.contains(key)) payload[key] = summary[key];
    return AsStatus(AppendAudit(tx, actor, "run.finish", "run", run_id, payload));
  });
}

Result<std::unordered_set<std::string>> CompletedKeys(Database& db, const std::string& run_id) {
  std::unordered_set<std::string> keys;
  Status status = Guard("completed results", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    for (const auto& row : tx.exec_params("SELECT case_id, repeat FROM run.result WHERE run_id = $1", run_id))
      keys.insert(ResultKey(row[0].as<std::string>(), row[1].as<int>()));
    return Ok();
  });
  if (!status) return Fail(status.error());
  return keys;
}

Result<std::vector<ReplayResult>> LoadResults(Database& db, const std::string& run_id, bool with_scores) {
  std::vector<ReplayResult> out;
  Status status = Guard("load results", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    std::unordered_map<std::string, size_t> index;
    for (const auto& row : tx.exec_params(
             "SELECT case_id, repeat, outcome, score, coalesce(output, ''), coalesce(request_sha256, ''), "
             "coalesce(latency_ms, 0), coalesce(input_tokens, 0), coalesce(output_tokens, 0), coalesce(cost_usd, 0), "
             "attempts, coalesce(provider_model, ''), coalesce(fingerprint, ''), coalesce(finish_reason, ''), "
             "coalesce(response_id, ''), coalesce(error_detail, '') FROM run.result WHERE run_id = $1 "
             "ORDER BY case_id, repeat",
             run_id)) {
      ReplayResult r;
      r.case_id = row[0].as<std::string>();
      r.repeat = row[1].as<int>();
      r.outcome = ParseOutcome(row[2].c_str()).value_or(Outcome::kProviderError);
      if (!row[3].is_null()) r.score = row[3].as<double>();
      r.output = row[4].as<std::string>();
      r.request_hash = row[5].as<std::string>();
      r.latency_ms = row[6].as<double>();
      r.input_tokens = row[7].as<long long>();
      r.output_tokens = row[8].as<long long>();
      r.cost_usd = row[9].as<double>();
      r.attempts = row[10].as<int>();
      r.provider_model = row[11].as<std::string>();
      r.fingerprint = row[12].as<std::string>();
      r.finish_reason = row[13].as<std::string>();
      r.response_id = row[14].as<std::string>();
      r.error_detail = row[15].as<std::string>();
      index[ResultKey(r.case_id, r.repeat)] = out.size();
      out.push_back(std::move(r));
    }
    if (!with_scores) return Ok();
    for (const auto& row : tx.exec_params("SELECT case_id, repeat, scorer, value, passed, weight, coalesce(reason, '') "
                                          "FROM run.score WHERE run_id = $1 ORDER BY case_id, repeat, scorer",
                                          run_id)) {
      auto it = index.find(ResultKey(row[0].as<std::string>(), row[1].as<int>()));
      if (it == index.end()) continue;
      ScoreRow s;
      s.scorer = row[2].as<std::string>();
      if (!row[3].is_null()) s.value = row[3].as<double>();
      if (!row[4].is_null()) s.passed = row[4].as<bool>();
      s.weight = row[5].as<double>();
      s.reason = row[6].as<std::string>();
      out[it->second].scores.push_back(std::move(s));
    }
    return Ok();
  });
  if (!status) return Fail(status.error());
  return out;
}

Result<std::unique_ptr<CaseCursor>> CaseCursor::Open(const std::string& url, long long version_id, int batch,
                                                     double retry_seconds) {
  auto db = Database::Connect(url);
  if (!db) return Fail(db.error());
  return std::unique_ptr<CaseCursor>(new CaseCursor(std::move(*db), version_id, batch, retry_seconds));
}

Result<std::vector<GoldenCase>> CaseCursor::Next() {
  std::vector<GoldenCase> cases;
  if (exhausted_) return cases;
  // A small first batch lets a replay start calling at once; the reader
  // catches up while those calls are in flight.
  constexpr int kFirstBatch = 128;
  const int limit = next_ordinal_ == 0 ? std::min(batch_, kFirstBatch) : batch_;
  int next_ordinal = next_ordinal_;
  Status status = WithReconnect(*db_, retry_seconds_, [&] {
    cases.clear();
    return Guard("read cases", [&]() -> Status {
      pqxx::read_transaction tx(db_->connection());
      for (const auto& row : tx.exec_params(
               "SELECT ordinal, body FROM core.golden_set_case WHERE golden_set_version_id = $1 AND ordinal >= $2 "
               "ORDER BY ordinal LIMIT $3",
               version_id_, next_ordinal_, limit)) {
        next_ordinal = row[0].as<int>() + 1;
        auto parsed = GoldenCaseFromJson(nlohmann::json::parse(row[1].c_str()));
        if (!parsed) return Fail(ErrorKind::kInternal, "stored case is not a valid case object");
        cases.push_back(std::move(*parsed));
      }
      return Ok();
    });
  });
  if (!status) return Fail(status.error());
  next_ordinal_ = next_ordinal;
  exhausted_ = cases.size() < static_cast<size_t>(limit);  // a short batch was the last one
  return cases;
}

// ---- ResultWriter -----------------------------------------------------------

ResultWriter::ResultWriter(std::unique_ptr<Database> db, std::string run_id, size_t batch_rows, size_t max_pending,
                           double retry_seconds)
    : db_(std::move(db)),
      run_id_(std::move(run_id)),
      batch_rows_(batch_rows),
      max_pending_(max_pending),
      retry_seconds_(retry_seconds) {
  thread_ = std::thread([this] { Loop(); });
}

Result<std::unique_ptr<ResultWriter>> ResultWriter::Open(const std::string& url, const std::string& run_id,
                                                         size_t batch_rows, size_t max_pending, double retry_seconds) {
  auto db = Database::Connect(url);
  if (!db) return Fail(db.error());
  return std::unique_ptr<ResultWriter>(
      new ResultWriter(std::move(*db), run_id, batch_rows, max_pending, retry_seconds));
}

ResultWriter::~ResultWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status ResultWriter::Add(ReplayResult result) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return failure_ || queue_.size() < max_pending_; });
  if (failure_) return Fail(*failure_);
  queue_.push_back(std::move(result));
  if (queue_.size() >= batch_rows_) cv_.notify_all();
  return Ok();
}

Status ResultWriter::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  flush_requested_ = true;
  cv_.notify_all();
  cv_.wait(lock, [&] { return failure_ || (queue_.empty() && in_progress_ == 0); });
  flush_requested_ = false;
  if (failure_) return Fail(*failure_);
  return Ok();
}

void ResultWriter::Loop() {
  // The staging tables are made before the first result arrives, so that
  // batch (often a short run's only one) does not wait for them. A failure
  // here is left to the first batch, which creates them too.
  (void)Guard("prepare staging tables", [&]() -> Status {
    pqxx::work tx(db_->connection());
    tx.exec(kCreateStagingTables);
    tx.commit();
    return Ok();
  });
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    // Writes a full batch at once, and whatever is queued every 50 ms or on
    // Flush(), so a crash loses at most the last fraction of a second and
    // the end of a run waits for one small batch, not a large one.
    cv_.wait_for(lock, std::chrono::milliseconds(50), [&] {
      return stop_ || failure_ || queue_.size() >= batch_rows_ || (flush_requested_ && !queue_.empty());
    });
    if (failure_) {
      // Add() and Flush() report the failure; nothing more is written.
      cv_.notify_all();
      cv_.wait(lock, [&] { return stop_; });
      return;
    }
    if (queue_.empty()) {
      cv_.notify_all();
      if (stop_) return;
      continue;
    }
    std::vector<ReplayResult> batch;
    size_t n = std::min(queue_.size(), batch_rows_);
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    in_progress_ = batch.size();
    cv_.notify_all();  // wake producers blocked on a full queue
    lock.unlock();
    Status status = WriteBatch(batch);
    lock.lock();
    in_progress_ = 0;
    if (!status) failure_ = status.error();
    else written_ += batch.size();
    cv_.notify_all();
  }
}

Status ResultWriter::WriteBatch(std::vector<ReplayResult>& batch) {
  return WithReconnect(*db_, retry_seconds_, [&] {
    return Guard("store results", [&]() -> Status {
      pqxx::work tx(db_->connection());
      tx.exec(kCreateStagingTables);
      {
        pqxx::stream_to rows(
            tx, "stage_result",
            std::vector<std::string>{"run_id", "case_id", "repeat", "outcome", "score", "output", "request_sha256",
                                     "latency_ms", "input_tokens", "output_tokens", "cost_usd", "attempts",
                                     "provider_model", "fingerprint", "finish_reason", "response_id", "error_detail"});
        for (const auto& r : batch) {
          rows << std::make_tuple(run_id_, r.case_id, r.repeat, std::string(OutcomeName(r.outcome)), r.score,
                                  PgText(r.output), r.request_hash, r.latency_ms,
                                  static_cast<long long>(r.input_tokens), static_cast<long long>(r.output_tokens),
                                  r.cost_usd, r.attempts, PgText(Opt(!r.provider_model.empty(), r.provider_model)),
                                  PgText(Opt(!r.fingerprint.empty(), r.fingerprint)),
                                  PgText(Opt(!r.finish_reason.empty(), r.finish_reason)),
                                  PgText(Opt(!r.response_id.empty(), r.response_id)),
                                  PgText(Opt(!r.error_detail.empty(), r.error_detail)));
        }
        rows.complete();
      }
      {
        pqxx::stream_to scores(
            tx, "stage_score",
            std::vector<std::string>{"run_id", "case_id", "repeat", "scorer", "value", "passed", "weight", "reason"});
        for (const auto& r : batch)
          for (const auto& s : r.scores)
            scores << std::make_tuple(run_id_, r.case_id, r.repeat, s.scorer, s.value, s.passed, s.weight,
                                      PgText(s.reason));
        scores.complete();
      }
      // Scores go in only with the results this batch stored: a result
      // stored before (a batch redone after a crash) keeps its own scores.
      // Joining the staged scores with the few rows just inserted, not with
      // run.result, keeps each batch's cost independent of the table's size.
      tx.exec(
          "WITH stored AS (INSERT INTO run.result SELECT * FROM stage_result ON CONFLICT DO NOTHING "
          "RETURNING run_id, case_id, repeat) "
          "INSERT INTO run.score SELECT s.* FROM stage_score s JOIN stored USING (run_id, case_id, repeat) "
          "ON CONFLICT DO NOTHING");
      tx.commit();
      return Ok();
    });
  });
}

}  // namespace dw::store
