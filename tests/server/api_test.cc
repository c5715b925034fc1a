#include "server/api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/hash.h"
#include "governance/review.h"
#include "http_test_client.h"
#include "server_fixture.h"
#include "support/test_database.h"

namespace dw::server {
namespace {

using ::testing::HasSubstr;
using testing::Request;
using testing::SendRaw;

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = tdb_.Connect();
    ASSERT_TRUE(db_);
    version_id_ = testing::PublishGoldenSet(*db_, "faq", 3);
    run_id_ = testing::CreateFinishedRun(*db_, version_id_, "sim", "carol");
    for (Scope s : kAllScopes) tokens_[ScopeName(s)] = testing::MustCreateToken(*db_, ScopeName(s), {s});
    server_ = std::make_unique<testing::ApiServer>(tdb_);
  }

  long long Count(const std::string& sql) { return std::stoll(tdb_.Query(sql)); }

  dw::testing::TestDatabase tdb_;
  std::unique_ptr<store::Database> db_;
  long long version_id_ = 0;
  std::string run_id_;
  std::map<std::string, std::string> tokens_;
  std::unique_ptr<testing::ApiServer> server_;
};

TEST_F(ApiTest, QueryOrPathThatIsNotUtf8TextIs400NotADatabaseError) {
  for (const std::string target :
       {"/api/v1/jobs?state=%90", "/api/v1/runs?goldenset=a%00b", "/api/v1/goldensets/%ff"}) {
    auto r = Request(server_->port(), "GET", target, tokens_["read"]);
    EXPECT_EQ(r.status, 400) << target << ": " << r.body;
    EXPECT_THAT(r.body, HasSubstr("must be UTF-8 text without NUL characters")) << target;
  }
}

TEST_F(ApiTest, JsonStringWithANulCharacterIs400NotADatabaseError) {
  auto r = Request(server_->port(), "POST", "/api/v1/tokens", tokens_["admin"],
                   R"({"name":"a\u0000b","scopes":["read"]})", "application/json");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("'name' must not contain NUL characters"));
}

TEST_F(ApiTest, DeeplyNestedJsonBodyIs400NotACrash) {
  const std::string deep = std::string(300000, '[') + std::string(300000, ']');
  auto r = Request(server_->port(), "POST", "/api/v1/runs", tokens_["run"], deep, "application/json");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("nested deeper than 512 levels"));
}

struct Endpoint {
  std::string method;
  std::string target;
  std::string body;
  Scope scope;
  int allowed_status;
};

