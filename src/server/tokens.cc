#include "server/tokens.h"

#include <openssl/rand.h>

#include <algorithm>
#include <pqxx/pqxx>

#include "core/hash.h"
#include "governance/review.h"
#include "store/audit_log.h"

namespace dw::server {
namespace {

constexpr const char* kTokenColumns =
    "id, name, array_to_string(scopes, ','), created_by, "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "coalesce(to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), "
    "coalesce(to_char(last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), "
    "coalesce(last_used_at < now() - interval '60 seconds', true)";

ApiToken TokenFromRow(const pqxx::row& row, bool* stale_use = nullptr) {
  ApiToken t;
  t.id = row[0].as<long long>();
  t.name = row[1].as<std::string>();
  if (auto scopes = ParseScopeList(row[2].as<std::string>())) t.scopes = *scopes;
  t.created_by = row[3].as<std::string>();
  t.created_at = row[4].as<std::string>();
  t.revoked_at = row[5].as<std::string>();
  t.last_used_at = row[6].as<std::string>();
  if (stale_use) *stale_use = row[7].as<bool>();
  return t;
}

std::string ScopeArrayLiteral(const std::vector<Scope>& scopes) {
  std::string out = "{";
  for (size_t i = 0; i < scopes.size(); ++i) out += (i ? "," : "") + std::string(ScopeName(scopes[i]));
  return out + "}";
}

bool WellFormedSecret(std::string_view secret) {
  return secret.size() == 68 && secret.substr(0, 4) == "dwt_" &&
         std::all_of(secret.begin() + 4, secret.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

const char* ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kRead:
      return "read";
    case Scope::kRun:
      return "run";
    case Scope::kReview:
      return "review";
    case Scope::kAdmin:
      return "admin";
  }
  return "read";
}

std::optional<Scope> ParseScope(std::string_view name) {
  for (Scope s : kAllScopes)
    if (name == ScopeName(s)) return s;
  return std::nullopt;
}

Result<std::vector<Scope>> ParseScopeList(std::string_view csv) {
  std::vector<Scope> out;
  size_t start = 0;
  while (start <= csv.size()) {
    size_t comma = csv.find(',', start);
    std::string_view part = csv.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    auto scope = ParseScope(part);
    if (!scope)
      return Fail(ErrorKind::kInvalidInput,
                  "unknown scope '" + std::string(part) + "' (scopes are read, run, review, admin)");
    if (std::find(out.begin(), out.end(), *scope) == out.end()) out.push_back(*scope);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (out.empty()) return Fail(ErrorKind::kInvalidInput, "a token needs at least one scope");
  return out;
}

bool ApiToken::Has(Scope scope) const { return std::find(scopes.begin(), scopes.end(), scope) != scopes.end(); }

nlohmann::json TokenToJson(const ApiToken& token) {
  nlohmann::json scopes = nlohmann::json::array();
  for (Scope s : token.scopes) scopes.push_back(ScopeName(s));
  auto opt = [](const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); };
  return {{"id", token.id},
          {"name", token.name},
          {"scopes", scopes},
          {"created_by", token.created_by},
          {"created_at", token.created_at},
          {"revoked_at", opt(token.revoked_at)},
          {"last_used_at", opt(token.last_used_at)}};
}

std::string TokenHash(std::string_view secret) { return Sha256Hex(secret); }

Result<NewToken> CreateToken(store::Database& db, const std::string& name, const std::vector<Scope>& scopes,
                             const std::string& actor) {
  if (auto s = governance::ValidatePrincipal(name); !s)
    return Fail(ErrorKind::kInvalidInput, "token name: " + s.error().message);
  if (scopes.empty()) return Fail(ErrorKind::kInvalidInput, "a token needs at least one scope");
  if (actor.empty()) return Fail(ErrorKind::kInvalidInput, "creating a token needs an actor");
  unsigned char random[32];
  if (RAND_bytes(random, sizeof random) != 1) return Fail(ErrorKind::kInternal, "the system random generator failed");
  NewToken created;
  created.secret = "dwt_" + HexEncode(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
  Status status = db.Transact([&](pqxx::dbtransaction& tx) -> Status {
    if (!tx.exec_params("SELECT 1 FROM ops.api_token WHERE lower(name) = lower($1) AND revoked_at IS NULL", name)
             .empty())
      return Fail(ErrorKind::kConflict, "an active token named '" + name + "' exists; revoke it first");
    auto row = tx.exec_params1(std::string("INSERT INTO ops.api_token (name, token_sha256, scopes, created_by) "
                                           "VALUES ($1, $2, $3::text[], $4) RETURNING ") +
                                   kTokenColumns,
                               name, TokenHash(created.secret), ScopeArrayLiteral(scopes), actor);
    created.token = TokenFromRow(row);
    nlohmann::json scope_names = nlohmann::json::array();
    for (Scope s : scopes) scope_names.push_back(ScopeName(s));
    return AsStatus(store::AppendAudit(tx, actor, "token.create", "token", name,
                              {{"token_id", created.token.id}, {"scopes", scope_names}}));
  });
  if (!status) return Fail(status.error());
  return created;
}

Result<std::vector<ApiToken>> ListTokens(store::Database& db, bool include_revoked) {
  std::vector<ApiToken> tokens;
  Status status = store::Guard("list tokens", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    for (const auto& row : tx.exec_params(std::string("SELECT ") + kTokenColumns +
                                              " FROM ops.api_token WHERE $1 OR revoked_at IS NULL ORDER BY name, id",
                                          include_revoked))
      tokens.push_back(TokenFromRow(row));
    return Ok();
  });
  if (!status) return Fail(status.error());
  return tokens;
}

Status RevokeToken(store::Database& db, const std::string& name, const std::string& actor) {
  if (actor.empty()) return Fail(ErrorKind::kInvalidInput, "revoking a token needs an actor");
  return db.Transact([&](pqxx::dbtransaction& tx) -> Status {
    auto rows = tx.exec_params(
        "UPDATE ops.api_token SET revoked_at = now(), revoked_by = $2 "
        "WHERE lower(name) = lower($1) AND revoked_at IS NULL RETURNING id",
        name, actor);
    if (rows.empty()) return Fail(ErrorKind::kNotFound, "no active token named '" + name + "'");
    return AsStatus(store::AppendAudit(tx, actor, "token.revoke", "token", name, {{"token_id", rows[0][0].as<long long>()}}));
  });
}

Result<ApiToken> Authenticate(store::Database& db, std::string_view secret) {
  const Error denied{ErrorKind::kPermissionDenied, "invalid or revoked token"};
  if (!WellFormedSecret(secret)) return Fail(denied);
  std::optional<ApiToken> token;
  // One autocommit statement per request; last_used_at is written at most
  // once a minute per token.
  Status status = store::Guard("authenticate", [&]() -> Status {
    pqxx::nontransaction tx(db.connection());
    auto rows = tx.exec_params(
        std::string("SELECT ") + kTokenColumns + " FROM ops.api_token WHERE token_sha256 = $1 AND revoked_at IS NULL",
        TokenHash(secret));
    if (rows.empty()) return Ok();
    bool stale_use = false;
    token = TokenFromRow(rows[0], &stale_use);
    if (stale_use) tx.exec_params("UPDATE ops.api_token SET last_used_at = now() WHERE id = $1", token->id);
    return Ok();
  });
  if (!status) return Fail(status.error());
  if (!token) return Fail(denied);
  return *token;
}

}  // namespace dw::server
