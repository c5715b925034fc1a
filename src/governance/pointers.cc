#include "governance/pointers.h"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "governance/review.h"
#include "governance/sql_support.h"

namespace dw::governance {

using internal::OptionalText;

Result<std::vector<PointerEvent>> TargetHistory(store::Database& db, const std::string& target,
                                                const std::optional<std::string>& environment) {
  if (environment) {
    if (auto s = ValidateEnvironment(*environment); !s) return Fail(s.error());
  }
  std::vector<PointerEvent> events;
  Status status = internal::RunTransaction(db, "target history", [&](pqxx::dbtransaction& tx) -> Status {
    auto rows = tx.exec_params(
        "SELECT p.seq, p.pointer, p.target, p.environment, g.name, p.run_id::text, t.version_hash, "
        "p.previous_run_id::text, pt.version_hash, p.review_id::text, r.requested_by, to_jsonb(p.approvers)::text, " +
            internal::IsoUtc("p.moved_at") +
            " FROM gov.pointer_event p "
            "JOIN gov.review r ON r.id = p.review_id "
            "JOIN core.target_version t ON t.id = p.target_version_id "
            "LEFT JOIN core.target_version pt ON pt.id = p.previous_target_version_id "
            "LEFT JOIN core.golden_set g ON g.id = p.golden_set_id "
            "WHERE p.target = $1 AND ($2::text IS NULL OR p.environment = $2) ORDER BY p.seq",
        target, environment ? environment->c_str() : nullptr);
    for (const auto& row : rows) {
      PointerEvent event;
      event.seq = row[0].as<std::int64_t>();
      event.pointer = row[1].as<std::string>();
      event.target = row[2].as<std::string>();
      event.environment = row[3].as<std::string>();
      event.golden_set = OptionalText(row[4]);
      event.run_id = row[5].as<std::string>();
      event.target_version_hash = row[6].as<std::string>();
      event.previous_run_id = OptionalText(row[7]);
      event.previous_target_version_hash = OptionalText(row[8]);
      event.review_id = row[9].as<std::string>();
      event.requested_by = row[10].as<std::string>();
      event.approvers = nlohmann::json::parse(row[11].as<std::string>()).get<std::vector<std::string>>();
      event.moved_at = row[12].as<std::string>();
      events.push_back(std::move(event));
    }
    return Ok();
  });
  if (!status) return Fail(status.error());
  return events;
}

Result<std::optional<std::string>> CurrentBaseline(store::Database& db, const std::string& golden_set,
                                                   const std::string& target, const std::string& environment) {
  if (auto s = ValidateEnvironment(environment); !s) return Fail(s.error());
  std::optional<std::string> run_id;
  Status status = internal::RunTransaction(db, "current baseline", [&](pqxx::dbtransaction& tx) -> Status {
    auto rows = tx.exec_params(
        "SELECT p.run_id::text FROM gov.pointer_event p JOIN core.golden_set g ON g.id = p.golden_set_id "
        "WHERE p.pointer = 'baseline' AND g.name = $1 AND p.target = $2 AND p.environment = $3 "
        "ORDER BY p.seq DESC LIMIT 1",
        golden_set, target, environment);
    if (!rows.empty()) run_id = rows[0][0].as<std::string>();
    return Ok();
  });
  if (!status) return Fail(status.error());
  return run_id;
}

Result<std::optional<std::string>> CurrentTargetVersion(store::Database& db, const std::string& target,
                                                        const std::string& environment) {
  if (auto s = ValidateEnvironment(environment); !s) return Fail(s.error());
  std::optional<std::string> version;
  Status status = internal::RunTransaction(db, "current target version", [&](pqxx::dbtransaction& tx) -> Status {
    auto rows = tx.exec_params(
        "SELECT t.version_hash FROM gov.pointer_event p JOIN core.target_version t ON t.id = p.target_version_id "
        "WHERE p.pointer = 'environment' AND p.target = $1 AND p.environment = $2 ORDER BY p.seq DESC LIMIT 1",
        target, environment);
    if (!rows.empty()) version = rows[0][0].as<std::string>();
    return Ok();
  });
  if (!status) return Fail(status.error());
  return version;
}

}  // namespace dw::governance