TEST_F(ApiTest, EachScopeAllowsExactlyItsEndpoints) {
  int created_tokens = 0;
  auto endpoints = [&](const std::string& caller) {
    // Fresh names per caller, so every allowed write can succeed.
    const std::string victim = "victim-" + caller;
    testing::MustCreateToken(*db_, victim, {Scope::kRead});
    ++created_tokens;
    return std::vector<Endpoint>{
        {"GET", "/api/v1/goldensets", "", Scope::kRead, 200},
        {"GET", "/api/v1/goldensets/faq", "", Scope::kRead, 200},
        {"GET", "/api/v1/runs", "", Scope::kRead, 200},
        {"GET", "/api/v1/runs/" + run_id_, "", Scope::kRead, 200},
        {"GET", "/api/v1/runs/" + run_id_ + "/report", "", Scope::kRead, 200},
        {"GET", "/api/v1/comparisons", "", Scope::kRead, 200},
        {"GET", "/api/v1/reviews", "", Scope::kRead, 200},
        {"GET", "/api/v1/jobs", "", Scope::kRead, 200},
        {"GET", "/api/v1/schedules", "", Scope::kRead, 200},
        {"POST", "/api/v1/runs", R"({"goldenset":"faq","target":"sim"})", Scope::kRun, 202},
        {"POST", "/api/v1/reviews/00000000-0000-4000-8000-000000000000/decisions",
         R"({"decision":"approve","evidence_sha256":")" + std::string(64, 'a') + "\"}", Scope::kReview, 404},
        {"GET", "/api/v1/tokens", "", Scope::kAdmin, 200},
        {"POST", "/api/v1/tokens", R"({"name":"made-by-)" + caller + R"(","scopes":["read"]})", Scope::kAdmin, 201},
        {"DELETE", "/api/v1/tokens/" + victim, "", Scope::kAdmin, 200},
    };
  };
  for (Scope caller : kAllScopes) {
    const std::string name = ScopeName(caller);
    for (const auto& e : endpoints(name)) {
      auto r = Request(server_->port(), e.method, e.target, tokens_[name], e.body);
      if (e.scope == caller) {
        EXPECT_EQ(r.status, e.allowed_status) << name << " " << e.method << " " << e.target << ": " << r.body;
      } else {
        EXPECT_EQ(r.status, 403) << name << " " << e.method << " " << e.target << ": " << r.body;
        EXPECT_EQ(r.error_code(), "insufficient_scope");
        EXPECT_THAT(r.headers["www-authenticate"], HasSubstr(std::string("scope=\"") + ScopeName(e.scope)));
      }
    }
  }
  // Only the permitted writes happened.
  EXPECT_EQ(Count("SELECT count(*) FROM ops.job"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM ops.api_token WHERE name LIKE 'made-by-%'"), 1);
  EXPECT_EQ(tdb_.Query("SELECT name FROM ops.api_token WHERE revoked_at IS NOT NULL"), "victim-admin");
  EXPECT_EQ(created_tokens, 4);
}

TEST_F(ApiTest, ATokenWithSeveralScopesMayUseEach) {
  std::string both = testing::MustCreateToken(*db_, "ops-bot", {Scope::kRead, Scope::kRun});
  EXPECT_EQ(Request(server_->port(), "GET", "/api/v1/jobs", both).status, 200);
  EXPECT_EQ(Request(server_->port(), "POST", "/api/v1/runs", both, R"({"goldenset":"faq","target":"sim"})").status,
            202);
  EXPECT_EQ(Request(server_->port(), "GET", "/api/v1/tokens", both).status, 403);
}

TEST_F(ApiTest, RequestsWithoutATokenAreRefusedWithAChallenge) {
  for (const char* target : {"/api/v1/goldensets", "/api/v1/runs", "/api/v1/tokens"}) {
    auto r = Request(server_->port(), "GET", target);
    EXPECT_EQ(r.status, 401) << target;
    EXPECT_EQ(r.error_code(), "unauthenticated");
    EXPECT_THAT(r.headers["www-authenticate"], HasSubstr("Bearer realm=\"driftwatch\""));
  }
  auto post = Request(server_->port(), "POST", "/api/v1/runs", "", R"({"goldenset":"faq","target":"sim"})");
  EXPECT_EQ(post.status, 401);
  EXPECT_EQ(Count("SELECT count(*) FROM ops.job"), 0);
}

TEST_F(ApiTest, UnknownTokensAreRefused) {
  auto r = Request(server_->port(), "GET", "/api/v1/runs", "dwt_" + std::string(64, '0'));
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.headers["www-authenticate"], HasSubstr("error=\"invalid_token\""));
}

TEST_F(ApiTest, RevokedTokensAreRefused) {
  ASSERT_TRUE(RevokeToken(*db_, "read", "tester"));
  EXPECT_EQ(Request(server_->port(), "GET", "/api/v1/runs", tokens_["read"]).status, 401);
}

TEST_F(ApiTest, AnAuthorizationHeaderThatIsNotBearerIsRefused) {
  auto r = SendRaw(server_->port(),
                   "GET /api/v1/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dXNlcjpwdw==\r\n"
                   "Connection: close\r\n\r\n");
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.headers["www-authenticate"], HasSubstr("error=\"invalid_request\""));
}

