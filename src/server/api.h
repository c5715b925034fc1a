// The HTTP JSON API of `driftwatch serve`, independent of the transport:
// Handle() maps one request to one reply. Served by HttpServer.
//
// Unauthenticated:  GET /healthz, GET /readyz, GET /metrics
// Bearer token with the scope in brackets (server/tokens.h):
//   GET    /api/v1/goldensets                      [read]
//   GET    /api/v1/goldensets/{name}               [read]   its versions
//   GET    /api/v1/runs?goldenset=&target=&limit=  [read]
//   GET    /api/v1/runs/{id}                       [read]
//   GET    /api/v1/runs/{id}/report?results=N      [read]   run, summary, comparison, results
//   POST   /api/v1/runs                            [run]    {"goldenset","target","repeat"?,"priority"?} → job
//   GET    /api/v1/comparisons?run=&limit=         [read]
//   GET    /api/v1/comparisons/{id}                [read]
//   GET    /api/v1/reviews?status=&target=&environment=&limit=  [read]
//   GET    /api/v1/reviews/{id}                    [read]
//   POST   /api/v1/reviews/{id}/decisions          [review]
//   {"decision","evidence_sha256","reason"?,"waiver_expires_at"?} GET    /api/v1/jobs?state=&schedule=&target=&limit=
//   [read] GET    /api/v1/jobs/{id}                       [read] GET    /api/v1/schedules                       [read]
//   with next fire times GET    /api/v1/tokens?revoked=true             [admin] POST   /api/v1/tokens [admin]
//   {"name","scopes":[...]} → secret, shown once DELETE /api/v1/tokens/{name}                   [admin]
//
// Every write is audited with the token's name as the actor (and is the
// reviewer principal for decisions). Errors are JSON
// {"error":{"status","code","message"}}: 400 malformed request or JSON,
// unknown field or query parameter; 401 missing or invalid token (with
// WWW-Authenticate); 403 missing scope; 404; 405 (with Allow); 409 conflict;
// 415 a POST body that is not application/json; 429 over the rate limit
// (with Retry-After); 503 database unavailable. Request size limits are the
// transport's (http_server.h).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "server/db_pool.h"
#include "server/http_server.h"
#include "server/rate_limiter.h"
#include "server/tokens.h"

namespace dw::server {

struct ApiOptions {
  // Requests per second (and burst) allowed per token.
  double rate_per_second = 20;
  double burst = 40;
  // Failed authentications per second (and burst) allowed per client
  // address; above it requests get 429 before any token lookup.
  double auth_failures_per_second = 1;
  double auth_failure_burst = 10;
  int database_connections = 4;
};

// What the API needs from the service around it. Each may be empty.
struct ApiHooks {
  // The configuration in force (targets for POST /runs, schedules).
  std::function<std::shared_ptr<const config::Config>()> config;
  // The body of GET /metrics.
  std::function<std::string()> metrics_text;
  // Reasons the service is not ready besides the database (e.g. draining);
  // empty when ready.
  std::function<std::vector<std::string>()> not_ready;
  // Extra facts for /readyz (e.g. the last config reload error).
  std::function<nlohmann::json()> status;
  // Called after a job was enqueued (wake idle workers).
  std::function<void()> job_enqueued;
};

// Thread-safe: Handle() may run on many threads at once.
class Api {
 public:
  Api(const std::string& database_url, ApiOptions options, ApiHooks hooks);

  // Never throws; internal failures become 500 replies.
  HttpReply Handle(const HttpRequestData& request);

  // driftwatch_http_requests_total{route,code} and
  // driftwatch_http_request_duration_seconds, in the text format.
  std::string MetricsText() const;

  // A handler for HttpServer bound to this Api (which must outlive it).
  HttpHandler handler();

 private:
  struct RouteTable;
  void BuildRoutes();
  HttpReply Dispatch(const HttpRequestData& request, std::string& route_label);
  // Runs `fn` on a pooled connection; its JSON with `status`, or the error's reply.
  HttpReply WithDb(const std::function<Result<nlohmann::json>(store::Database&)>& fn, int status = 200);
  void Record(const std::string& route, int status, double seconds);

  DatabasePool pool_;
  ApiOptions options_;
  ApiHooks hooks_;
  RateLimiter per_token_;
  RateLimiter auth_failures_;
  std::shared_ptr<const RouteTable> routes_;

  static constexpr std::array<double, 10> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5};
  mutable std::mutex metrics_mu_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::array<std::uint64_t, kBuckets.size() + 1> latency_counts_{};
  double latency_sum_ = 0;
};

}  // namespace dw::server
