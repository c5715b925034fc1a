// Shared set-up for the server tests: golden sets, runs and tokens in a test
// database, and a running Api behind an HttpServer on loopback.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "server/api.h"
#include "server/http_server.h"
#include "server/tokens.h"
#include "store/database.h"
#include "support/test_database.h"

namespace dw::server::testing {

// Publishes golden set `name` with `cases` cases whose answer var is
// "expected" and returns its version id.
long long PublishGoldenSet(store::Database& db, const std::string& name, int cases);

// Creates a finished run of `version_id` for `target` with one passing
// result per case and returns its id.
std::string CreateFinishedRun(store::Database& db, long long version_id, const std::string& target,
                              const std::string& requested_by);

// Creates a token; fails the test on error and returns its secret.
std::string MustCreateToken(store::Database& db, const std::string& name, const std::vector<Scope>& scopes);

// A config with one `sim` target named "sim" and one schedule "nightly".
config::Config SimConfig();

// An Api over `tdb` served on 127.0.0.1 with an ephemeral port.
class ApiServer {
 public:
  ApiServer(const dw::testing::TestDatabase& tdb, ApiOptions options = {}, HttpServerOptions http = {});
  int port() const { return static_cast<int>(http_->port()); }
  Api& api() { return *api_; }

 private:
  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace dw::server::testing