TEST_F(ApiTest, ProbesAndMetricsNeedNoToken) {
  EXPECT_EQ(Request(server_->port(), "GET", "/healthz").status, 200);
  auto ready = Request(server_->port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(ready.json()["checks"]["migrations"], "ok");
  auto metrics = Request(server_->port(), "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.headers["content-type"], HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(metrics.body, HasSubstr("test_metric 1"));
  EXPECT_THAT(metrics.body, HasSubstr("driftwatch_http_requests_total{code=\"200\",route=\"/healthz\"} 1"));
}

TEST_F(ApiTest, ReadinessFailsWhenTheSchemaIsBehind) {
  ASSERT_EQ(tdb_.Exec("DELETE FROM ops.schema_migration WHERE version = (SELECT max(version) FROM "
                      "ops.schema_migration)"),
            "");
  auto ready = Request(server_->port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.json()["status"], "not_ready");
}

TEST_F(ApiTest, TriggeringARunEnqueuesAPinnedJobAuditedUnderTheTokenName) {
  auto r = Request(server_->port(), "POST", "/api/v1/runs", tokens_["run"],
                   R"({"goldenset":"faq","target":"sim","repeat":3})");
  ASSERT_EQ(r.status, 202) << r.body;
  auto job = r.json()["job"];
  EXPECT_EQ(job["goldenset"], "faq@1");
  EXPECT_EQ(job["repeats"], 3);
  EXPECT_EQ(job["state"], "queued");
  EXPECT_EQ(job["requested_by"], "run");
  EXPECT_EQ(tdb_.Query("SELECT actor || ' ' || action FROM audit.event WHERE object_type = 'job'"), "run job.enqueue");
}

TEST_F(ApiTest, TriggeringARunForAnUnknownTargetOrGoldenSetIsRefused) {
  auto target =
      Request(server_->port(), "POST", "/api/v1/runs", tokens_["run"], R"({"goldenset":"faq","target":"gpt-9"})");
  EXPECT_EQ(target.status, 400);
  EXPECT_THAT(target.body, HasSubstr("unknown target 'gpt-9'"));
  auto set = Request(server_->port(), "POST", "/api/v1/runs", tokens_["run"], R"({"goldenset":"nope","target":"sim"})");
  EXPECT_EQ(set.status, 404);
  EXPECT_EQ(Count("SELECT count(*) FROM ops.job"), 0);
}

TEST_F(ApiTest, MalformedBodiesGetJsonErrors) {
  const int port = server_->port();
  const std::string& t = tokens_["run"];
  struct Case {
    std::string body;
    std::string content_type;
    int status;
    std::string message;
  };
  const Case cases[] = {
      {"{not json", "application/json", 400, "not valid JSON"},
      {"[1,2]", "application/json", 400, "must be a JSON object"},
      {R"({"goldenset":"faq","target":"sim","colour":"red"})", "application/json", 400, "unknown field 'colour'"},
      {R"({"goldenset":7,"target":"sim"})", "application/json", 400, "'goldenset' must be a string"},
      {R"({"target":"sim"})", "application/json", 400, "missing field 'goldenset'"},
      {R"({"goldenset":"faq","target":"sim","repeat":0})", "application/json", 400, "'repeat' must be between"},
      {R"({"goldenset":"faq@x","target":"sim"})", "application/json", 400, "NAME or NAME@VERSION"},
      {R"({"goldenset":"faq","target":"sim"})", "text/plain", 415, "application/json"},
  };
  for (const auto& c : cases) {
    auto r = Request(port, "POST", "/api/v1/runs", t, c.body, c.content_type);
    EXPECT_EQ(r.status, c.status) << c.body;
    EXPECT_THAT(r.body, HasSubstr(c.message)) << c.body;
    EXPECT_TRUE(r.json().contains("error")) << r.body;
  }
  EXPECT_EQ(Count("SELECT count(*) FROM ops.job"), 0);
}

TEST_F(ApiTest, MalformedTargetsAndParametersGetJsonErrors) {
  const int port = server_->port();
  const std::string& t = tokens_["read"];
  EXPECT_EQ(Request(port, "GET", "/api/v1/runs?limit=0", t).status, 400);
  EXPECT_EQ(Request(port, "GET", "/api/v1/runs?limit=abc", t).status, 400);
  EXPECT_EQ(Request(port, "GET", "/api/v1/runs?colour=red", t).status, 400);
  EXPECT_EQ(Request(port, "GET", "/api/v1/runs?limit=1&limit=2", t).status, 400);
  EXPECT_EQ(Request(port, "GET", "/api/v1/runs/not-a-run", t).status, 400);
  EXPECT_EQ(Request(port, "GET", "/api/v1/jobs/12x", t).status, 400);
  EXPECT_EQ(Request(port, "GET", "/api/v1/goldensets/%zz", t).status, 400);
  auto missing = Request(port, "GET", "/api/v1/runs/0123456789abcdef", t);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.error_code(), "not_found");
}

TEST_F(ApiTest, UnknownRoutesAndMethodsAreRefused) {
  auto unknown = Request(server_->port(), "GET", "/api/v2/everything", tokens_["read"]);
  EXPECT_EQ(unknown.status, 404);
  auto method = Request(server_->port(), "PUT", "/api/v1/runs", tokens_["read"], "{}");
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(method.headers["allow"], "GET, POST");
  EXPECT_EQ(Request(server_->port(), "POST", "/healthz", "", "{}").status, 405);
}

TEST_F(ApiTest, OversizedBodiesAndHeadersAreRefused) {
  HttpServerOptions small;
  small.max_body_bytes = 1024;
  small.max_header_bytes = 2048;
  testing::ApiServer limited(tdb_, ApiOptions{}, small);
  auto body = Request(limited.port(), "POST", "/api/v1/runs", tokens_["run"], std::string(4096, ' '));
  EXPECT_EQ(body.status, 413);
  EXPECT_EQ(body.error_code(), "payload_too_large");
  auto headers = SendRaw(limited.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') +
                                             "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(headers.status, 431);
  EXPECT_EQ(Count("SELECT count(*) FROM ops.job"), 0);
}

TEST_F(ApiTest, GarbageOnTheWireGetsABadRequestAndTheServerCarriesOn) {
  for (const std::string& junk :
       {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), std::string("GET /healthz HTTX/1.1\r\n\r\n"),
        std::string("NOT HTTP AT ALL\r\n\r\n"), std::string("GET /healthz HTTP/1.1\r\nContent-Length: -5\r\n\r\n")}) {
    auto r = SendRaw(server_->port(), junk);
    EXPECT_EQ(r.status, 400) << junk;
  }
  EXPECT_EQ(Request(server_->port(), "GET", "/healthz").status, 200);
}

TEST_F(ApiTest, PerTokenRateLimitsAnswerTooManyRequests) {
  ApiOptions options;
  options.rate_per_second = 0.5;
  options.burst = 3;
  testing::ApiServer limited(tdb_, options);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Request(limited.port(), "GET", "/api/v1/jobs", tokens_["read"]).status, 200);
  auto r = Request(limited.port(), "GET", "/api/v1/jobs", tokens_["read"]);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.error_code(), "rate_limited");
  EXPECT_EQ(r.headers["retry-after"], "2");
  EXPECT_EQ(Request(limited.port(), "GET", "/api/v1/jobs", tokens_["admin"]).status, 403);
}

