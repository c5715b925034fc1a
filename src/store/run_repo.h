// Runs and their results in PostgreSQL.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/golden_case.h"
#include "core/replay_result.h"
#include "core/status.h"
#include "store/database.h"

namespace dw::store {

struct RunSpec {
  std::string run_id;  // uuid minted by the caller
  long long golden_set_version_id = 0;
  std::string target_name;
  std::string target_version_hash;
  std::string target_provider;
  std::string target_model;
  nlohmann::json target_spec;     // TargetConfig::ToJson()
  std::string scorer_name;        // e.g. "driftwatch-assertions"
  nlohmann::json scorer_spec;     // scoring engine build + judge target version
  int repeats = 1;
  std::string trigger = "manual";
  std::string schedule_name;
  std::string requested_by;
  std::string runner_build;
  std::string runner_host;
  nlohmann::json settings = nlohmann::json::object();  // concurrency, budget, ...
};

struct RunInfo {
  std::string id;
  long long golden_set_version_id = 0;
  std::string golden_set;
  int golden_set_version = 0;
  std::string manifest_sha256;
  std::string target;
  std::string target_version_hash;
  std::string target_model;
  std::string status;
  int repeats = 1;
  std::string run_salt;
  std::string requested_by;
  std::string created_at;
  std::string finished_at;
  nlohmann::json summary;  // null until finished
  nlohmann::json settings;
  std::string error;
  // The scorer version recorded with the run (core.scorer_version); empty
  // hash and null spec for a run stored without one.
  std::string scorer_name;
  std::string scorer_version_hash;
  nlohmann::json scorer_spec;
};

// Registers the target and scorer versions (idempotent) and inserts the run
// in status `running`, with an audit event, in one transaction.
Result<RunInfo> CreateRun(Database& db, const RunSpec& spec);

// Finds a run by full id or unique prefix (at least 8 hex characters).
Result<RunInfo> GetRun(Database& db, const std::string& id_or_prefix);

// Recent runs, newest first; optional golden-set / target filters.
Result<std::vector<RunInfo>> ListRuns(Database& db, const std::string& golden_set, const std::string& target,
                                      int limit);

// Marks a run running again (for --resume); refused for done runs.
Status ReopenRun(Database& db, const std::string& run_id, const std::string& actor);

// Ends a run: status done | failed | cancelled, its summary and error; with
// an audit event.
Status FinishRun(Database& db, const std::string& run_id, const std::string& status, const nlohmann::json& summary,
                 const std::string& error, const std::string& actor);

// "case_id\x1frepeat" keys of results already stored for a run (resume).
Result<std::unordered_set<std::string>> CompletedKeys(Database& db, const std::string& run_id);
std::string ResultKey(const std::string& case_id, int repeat);

// All results of a run with their score rows, ordered by case and repeat.
Result<std::vector<ReplayResult>> LoadResults(Database& db, const std::string& run_id, bool with_scores);

// Reads cases of a golden-set version in publication order, `batch` at a
// time (the first batch at most 128, so a replay starts at once), so memory
// does not grow with the golden set. Owns its connection; a
// lost connection is re-established for up to `retry_seconds` (see
// WithReconnect) before Next() fails.
class CaseCursor {
 public:
  static Result<std::unique_ptr<CaseCursor>> Open(const std::string& url, long long version_id, int batch = 1000,
                                                  double retry_seconds = 30);
  // The next batch; empty when exhausted (known without a query once a
  // batch came back short).
  Result<std::vector<GoldenCase>> Next();

 private:
  CaseCursor(std::unique_ptr<Database> db, long long version_id, int batch, double retry_seconds)
      : db_(std::move(db)), version_id_(version_id), batch_(batch), retry_seconds_(retry_seconds) {}
  std::unique_ptr<Database> db_;
  long long version_id_;
  int batch_;
  double retry_seconds_;
  int next_ordinal_ = 0;
  bool exhausted_ = false;
};

// Streams results into run.result / run.score with COPY, in batches, from a
// background thread with its own connection. Add() is thread-safe and blocks
// when `max_pending` results are queued (back-pressure keeps memory flat).
// Writes are idempotent on (run, case, repeat[, scorer]): re-sending a row
// after a crash or resume is harmless. A lost connection is re-established
// and the batch retried for up to `retry_seconds` (WithReconnect); after that
// the writer fails and Add() returns the error. Text that PostgreSQL cannot
// store (invalid UTF-8, NUL) is written with U+FFFD in its place.
class ResultWriter {
 public:
  static Result<std::unique_ptr<ResultWriter>> Open(const std::string& url, const std::string& run_id,
                                                   size_t batch_rows = 1000, size_t max_pending = 20000,
                                                   double retry_seconds = 30);
  ~ResultWriter();

  Status Add(ReplayResult result);
  // Writes everything queued and waits until it is committed.
  Status Flush();
  // Results committed so far.
  size_t written() const { return written_.load(); }

 private:
  ResultWriter(std::unique_ptr<Database> db, std::string run_id, size_t batch_rows, size_t max_pending,
               double retry_seconds);
  void Loop();
  Status WriteBatch(std::vector<ReplayResult>& batch);

  std::unique_ptr<Database> db_;
  std::string run_id_;
  size_t batch_rows_;
  size_t max_pending_;
  double retry_seconds_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ReplayResult> queue_;
  size_t in_progress_ = 0;
  bool stop_ = false;
  bool flush_requested_ = false;
  std::optional<Error> failure_;
  std::atomic<size_t> written_{0};
  std::thread thread_;
};

}  // namespace dw::store
