#include "store/goldenset_repo.h"

#include <pqxx/pqxx>

#include "core/hash.h"
#include "store/audit_log.h"

namespace dw::store {
namespace {

constexpr const char* kVersionColumns =
    "v.id, g.name, v.version, v.manifest_sha256, v.case_count, v.published_by, "
    "to_char(v.published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), v.source_format, v.description";

PublishedVersion VersionFromRow(const pqxx::row& row) {
  PublishedVersion v;
  v.id = row[0].as<long long>();
  v.name = row[1].as<std::string>();
  v.version = row[2].as<int>();
  v.manifest_sha256 = row[3].as<std::string>();
  v.case_count = row[4].as<int>();
  v.published_by = row[5].as<std::string>();
  v.published_at = row[6].as<std::string>();
  v.source_format = row[7].as<std::string>();
  v.description = row[8].as<std::string>();
  return v;
}

std::string PgTextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ",";
    out += "\"";
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\"";
  }
  return out + "}";
}

}  // namespace

Result<std::pair<std::string, std::optional<int>>> ParseVersionRef(const std::string& ref) {
  auto at = ref.find('@');
  if (at == std::string::npos) return std::make_pair(ref, std::optional<int>{});
  std::string name = ref.substr(0, at), number = ref.substr(at + 1);
  if (name.empty() || number.empty() || number.find_first_not_of("0123456789") != std::string::npos ||
      number.size() > 9)
    return Fail(ErrorKind::kInvalidInput, "'" + ref + "' is not NAME or NAME@VERSION (e.g. faq@3)");
  return std::make_pair(name, std::optional<int>(std::stoi(number)));
}

Result<PublishedVersion> PublishGoldenSet(Database& db, const PublishRequest& request) {
  const GoldenSet& set = request.set;
  std::string manifest = set.ManifestHash();
  PublishedVersion result;
  Status status = db.Transact([&](pqxx::dbtransaction& tx) -> Status {
    tx.exec_params("INSERT INTO core.golden_set (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", set.name);
    auto gs = tx.exec_params1("SELECT id FROM core.golden_set WHERE name = $1 FOR UPDATE", set.name);
    long long gs_id = gs[0].as<long long>();
    auto existing = tx.exec_params(std::string("SELECT ") + kVersionColumns +
                                       " FROM core.golden_set_version v JOIN core.golden_set g ON g.id = "
                                       "v.golden_set_id WHERE v.golden_set_id = $1 AND v.manifest_sha256 = $2",
                                   gs_id, manifest);
    if (!existing.empty()) {
      result = VersionFromRow(existing[0]);
      result.created = false;
      return Ok();
    }
    auto next = tx.exec_params1(
        "SELECT coalesce(max(version), 0) + 1 FROM core.golden_set_version WHERE golden_set_id = $1", gs_id);
    int version = next[0].as<int>();
    auto row = tx.exec_params1(
        "INSERT INTO core.golden_set_version (golden_set_id, version, manifest_sha256, case_count, description, "
        "source_format, source_file, published_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        gs_id, version, manifest, static_cast<int>(set.cases.size()), set.description, request.source_format,
        request.source_file, request.published_by);
    long long version_id = row[0].as<long long>();
    {
      pqxx::stream_to stream(tx, "core.golden_set_case",
                             std::vector<std::string>{"golden_set_version_id", "case_id", "ordinal",
                                                      "content_sha256", "body", "tags"});
      int ordinal = 0;
      for (const auto& c : set.cases) {
        nlohmann::json body = c.ToJson();
        stream << std::make_tuple(version_id, c.id, ordinal++, dw::ContentHash(body), CanonicalJson(body),
                                  PgTextArray(c.tags));
      }
      stream.complete();
    }
    nlohmann::json payload = {{"golden_set", set.name}, {"version", version}, {"manifest_sha256", manifest},
                              {"case_count", set.cases.size()}, {"source_format", request.source_format}};
    if (auto s = AppendAudit(tx, request.published_by, "goldenset.publish", "golden_set_version",
                             set.name + "@" + std::to_string(version), payload);
        !s)
      return Fail(s.error());
    auto stored = tx.exec_params1(std::string("SELECT ") + kVersionColumns +
                                      " FROM core.golden_set_version v JOIN core.golden_set g ON g.id = "
                                      "v.golden_set_id WHERE v.id = $1",
                                  version_id);
    result = VersionFromRow(stored);
    result.created = true;
    return Ok();
  });
  if (!status) return Fail(status.error());
  return result;
}

Result<std::vector<PublishedVersion>> ListGoldenSets(Database& db) {
  std::vector<PublishedVersion> out;
  Status status = Guard("list golden sets", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    for (const auto& row :
         tx.exec(std::string("SELECT DISTINCT ON (g.name) ") + kVersionColumns +
                 " FROM core.golden_set_version v JOIN core.golden_set g ON g.id = v.golden_set_id "
                 "ORDER BY g.name, v.version DESC"))
      out.push_back(VersionFromRow(row));
    return Ok();
  });
  if (!status) return Fail(status.error());
  return out;
}

Result<std::vector<PublishedVersion>> ListVersions(Database& db, const std::string& name) {
  std::vector<PublishedVersion> out;
  Status status = Guard("list versions", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    for (const auto& row : tx.exec_params(std::string("SELECT ") + kVersionColumns +
                                              " FROM core.golden_set_version v JOIN core.golden_set g ON g.id = "
                                              "v.golden_set_id WHERE g.name = $1 ORDER BY v.version",
                                          name))
      out.push_back(VersionFromRow(row));
    return Ok();
  });
  if (!status) return Fail(status.error());
  if (out.empty()) return Fail(ErrorKind::kNotFound, "no golden set named '" + name + "' is published");
  return out;
}

Result<PublishedVersion> FindVersion(Database& db, const std::string& name, std::optional<int> version) {
  std::optional<PublishedVersion> found;
  Status status = Guard("find golden set", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    std::string sql = std::string("SELECT ") + kVersionColumns +
                      " FROM core.golden_set_version v JOIN core.golden_set g ON g.id = v.golden_set_id "
                      "WHERE g.name = $1 AND ($2::int IS NULL OR v.version = $2::int) ORDER BY v.version DESC LIMIT 1";
    auto rows = version ? tx.exec_params(sql, name, *version) : tx.exec_params(sql, name, nullptr);
    if (!rows.empty()) found = VersionFromRow(rows[0]);
    return Ok();
  });
  if (!status) return Fail(status.error());
  if (!found)
    return Fail(ErrorKind::kNotFound, version ? "golden set '" + name + "' has no version " + std::to_string(*version)
                                              : "no golden set named '" + name + "' is published");
  return *found;
}

Result<GoldenSet> LoadCases(Database& db, long long version_id) {
  GoldenSet set;
  Status status = Guard("load cases", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    auto head = tx.exec_params1(
        "SELECT g.name, v.description FROM core.golden_set_version v JOIN core.golden_set g ON g.id = "
        "v.golden_set_id WHERE v.id = $1",
        version_id);
    set.name = head[0].as<std::string>();
    set.description = head[1].as<std::string>();
    for (const auto& row : tx.exec_params(
             "SELECT body FROM core.golden_set_case WHERE golden_set_version_id = $1 ORDER BY ordinal", version_id)) {
      auto parsed = GoldenCaseFromJson(nlohmann::json::parse(row[0].c_str()));
      if (!parsed) return Fail(ErrorKind::kInternal, "stored case is not a valid case object");
      set.cases.push_back(std::move(*parsed));
    }
    return Ok();
  });
  if (!status) return Fail(status.error());
  return set;
}

}  // namespace dw::store