TEST_F(ApiTest, RepeatedBadTokensFromOneAddressAreThrottled) {
  ApiOptions options;
  options.auth_failures_per_second = 0.1;
  options.auth_failure_burst = 3;
  testing::ApiServer limited(tdb_, options);
  const std::string bad = "dwt_" + std::string(64, '1');
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Request(limited.port(), "GET", "/api/v1/jobs", bad).status, 401);
  EXPECT_EQ(Request(limited.port(), "GET", "/api/v1/jobs", bad).status, 429);
  EXPECT_EQ(Request(limited.port(), "GET", "/api/v1/jobs", tokens_["read"]).status, 429);
}

TEST_F(ApiTest, AReportCarriesTheRunItsResultsAndComparison) {
  auto r =
      Request(server_->port(), "GET", "/api/v1/runs/" + run_id_.substr(0, 8) + "/report?results=2", tokens_["read"]);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json();
  EXPECT_EQ(j["run"]["id"], run_id_);
  EXPECT_EQ(j["run"]["status"], "done");
  EXPECT_EQ(j["results_total"], 3);
  EXPECT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["outcomes"]["pass"], 3);
  EXPECT_TRUE(j["comparison"].is_null());
}

TEST_F(ApiTest, ListsGoldenSetsRunsAndSchedules) {
  auto sets = Request(server_->port(), "GET", "/api/v1/goldensets", tokens_["read"]).json();
  ASSERT_EQ(sets["goldensets"].size(), 1u);
  EXPECT_EQ(sets["goldensets"][0]["name"], "faq");
  auto runs = Request(server_->port(), "GET", "/api/v1/runs?goldenset=faq&limit=5", tokens_["read"]).json();
  ASSERT_EQ(runs["runs"].size(), 1u);
  EXPECT_EQ(runs["runs"][0]["id"], run_id_);
  auto schedules = Request(server_->port(), "GET", "/api/v1/schedules", tokens_["read"]).json();
  ASSERT_EQ(schedules["schedules"].size(), 1u);
  EXPECT_EQ(schedules["schedules"][0]["next_fires"].size(), 3u);
}

