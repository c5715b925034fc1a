// End to end: `driftwatch run` (the real binary, real PostgreSQL) against a
// model server that meets each case of the golden set with a different
// fault. One run serves every test of the suite; each test checks one
// property of it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "reliability/reliability_support.h"
#include "support/cli_process.h"
#include "support/fault_server.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw::testing {
namespace {

using ::testing::HasSubstr;

constexpr int kRepeats = 2;
constexpr int kMaxAttempts = 3;

// One case of the golden set: the fault its marker triggers, and what the
// stored result must be.
struct FaultCase {
  std::string id;
  FaultRule rule;
  std::string outcome;
  int attempts;  // per result; 0 when the count varies (transient faults)
  bool retried;  // the provider retried it: the server sees more than one request per result
};

std::vector<FaultCase> FaultCases() {
  auto rule = [](Fault fault, auto&&... adjust) {
    FaultRule r;
    r.fault = fault;
    (adjust(r), ...);
    return r;
  };
  auto status = [](int s) { return [s](FaultRule& r) { r.status = s; }; };
  auto times = [](int n) { return [n](FaultRule& r) { r.times = n; }; };
  return {
      {"server-error", rule(Fault::kServerError), "provider_error", kMaxAttempts, true},
      // Two 503s over the two repeats' calls: each still ends with an answer.
      {"server-error-transient", rule(Fault::kServerError, status(503), times(kRepeats)), "pass", 0, true},
      {"rate-limited", rule(Fault::kRateLimited), "rate_limited", kMaxAttempts, true},
      {"rate-limited-retry-after", rule(Fault::kRateLimitedRetryAfter, times(kRepeats)), "pass", 0, true},
      {"hang", rule(Fault::kHang, [](FaultRule& r) { r.delay = std::chrono::milliseconds(3000); }), "timeout",
       kMaxAttempts, true},
      {"reset", rule(Fault::kReset), "transport_error", kMaxAttempts, true},
      {"cut-off", rule(Fault::kCutOff), "transport_error", kMaxAttempts, true},
      {"truncated-json", rule(Fault::kTruncatedJson), "provider_error", 1, false},
      {"invalid-json", rule(Fault::kInvalidJson), "provider_error", 1, false},
      {"invalid-utf8-answer", rule(Fault::kInvalidUtf8, status(200)), "provider_error", 1, false},
      {"invalid-utf8-error", rule(Fault::kInvalidUtf8, status(500)), "provider_error", kMaxAttempts, true},
      {"huge-body", rule(Fault::kHugeBody), "provider_error", 1, false},
      {"slow-drip", rule(Fault::kSlowDrip), "timeout", kMaxAttempts, true},
      {"length", rule(Fault::kLengthLimit), "truncated", 1, false},
      {"empty-choices", rule(Fault::kEmptyChoices), "provider_error", 1, false},
  };
}

constexpr int kPlainCases = 4;

std::string Marker(const std::string& id) { return "[" + id + "]"; }

class FaultRunTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv(kReliabilityKeyEnv, kReliabilityKey, 1);
    std::vector<FaultRule> rules;
    std::vector<std::pair<std::string, std::string>> cases;
    for (auto& c : FaultCases()) {
      c.rule.marker = Marker(c.id);
      rules.push_back(c.rule);
      cases.emplace_back(c.id, "answer this " + Marker(c.id));
    }
    for (int i = 0; i < kPlainCases; ++i)
      cases.emplace_back("plain-" + std::to_string(i), "plain question " + std::to_string(i));
    server_ = new FaultServer(rules);
    db_ = new TestDatabase();
    dir_ = new TempDir();
    dir_->WriteFile("driftwatch.yaml", "targets:\n" + ChatTargetYaml("chat", server_->BaseUrl(),
                                                                     "    concurrency: 8\n"
                                                                     "    timeout_ms: 1000\n"
                                                                     "    retries: {max_attempts: " +
                                                                         std::to_string(kMaxAttempts) +
                                                                         ", base_delay_ms: 50, max_delay_ms: 2000}\n"));
    dir_->WriteFile("gs.yaml", GoldenSetYaml("faults", cases));
    DriftwatchCli cli(dir_->path(), db_->url());
    CliOutcome published = cli.Run({"goldenset", "publish", "gs.yaml"});
    ASSERT_EQ(published.exit_code, 0) << published.err;
    run_ = new CliOutcome(
        cli.Run({"run", "-g", "faults", "-t", "chat", "-r", std::to_string(kRepeats), "--format", "json", "-q"},
                std::chrono::seconds(90)));
    run_id_ = db_->Query("SELECT id FROM run.run");
  }

  static void TearDownTestSuite() {
    delete run_;
    delete dir_;
    delete db_;
    delete server_;
  }

  static long long Count(const std::string& where) {
    return QueryInt(*db_, "SELECT count(*) FROM run.result WHERE " + where);
  }

  static int ServedFor(const std::string& id) {
    return static_cast<int>(server_->RequestsContaining(Marker(id)).size());
  }

  static inline FaultServer* server_ = nullptr;
  static inline TestDatabase* db_ = nullptr;
  static inline TempDir* dir_ = nullptr;
  static inline CliOutcome* run_ = nullptr;
  static inline std::string run_id_;
};

const long long kResults = static_cast<long long>(FaultCases().size() + kPlainCases) * kRepeats;

TEST_F(FaultRunTest, TheProcessExitsNormallyWithSuccess) {
  ASSERT_NE(run_, nullptr);
  EXPECT_FALSE(run_->timed_out);
  EXPECT_EQ(run_->signal, 0);
  EXPECT_EQ(run_->exit_code, 0) << run_->out << run_->err;
  EXPECT_EQ(db_->Query("SELECT status FROM run.run"), "done");
}

