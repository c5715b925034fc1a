#include "store/comparison_repo.h"

#include <pqxx/pqxx>

#include "core/hash.h"
#include "store/audit_log.h"

namespace dw::store {
namespace {

std::optional<double> Num(const nlohmann::json& row, const char* key) {
  auto it = row.find(key);
  if (it == row.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::optional<int> Int(const nlohmann::json& row, const char* key) {
  auto it = row.find(key);
  if (it == row.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int>();
}

// True if the row's `method` (ci_method or test) resampled clusters.
bool Clustered(const nlohmann::json& row, const char* method) {
  auto it = row.find(method);
  if (it == row.end() || !it->is_object()) return false;
  auto params = it->find("params");
  if (params == it->end() || !params->is_object()) return false;
  auto flag = params->find("clustered");
  return flag != params->end() && flag->is_boolean() && flag->get<bool>();
}

}  // namespace

Result<long long> SaveComparison(Database& db, const ComparisonRecord& record) {
  long long id = 0;
  Status status = db.Transact([&](pqxx::dbtransaction& tx) -> Status {
    std::string canonical = CanonicalJson(record.result);
    auto row = tx.exec_params1(
        "INSERT INTO run.comparison (baseline_run_id, candidate_run_id, common_cases_only, verdict, severity, seed, "
        "policy, result, result_sha256, computed_by, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
        "$11) RETURNING id",
        record.baseline_run_id, record.candidate_run_id, record.common_cases_only, record.verdict, record.severity,
        record.seed, CanonicalJson(record.policy), canonical, Sha256Hex(canonical), record.computed_by,
        record.created_by);
    id = row[0].as<long long>();
    pqxx::stream_to rows(
        tx, "run.comparison_row",
        std::vector<std::string>{"comparison_id", "metric",    "slice",     "kind",    "n",       "n_missing",
                                 "baseline",      "candidate", "delta",     "ci_low",  "ci_high", "p_value",
                                 "q_value",       "test",      "b",         "c",       "verdict", "severity",
                                 "detail",        "ci_method", "clustered", "clusters"});
    if (record.result.contains("metrics")) {
      for (const auto& r : record.result["metrics"]) {
        std::string test = r.contains("test") && r["test"].is_object() ? r["test"].value("name", "") : "";
        std::optional<std::string> ci_method;
        if (r.contains("ci_method") && r["ci_method"].is_object() && r["ci_method"].contains("name"))
          ci_method = r["ci_method"].value("name", "");
        rows << std::make_tuple(id, r.value("metric", ""), r.value("slice", "all"), r.value("kind", ""),
                                r.value("n", 0), r.value("n_missing", 0), Num(r, "baseline"), Num(r, "candidate"),
                                Num(r, "delta"), Num(r, "ci_low"), Num(r, "ci_high"), Num(r, "p_value"),
                                Num(r, "q_value"), test, Int(r, "b"), Int(r, "c"), r.value("verdict", ""),
                                r.value("severity", ""), CanonicalJson(r), ci_method,
                                Clustered(r, "ci_method") || Clustered(r, "test"), Int(r, "clusters"));
      }
    }
    rows.complete();
    return AsStatus(AppendAudit(tx, record.created_by, "comparison.create", "comparison", std::to_string(id),
                       {{"baseline_run_id", record.baseline_run_id},
                        {"candidate_run_id", record.candidate_run_id},
                        {"verdict", record.verdict},
                        {"severity", record.severity},
                        {"result_sha256", Sha256Hex(canonical)}}));
  });
  if (!status) return Fail(status.error());
  return id;
}

Result<std::optional<nlohmann::json>> LatestComparisonFor(Database& db, const std::string& run_id) {
  std::optional<nlohmann::json> found;
  Status status = Guard("load comparison", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    auto rows = tx.exec_params(
        "SELECT id, result::text, baseline_run_id::text FROM run.comparison WHERE candidate_run_id = $1 "
        "ORDER BY created_at DESC, id DESC LIMIT 1",
        run_id);
    if (!rows.empty()) {
      auto j = nlohmann::json::parse(rows[0][1].c_str());
      j["comparison_id"] = rows[0][0].as<long long>();
      j["baseline_run_id"] = rows[0][2].as<std::string>();
      found = std::move(j);
    }
    return Ok();
  });
  if (!status) return Fail(status.error());
  return found;
}

Status SaveDriftPoint(Database& db, const DriftPoint& p) {
  return db.Transact([&](pqxx::dbtransaction& tx) -> Status {
    tx.exec_params(
        "INSERT INTO run.drift_point (run_id, golden_set, target, metric, value, baseline_run_id, cusum_upper, "
        "cusum_lower, ewma, in_alarm, runs_in_alarm, state) VALUES ($1, $2, $3, $4, $5, NULLIF($6, '')::uuid, $7, "
        "$8, $9, $10, $11, $12) ON CONFLICT (run_id, metric) DO NOTHING",
        p.run_id, p.golden_set, p.target, p.metric, p.value, p.baseline_run_id, p.cusum_upper, p.cusum_lower,
        p.ewma, p.in_alarm, p.runs_in_alarm, CanonicalJson(p.state));
    return Ok();
  });
}

Result<std::vector<DriftPoint>> DriftHistory(Database& db, const std::string& golden_set, const std::string& target,
                                             const std::string& metric, int limit) {
  std::vector<DriftPoint> points;
  Status status = Guard("load drift history", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    auto rows = tx.exec_params(
        "SELECT run_id::text, value, coalesce(baseline_run_id::text, ''), cusum_upper, cusum_lower, ewma, in_alarm, "
        "runs_in_alarm, state::text FROM run.drift_point WHERE golden_set = $1 AND target = $2 AND metric = $3 "
        "ORDER BY created_at DESC LIMIT $4",
        golden_set, target, metric, limit);
    for (auto row = rows.rbegin(); row != rows.rend(); ++row) {
      DriftPoint p;
      p.run_id = (*row)[0].as<std::string>();
      p.golden_set = golden_set;
      p.target = target;
      p.metric = metric;
      if (!(*row)[1].is_null()) p.value = (*row)[1].as<double>();
      p.baseline_run_id = (*row)[2].as<std::string>();
      p.cusum_upper = (*row)[3].is_null() ? 0 : (*row)[3].as<double>();
      p.cusum_lower = (*row)[4].is_null() ? 0 : (*row)[4].as<double>();
      p.ewma = (*row)[5].is_null() ? 0 : (*row)[5].as<double>();
      p.in_alarm = (*row)[6].as<bool>();
      p.runs_in_alarm = (*row)[7].as<int>();
      p.state = nlohmann::json::parse((*row)[8].c_str());
      points.push_back(std::move(p));
    }
    return Ok();
  });
  if (!status) return Fail(status.error());
  return points;
}

Result<std::optional<DriftPoint>> LatestDriftPoint(Database& db, const std::string& golden_set,
                                                   const std::string& target, const std::string& metric) {
  auto points = DriftHistory(db, golden_set, target, metric, 1);
  if (!points) return Fail(points.error());
  if (points->empty()) return std::optional<DriftPoint>();
  return std::optional<DriftPoint>(std::move(points->front()));
}

}  // namespace dw::store
