// PostgreSQL stopped in the middle of `driftwatch run`, on a private cluster
// (the shared test cluster is never stopped). A short outage is ridden out:
// the run reconnects and completes. An outage longer than
// database.reconnect_seconds ends the run with exit code 3, keeps what was
// stored, records the run as `failed` once the database is back (the command
// waits for it at least 10 s), reports no comparison, and `run --resume`
// completes it later.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "reliability/reliability_support.h"
#include "store/embedded_postgres.h"
#include "support/cli_process.h"
#include "support/fault_server.h"
#include "support/temp_dir.h"

namespace dw::testing {
namespace {

using ::testing::HasSubstr;

constexpr int kCases = 120;
constexpr int kRepeats = 2;
constexpr long long kResults = kCases * kRepeats;

// A PostgreSQL cluster of the suite's own, which the tests stop and start.
class PrivateCluster {
 public:
  ~PrivateCluster() { (void)store::StopEmbeddedCluster(base_.string()); }

  // Starts the cluster if it is not running and creates `dbname` if needed;
  // the database's connection string, or "" after a test failure.
  std::string Open(const std::string& dbname) {
    auto started = store::EnsureEmbeddedCluster(base_.string(), dbname);
    if (!started) ADD_FAILURE() << started.error().message;
    return started ? started->url : "";
  }
  void Stop() { ASSERT_TRUE(store::StopEmbeddedCluster(base_.string())); }

 private:
  TempDir dir_;
  std::filesystem::path base_ = dir_.path() / "db";
};

class DatabaseOutageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new PrivateCluster(); }
  static void TearDownTestSuite() { delete cluster_; }

  void SetUp() override {
    setenv(kReliabilityKeyEnv, kReliabilityKey, 1);
    static int databases = 0;
    dbname_ = "outage_" + std::to_string(databases++);
    url_ = cluster_->Open(dbname_);
    ASSERT_FALSE(url_.empty());
    cli_ = std::make_unique<DriftwatchCli>(dir_.path(), url_);
    std::vector<std::pair<std::string, std::string>> cases;
    for (int i = 0; i < kCases; ++i) cases.emplace_back("c" + std::to_string(i), "question " + std::to_string(i));
    dir_.WriteFile("gs.yaml", GoldenSetYaml("gs", cases));
    ASSERT_EQ(cli_->Run({"goldenset", "publish", "gs.yaml"}).exit_code, 0);
  }

  void StopDatabase() { cluster_->Stop(); }
  void StartDatabase() { ASSERT_FALSE(cluster_->Open(dbname_).empty()); }

  // `sql`'s single value as text ("" for none), or "ERROR: ...".
  std::string Query(const std::string& sql) const {
    try {
      pqxx::connection conn(url_);
      pqxx::work tx(conn);
      auto r = tx.exec(sql);
      return r.empty() || r[0][0].is_null() ? "" : r[0][0].c_str();
    } catch (const std::exception& e) {
      return std::string("ERROR: ") + e.what();
    }
  }
  long long Count(const std::string& sql) const { return std::atoll(Query(sql).c_str()); }

  void WriteConfig(const std::string& database_settings) {
    dir_.WriteFile("driftwatch.yaml",
                   database_settings + "targets:\n" +
                       ChatTargetYaml("chat", server_.BaseUrl(), "    concurrency: 4\n    timeout_ms: 5000\n"));
  }

  // A finished run of gs on chat, signed off as production's baseline.
  std::string SignedOffBaseline() {
    CliOutcome run =
        cli_->Run({"run", "-g", "gs", "-t", "chat", "-q", "--format", "json", "-r", std::to_string(kRepeats)});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    std::string run_id = nlohmann::json::parse(run.out, nullptr, false).value("run_id", "");
    CliOutcome request = cli_->Run({"review", "request", run_id, "--as", "maria", "--format", "json"});
    EXPECT_EQ(request.exit_code, 0) << request.err;
    std::string review = nlohmann::json::parse(request.out, nullptr, false).value("id", "");
    for (const char* approver : {"ana", "li"}) {
      CliOutcome approved = cli_->Run({"review", "approve", review, "--as", approver});
      EXPECT_EQ(approved.exit_code, 0) << approved.err;
    }
    return run_id;
  }

  // Starts a run and waits (bounded) until some of its results are stored.
  CliProcess StartRunAndWaitForResults(std::string& run_id) {
    CliProcess process = cli_->Start({"run", "-g", "gs", "-t", "chat", "-r", std::to_string(kRepeats), "-q"});
    long long stored = 0;
    for (int i = 0; i < 400 && stored < 20; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      run_id = Query("SELECT id FROM run.run WHERE status = 'running'");
      if (!run_id.empty()) stored = Count("SELECT count(*) FROM run.result WHERE run_id = '" + run_id + "'");
    }
    EXPECT_GE(stored, 20);
    EXPECT_LT(stored, kResults) << "the run finished before the outage";
    return process;
  }