TEST_F(ApiTest, AReviewerTokenDecidesAsItsNamedPrincipal) {
  governance::ReviewRequest request;
  request.requested_by = "carol";
  request.golden_set = "faq";
  request.golden_set_version = 1;
  request.target = "sim";
  request.target_version = std::string(64, 'c');
  request.run_id = run_id_;
  request.environment = "staging";
  request.tool_build = "test";
  auto review = governance::RequestReview(*db_, request);
  ASSERT_TRUE(review) << review.error().message;
  std::string bob = testing::MustCreateToken(*db_, "bob", {Scope::kReview});
  auto r = Request(server_->port(), "POST", "/api/v1/reviews/" + review->id + "/decisions", bob,
                   R"({"decision":"approve","evidence_sha256":")" + review->evidence_sha256 + "\"}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["review"]["status"], "approved");
  EXPECT_EQ(tdb_.Query("SELECT actor FROM audit.event WHERE action = 'review.approve'"), "bob");
  std::string carol = testing::MustCreateToken(*db_, "carol", {Scope::kReview});
  auto self = Request(server_->port(), "POST", "/api/v1/reviews/" + review->id + "/decisions", carol,
                      R"({"decision":"approve","evidence_sha256":")" + review->evidence_sha256 + "\"}");
  EXPECT_EQ(self.status, 409) << self.body;
}

TEST_F(ApiTest, WaiverExpiryOutsideRealDatesFrom1970To2200Is400) {
  const std::string reviewer = testing::MustCreateToken(*db_, "bob", {Scope::kReview});
  for (const std::string expiry : {"4060-01-01T00:00:00Z", "2030-02-31T00:00:00Z", "2030-01-01T24:00:00Z"}) {
    auto r =
        Request(server_->port(), "POST", "/api/v1/reviews/00000000-0000-4000-8000-000000000000/decisions", reviewer,
                R"({"decision":"waive","evidence_sha256":")" + std::string(64, 'a') +
                    R"(","reason":"r","waiver_expires_at":")" + expiry + "\"}");
    EXPECT_EQ(r.status, 400) << expiry << ": " << r.body;
    EXPECT_THAT(r.body, HasSubstr("'waiver_expires_at' must be a UTC time YYYY-MM-DDTHH:MM:SSZ from 1970 to 2200"))
        << expiry;
  }
}

TEST_F(ApiTest, AdminTokensCreateTokensWhoseSecretIsStoredOnlyAsAHash) {
  auto r =
      Request(server_->port(), "POST", "/api/v1/tokens", tokens_["admin"], R"({"name":"grafana","scopes":["read"]})");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string secret = r.json()["secret"];
  EXPECT_THAT(secret, ::testing::MatchesRegex("dwt_[0-9a-f]{64}"));
  EXPECT_EQ(tdb_.Query("SELECT token_sha256 FROM ops.api_token WHERE name = 'grafana'"), Sha256Hex(secret));
  EXPECT_EQ(Count("SELECT count(*) FROM ops.api_token t WHERE t::text LIKE '%" + secret.substr(4) + "%'"), 0);
  EXPECT_EQ(tdb_.Query("SELECT actor || ' ' || action FROM audit.event WHERE object_id = 'grafana'"),
            "admin token.create");
  EXPECT_EQ(Request(server_->port(), "GET", "/api/v1/jobs", secret).status, 200);
  auto list = Request(server_->port(), "GET", "/api/v1/tokens", tokens_["admin"]);
  EXPECT_THAT(list.body, ::testing::Not(HasSubstr(secret)));
}

}  // namespace
}  // namespace dw::server
