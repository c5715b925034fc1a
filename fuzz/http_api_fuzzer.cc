// Raw bytes from a hostile HTTP client, read the way `driftwatch serve`
// reads a connection (ParseHttpRequest) and handled by the real API over a
// real PostgreSQL (an embedded cluster under $DRIFTWATCH_FUZZ_PG_DIR, by
// default <build>/fuzz-pg, with a fresh database per fuzzing process).
//
// The literal "@TOKEN@" in an input is replaced by the secret of a token
// with every scope, so inputs reach the handlers behind authentication.
// Without PostgreSQL the target still runs, with every database call failing
// (503).
//
// Invariants: every request gets a JSON reply with a documented status
// (never 500), error bodies repeat the status, and no reply header carries
// CR or LF.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>

#include "config/loader.h"
#include "fuzz_check.h"
#include "server/api.h"
#include "server/http_server.h"
#include "server/tokens.h"
#include "store/database.h"
#include "store/embedded_postgres.h"
#include "store/goldenset_repo.h"
#include "store/migrations.h"
#include "store/run_repo.h"

namespace {

using namespace dw;

constexpr const char* kDatabase = "dw_fuzz_api";
constexpr const char* kRunId = "00000000-0000-4000-8000-00000000f022";

constexpr const char* kConfig = R"(targets:
  sim: {provider: sim, prompt: "{{question}}"}
schedules:
  nightly: {cron: "0 3 * * *", timezone: Europe/Paris, goldenset: faq, targets: [sim]}
)";

struct Fixture {
  std::string pg_dir;
  std::string url = "host=/nonexistent-driftwatch-fuzz dbname=none connect_timeout=1";
  std::string secret = "dwt_no_database";
  int token_generation = 0;
  std::shared_ptr<const config::Config> config;
  std::unique_ptr<server::Api> api;
};

Fixture* fixture = nullptr;

void Die(const std::string& what) {
  std::fprintf(stderr, "http_api fuzzer set-up: %s\n", what.c_str());
  std::exit(1);
}

void StopCluster() {
  if (fixture && !fixture->pg_dir.empty()) (void)store::StopEmbeddedCluster(fixture->pg_dir);
}

// A fresh token with every scope (the fuzzer may revoke the current one).
void NewToken() {
  auto db = store::Database::Connect(fixture->url);
  if (!db) return;
  auto token = server::CreateToken(
      **db, "fuzz-admin-" + std::to_string(++fixture->token_generation),
      std::vector<server::Scope>(std::begin(server::kAllScopes), std::end(server::kAllScopes)), "fuzz");
  if (!token) Die("cannot create a token: " + token.error().message);
  fixture->secret = token->secret;
}

// A golden set "faq" and a finished run kRunId of it, so reads find rows.
void Seed(store::Database& db) {
  store::PublishRequest request;
  request.set.name = "faq";
  for (int i = 0; i < 3; ++i) {
    GoldenCase c;
    c.id = "c" + std::to_string(i);
    c.vars = {{"question", "q" + std::to_string(i)}, {"expected", "a" + std::to_string(i)}};
    c.asserts = nlohmann::json::array({{{"type", "contains"}, {"value", "a" + std::to_string(i)}}});
    request.set.cases.push_back(c);
  }
  request.source_format = "native";
  request.source_file = "faq.yaml";
  request.published_by = "fuzz";
  auto published = store::PublishGoldenSet(db, request);
  if (!published) Die("cannot publish: " + published.error().message);
  store::RunSpec spec;
  spec.run_id = kRunId;
  spec.golden_set_version_id = published->id;
  spec.target_name = "sim";
  spec.target_version_hash = std::string(64, 'c');
  spec.target_provider = "sim";
  spec.target_spec = {{"name", "sim"}};
  spec.scorer_name = "fuzz";
  spec.scorer_spec = {{"engine", "fuzz"}};
  spec.requested_by = "fuzz";
  spec.runner_build = "fuzz";
  spec.runner_host = "fuzz";
  auto run = store::CreateRun(db, spec);
  if (!run) Die("cannot create a run: " + run.error().message);
  if (auto s = store::FinishRun(db, run->id, "done", {{"pass_rate", 1.0}}, "", "fuzz"); !s)
    Die("cannot finish the run: " + s.error().message);
}