TEST_F(FaultRunTest, EveryCaseTimesRepeatHasExactlyOneStoredResult) {
  EXPECT_EQ(Count("true"), kResults);
  EXPECT_EQ(QueryInt(*db_, "SELECT count(DISTINCT (case_id, repeat)) FROM run.result"), kResults);
  EXPECT_EQ(QueryInt(*db_,
                     "SELECT count(*) FROM (SELECT case_id FROM run.result GROUP BY case_id "
                     "HAVING count(*) <> " +
                         std::to_string(kRepeats) + ") AS uneven"),
            0);
}

TEST_F(FaultRunTest, TheReportedTotalsAddUpToTheStoredResults) {
  auto summary = nlohmann::json::parse(run_->out, nullptr, false);
  ASSERT_FALSE(summary.is_discarded()) << run_->out;
  const auto& s = summary["summary"];
  EXPECT_EQ(s["results"], kResults);
  long long by_outcome = 0;
  for (const auto& [name, n] : s["outcomes"].items()) {
    EXPECT_EQ(n.get<long long>(), Count("outcome = '" + name + "'")) << name;
    by_outcome += n.get<long long>();
  }
  EXPECT_EQ(by_outcome, kResults);
  EXPECT_EQ(s["passed"], Count("outcome = 'pass'"));
}

TEST_F(FaultRunTest, EachFaultEndsInItsFailureClass) {
  for (const auto& c : FaultCases())
    EXPECT_EQ(Count("case_id = '" + c.id + "' AND outcome = '" + c.outcome + "'"), kRepeats)
        << c.id << " should be " << c.outcome << "; stored: "
        << db_->Query(
               "SELECT string_agg(outcome || ' ' || coalesce(error_detail, ''), ' | ') FROM run.result "
               "WHERE case_id = '" +
               c.id + "'");
}

TEST_F(FaultRunTest, NoFaultIsEverCountedAsAPass) {
  for (const auto& c : FaultCases()) {
    if (c.outcome == "pass") continue;
    EXPECT_EQ(Count("case_id = '" + c.id + "' AND outcome IN ('pass', 'fail')"), 0) << c.id;
    EXPECT_EQ(Count("case_id = '" + c.id + "' AND score IS NOT NULL"), 0) << c.id;
  }
  EXPECT_EQ(Count("outcome = 'pass'"), (kPlainCases + 2) * kRepeats);
}

TEST_F(FaultRunTest, RetryableFaultsUseExactlyTheConfiguredAttempts) {
  for (const auto& c : FaultCases()) {
    if (c.attempts == 0) continue;
    EXPECT_EQ(Count("case_id = '" + c.id + "' AND attempts = " + std::to_string(c.attempts)), kRepeats) << c.id;
    if (c.id == "reset") continue;  // a reset pooled connection may be resent once, transparently
    EXPECT_EQ(ServedFor(c.id), c.attempts * kRepeats) << c.id;
  }
  EXPECT_GE(ServedFor("reset"), kMaxAttempts * kRepeats);
  EXPECT_LE(ServedFor("reset"), 2 * kMaxAttempts * kRepeats);
}

TEST_F(FaultRunTest, TransientFaultsAreRetriedToAnAnswer) {
  for (const char* id : {"server-error-transient", "rate-limited-retry-after"}) {
    EXPECT_EQ(ServedFor(id), 2 * kRepeats) << id;  // the two failures plus one answer per result
    EXPECT_EQ(QueryInt(*db_, std::string("SELECT sum(attempts) FROM run.result WHERE case_id = '") + id + "'"),
              2 * kRepeats)
        << id;
  }
}

TEST_F(FaultRunTest, RetryAfterIsWaitedBeforeTheNextAttempt) {
  auto requests = server_->RequestsContaining(Marker("rate-limited-retry-after"));
  ASSERT_EQ(requests.size(), 4u);
  // Both repeats were refused first (Retry-After: 1); neither asked again
  // before a second had passed.
  const auto first = requests[0].received_at;
  for (size_t i = 2; i < requests.size(); ++i) {
    const double waited_ms = std::chrono::duration<double, std::milli>(requests[i].received_at - first).count();
    EXPECT_GE(waited_ms, 1000) << "request " << i;
  }
}

TEST_F(FaultRunTest, FailuresKeepAReadableReasonInTheReport) {
  DriftwatchCli cli(dir_->path(), db_->url());
  CliOutcome report = cli.Run({"report", run_id_.substr(0, 8), "--format", "json"});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  auto j = nlohmann::json::parse(report.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << report.out.substr(0, 400);
  std::map<std::string, std::string> detail;
  for (const auto& r : j["results"]) detail[r["case_id"]] = r["error_detail"];
  EXPECT_THAT(detail["huge-body"], HasSubstr("max_response_bytes"));
  EXPECT_THAT(detail["hang"], HasSubstr("timed out"));
  EXPECT_THAT(detail["empty-choices"], HasSubstr("no choices"));
  EXPECT_THAT(detail["invalid-utf8-error"], HasSubstr("HTTP 500"));
  EXPECT_THAT(detail["length"], HasSubstr("token limit"));
  CliOutcome junit = cli.Run({"report", run_id_.substr(0, 8), "--format", "junit"});
  ASSERT_EQ(junit.exit_code, 0) << junit.err;
  EXPECT_THAT(junit.out, HasSubstr("tests=\"" + std::to_string(kResults) + "\""));
}

}  // namespace
}  // namespace dw::testing