  long long Results(const std::string& run_id) const {
    return Count("SELECT count(*) FROM run.result WHERE run_id = '" + run_id + "'");
  }
  long long DistinctResults(const std::string& run_id) const {
    return Count("SELECT count(DISTINCT (case_id, repeat)) FROM run.result WHERE run_id = '" + run_id + "'");
  }
  long long Comparisons(const std::string& run_id) const {
    return Count("SELECT count(*) FROM run.comparison WHERE candidate_run_id = '" + run_id + "'");
  }
  // n of the stored primary comparison row of `run_id`.
  long long ComparedCases(const std::string& run_id) const {
    return Count(
        "SELECT r.n FROM run.comparison c JOIN run.comparison_row r ON r.comparison_id = c.id "
        "WHERE c.candidate_run_id = '" +
        run_id + "' AND r.metric = 'pass_rate' AND r.slice = 'all'");
  }

  static FaultRule SlowAnswers() {
    FaultRule slow;  // 40 ms per answer: a run of 240 results at concurrency 4 lasts seconds
    slow.fault = Fault::kHang;
    slow.delay = std::chrono::milliseconds(40);
    return slow;
  }

  static inline PrivateCluster* cluster_ = nullptr;
  std::string dbname_;
  std::string url_;
  FaultServer server_{{SlowAnswers()}};
  TempDir dir_;
  std::unique_ptr<DriftwatchCli> cli_;
};

TEST_F(DatabaseOutageTest, ShortOutageIsRiddenOutAndTheRunCompletesWithAFullComparison) {
  WriteConfig("");
  std::string baseline = SignedOffBaseline();
  std::string run_id;
  CliProcess process = StartRunAndWaitForResults(run_id);
  StopDatabase();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  StartDatabase();
  CliOutcome outcome = DriftwatchCli::Wait(process, std::chrono::seconds(90));
  ASSERT_TRUE(outcome.exited()) << "signal " << outcome.signal << (outcome.timed_out ? " (timed out)" : "");
  EXPECT_EQ(outcome.exit_code, 0) << outcome.out << outcome.err;
  EXPECT_EQ(Results(run_id), kResults);
  EXPECT_EQ(DistinctResults(run_id), kResults);
  EXPECT_EQ(Query("SELECT status FROM run.run WHERE id = '" + run_id + "'"), "done");
  EXPECT_EQ(Comparisons(run_id), 1);
  EXPECT_EQ(ComparedCases(run_id), kCases);
  EXPECT_NE(baseline, run_id);
}

TEST_F(DatabaseOutageTest, LongOutageFailsTheRunKeepsItsResultsAndResumeCompletesIt) {
  WriteConfig("database: {reconnect_seconds: 2}\n");
  SignedOffBaseline();
  std::string run_id;
  CliProcess process = StartRunAndWaitForResults(run_id);
  StopDatabase();
  // The replay gives up after reconnect_seconds; the command then waits (at
  // least 10 s) to record the failure. The database comes back meanwhile.
  bool recording = false;
  for (int i = 0; i < 1200 && !recording; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    recording = ReadFile(process.err_path).find("recording the failure") != std::string::npos;
  }
  ASSERT_TRUE(recording) << ReadFile(process.err_path);
  StartDatabase();
  CliOutcome outcome = DriftwatchCli::Wait(process, std::chrono::seconds(60));
  ASSERT_TRUE(outcome.exited()) << "signal " << outcome.signal << (outcome.timed_out ? " (timed out)" : "");
  EXPECT_EQ(outcome.exit_code, 3) << outcome.out << outcome.err;
  EXPECT_THAT(outcome.err, HasSubstr("run " + run_id + " failed: "));
  EXPECT_THAT(outcome.err, ::testing::Not(HasSubstr("could not record the failure")));
  EXPECT_THAT(outcome.err,
              HasSubstr("stored results are kept; resume with: driftwatch run --resume " + run_id.substr(0, 8)));
  EXPECT_EQ(outcome.out, "") << "nothing may be reported as a finished run";
  const long long kept = Results(run_id);
  EXPECT_GE(kept, 20);
  EXPECT_LT(kept, kResults);
  EXPECT_EQ(DistinctResults(run_id), kept);
  EXPECT_EQ(Comparisons(run_id), 0);
  EXPECT_EQ(Query("SELECT status FROM run.run WHERE id = '" + run_id + "'"), "failed");
  EXPECT_EQ(Count("SELECT count(*) FROM audit.event WHERE action = 'run.finish' AND object_id = '" + run_id +
                  "' AND payload::jsonb->>'status' = 'failed'"),
            1);

  CliOutcome resumed = cli_->Run({"run", "--resume", run_id, "-q", "--format", "json"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(Results(run_id), kResults);
  EXPECT_EQ(DistinctResults(run_id), kResults);
  EXPECT_EQ(Query("SELECT status FROM run.run WHERE id = '" + run_id + "'"), "done");
  EXPECT_EQ(ComparedCases(run_id), kCases);
}

}  // namespace
}  // namespace dw::testing