void SetUpDatabase() {
  const char* dir = std::getenv("DRIFTWATCH_FUZZ_PG_DIR");
  fixture->pg_dir = dir && *dir ? dir : DRIFTWATCH_BINARY_DIR "/fuzz-pg";
  auto cluster = store::EnsureEmbeddedCluster(fixture->pg_dir, "postgres");
  if (!cluster) {
    std::fprintf(stderr, "http_api fuzzer: no PostgreSQL (%s); every database call will fail\n",
                 cluster.error().message.c_str());
    fixture->pg_dir.clear();
    return;
  }
  std::atexit(StopCluster);
  const std::string server = cluster->url.substr(0, cluster->url.find(" dbname="));
  {
    auto admin = store::Database::Connect(server + " dbname=postgres");
    if (!admin) Die(admin.error().message);
    // A throwaway database needs no durability.
    for (const std::string sql : {std::string("DROP DATABASE IF EXISTS ") + kDatabase + " WITH (FORCE)",
                                  std::string("CREATE DATABASE ") + kDatabase,
                                  std::string("ALTER DATABASE ") + kDatabase + " SET synchronous_commit = off"})
      if (auto s = (*admin)->ExecuteNonTransactional(sql); !s) Die(s.error().message);
  }
  fixture->url = server + " dbname=" + kDatabase;
  auto db = store::Database::Connect(fixture->url);
  if (!db) Die(db.error().message);
  if (auto migrated = store::Migrate(**db); !migrated) Die(migrated.error().message);
  Seed(**db);
  NewToken();
}

bool DocumentedStatus(int status) {
  static const std::set<int> kStatuses = {200, 201, 202, 400, 401, 403, 404, 405, 409, 413, 415, 429, 431, 503};
  return kStatuses.count(status) == 1;
}

void CheckReply(const server::HttpReply& reply, const std::string& what) {
  DW_FUZZ_CHECK(DocumentedStatus(reply.status),
                "status " + std::to_string(reply.status) + " for " + what + "\nreply: " + reply.body);
  for (const auto& [name, value] : reply.headers)
    DW_FUZZ_CHECK((name + value).find_first_of("\r\n") == std::string::npos, "CR/LF in header " + name);
  if (reply.content_type != "application/json") return;
  const auto body = nlohmann::json::parse(reply.body, nullptr, false);
  DW_FUZZ_CHECK(!body.is_discarded(), "reply is not JSON: " + reply.body);
  if (reply.status >= 400) {
    DW_FUZZ_CHECK(body.contains("error") && body["error"].value("status", 0) == reply.status,
                  "error body does not repeat status " + std::to_string(reply.status) + ": " + reply.body);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fixture = new Fixture();
  SetUpDatabase();
  auto config = config::ParseConfig(kConfig, "fuzz.yaml");
  if (!config) Die(config.error().message);
  fixture->config = std::make_shared<const config::Config>(std::move(*config));
  server::ApiOptions options;
  options.rate_per_second = 0;  // no limits: inputs must not depend on timing
  options.auth_failures_per_second = 0;
  options.database_connections = 1;
  server::ApiHooks hooks;
  hooks.config = [] { return fixture->config; };
  hooks.metrics_text = [] { return std::string("# TYPE fuzz_metric gauge\nfuzz_metric 1\n"); };
  fixture->api = std::make_unique<server::Api>(fixture->url, options, std::move(hooks));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  const bool authenticated = bytes.find("@TOKEN@") != std::string::npos;
  for (size_t at = bytes.find("@TOKEN@"); at != std::string::npos; at = bytes.find("@TOKEN@", at))
    bytes.replace(at, 7, fixture->secret);

  server::HttpServerOptions limits;
  limits.max_header_bytes = 4096;
  limits.max_body_bytes = 16384;
  const server::ParsedHttpRequest parsed = server::ParseHttpRequest(bytes, limits);
  if (!parsed.request) {
    DW_FUZZ_CHECK(parsed.error.status == 400 || parsed.error.status == 413 || parsed.error.status == 431,
                  "refused with status " + std::to_string(parsed.error.status));
    CheckReply(parsed.error, "unparseable request");
    return 0;
  }
  server::HttpRequestData request = *parsed.request;
  request.remote_address = "127.0.0.1";
  const server::HttpReply reply = fixture->api->Handle(request);
  CheckReply(reply, request.method + " " + request.target);
  // The input revoked the token it authenticated with: make another.
  if (authenticated && reply.status == 401 && !fixture->pg_dir.empty() &&
      reply.body.find("revoked") != std::string::npos)
    NewToken();
  return 0;
}
