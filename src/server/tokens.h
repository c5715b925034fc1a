// API bearer tokens (ops.api_token): each has a name (the identity its
// writes are audited under, and the principal for review decisions) and
// scopes. Only the sha256 of a token's secret is stored; the secret is shown
// once, when the token is created.
//
// Every function takes a caller-owned Database and is as thread-safe as that
// Database (one per thread). Errors: kInvalidInput for a malformed name or
// scope, kConflict when an active token already has the name, kNotFound when
// revoking an unknown name, kPermissionDenied from Authenticate for an
// unknown or revoked secret, kUnavailable for a lost connection.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/database.h"

namespace dw::server {

// What a token may do. Scopes are independent: admin does not imply read.
//   read    GET every /api/v1 resource (golden sets, runs, reports,
//           comparisons, reviews, jobs, schedules)
//   run     POST /api/v1/runs (enqueue a replay)
//   review  POST /api/v1/reviews/{id}/decisions
//   admin   /api/v1/tokens (list, create, revoke)
enum class Scope { kRead, kRun, kReview, kAdmin };

inline constexpr Scope kAllScopes[] = {Scope::kRead, Scope::kRun, Scope::kReview, Scope::kAdmin};

// "read", "run", "review", "admin".
const char* ScopeName(Scope scope);
std::optional<Scope> ParseScope(std::string_view name);

// Parses a comma-separated list ("read,run"); duplicates are dropped.
// kInvalidInput for an empty list or an unknown scope.
Result<std::vector<Scope>> ParseScopeList(std::string_view csv);

struct ApiToken {
  long long id = 0;
  std::string name;
  std::vector<Scope> scopes;
  std::string created_by;
  std::string created_at;    // UTC ISO
  std::string revoked_at;    // empty while active
  std::string last_used_at;  // empty when never used; updated at most once a minute

  bool Has(Scope scope) const;
};

// The JSON form (never contains the secret or its hash).
nlohmann::json TokenToJson(const ApiToken& token);

struct NewToken {
  ApiToken token;
  std::string secret;  // "dwt_" + 64 hex digits; not stored anywhere
};

// Lower-case hex sha256 of a secret, as stored.
std::string TokenHash(std::string_view secret);

// Creates a token with a fresh 256-bit secret and appends a "token.create"
// audit event by `actor`, in one transaction. `name` follows the principal
// rules (governance::ValidatePrincipal).
Result<NewToken> CreateToken(store::Database& db, const std::string& name, const std::vector<Scope>& scopes,
                             const std::string& actor);

// Tokens by name; revoked ones only when asked.
Result<std::vector<ApiToken>> ListTokens(store::Database& db, bool include_revoked);

// Revokes the active token named `name` (case-insensitive) with a
// "token.revoke" audit event by `actor`.
Status RevokeToken(store::Database& db, const std::string& name, const std::string& actor);

// The active token whose secret is `secret`. Malformed, unknown and revoked
// secrets all fail the same way (kPermissionDenied), so callers learn
// nothing about which tokens exist.
Result<ApiToken> Authenticate(store::Database& db, std::string_view secret);

}  // namespace dw::server
