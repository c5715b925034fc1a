// Planted secrets never come out: an openai-chat API key (api_key_env), an
// http target's Authorization header (${ENV} in the config) and a
// Pushgateway password. The model server echoes the credentials it receives
// in error bodies and in answers; every output is then searched for the
// planted values: stdout and stderr of run, report, compare and the
// scheduler's structured logs, the Prometheus textfile, and every row of
// every table in the database.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "reliability/reliability_support.h"
#include "support/cli_process.h"
#include "support/fault_server.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kHttpKeyEnv[] = "DW_RELIABILITY_HTTP_KEY";
constexpr char kHttpKey[] = "tok-planted-http-7c3e91d0a5f2";
constexpr char kPushPassword[] = "pw-planted-push-b8d2e6f41c07";

const std::vector<std::string>& PlantedSecrets() {
  static const std::vector<std::string> secrets = {kReliabilityKey, kHttpKey, kPushPassword};
  return secrets;
}

class SecretRedactionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv(kReliabilityKeyEnv, kReliabilityKey, 1);
    setenv(kHttpKeyEnv, kHttpKey, 1);
    auto echo = [](const std::string& marker, int status) {
      FaultRule rule;
      rule.marker = marker;
      rule.fault = Fault::kEchoCredentials;
      rule.status = status;
      return rule;
    };
    server_ = new FaultServer({echo("[echo-401]", 401), echo("[echo-500]", 500), echo("[echo-200]", 200)});
    db_ = new TestDatabase();
    dir_ = new TempDir();
    const std::string push_url =
        "http://dw:" + std::string(kPushPassword) + "@127.0.0.1:" + std::to_string(ClosedLoopbackPort());
    dir_->WriteFile("driftwatch.yaml", "targets:\n" +
                                           ChatTargetYaml("chat", server_->BaseUrl(),
                                                          "    retries: {max_attempts: 2, base_delay_ms: 1}\n") +
                                           "  api:\n"
                                           "    provider: http\n"
                                           "    retries: {max_attempts: 2, base_delay_ms: 1}\n"
                                           "    http:\n"
                                           "      url: " +
                                           server_->BaseUrl() +
                                           "/chat/completions\n"
                                           "      headers: {Authorization: \"Bearer ${" +
                                           kHttpKeyEnv +
                                           "}\"}\n"
                                           "      body: {messages: [{role: user, content: \"{{question}}\"}]}\n"
                                           "      output_path: $.choices[0].message.content\n"
                                           "schedules:\n"
                                           "  nightly: {cron: \"0 3 * * *\", goldenset: gs, targets: [chat]}\n"
                                           "metrics:\n"
                                           "  textfile: " +
                                           (dir_->path() / "driftwatch.prom").string() + "\n");
    dir_->WriteFile("gs.yaml", GoldenSetYaml("gs", {{"plain", "a plain question"},
                                                    {"echo-401", "answer [echo-401]"},
                                                    {"echo-500", "answer [echo-500]"},
                                                    {"echo-200", "answer [echo-200]"}}));
    DriftwatchCli cli(dir_->path(), db_->url());
    auto run = [&](const std::string& label, const std::vector<std::string>& args) {
      CliOutcome outcome = cli.Run(args);
      outputs_[label + " stdout"] = outcome.out;
      outputs_[label + " stderr"] = outcome.err;
      exit_codes_[label] = outcome.exit_code;
      return outcome;
    };
    run("publish", {"goldenset", "publish", "gs.yaml"});
    run("run chat", {"run", "-g", "gs", "-t", "chat"});
    chat_run_ = db_->Query(
        "SELECT r.id FROM run.run r JOIN core.target_version t ON t.id = r.target_version_id "
        "WHERE t.name = 'chat'");
    run("run api json", {"run", "-g", "gs", "-t", "api", "--format", "json", "--push", push_url});
    api_run_ = db_->Query(
        "SELECT r.id FROM run.run r JOIN core.target_version t ON t.id = r.target_version_id "
        "WHERE t.name = 'api'");
    for (const std::string& id : {chat_run_, api_run_}) {
      for (const char* format : {"table", "json", "junit"})
        run("report " + id.substr(0, 8) + " " + format, {"report", id, "--format", format, "--failures", "100"});
    }
    run("report list", {"report", "--list"});
    run("compare table", {"compare", "--baseline", chat_run_, "--candidate", api_run_});
    run("compare json", {"compare", "--baseline", chat_run_, "--candidate", api_run_, "--format", "json"});
    run("schedule fire", {"schedule", "fire", "nightly"});
    run("serve once", {"serve", "--once", "--no-http", "--workers", "1", "--log-level", "debug"});
    outputs_["textfile"] = ReadFile(dir_->path() / "driftwatch.prom");
  }

  static void TearDownTestSuite() {
    delete dir_;
    delete db_;
    delete server_;
  }

  // Labels of the outputs that contain a planted secret.
  static std::vector<std::string> Leaks(const std::string& label_prefix) {
    std::vector<std::string> leaks;
    for (const auto& [label, text] : outputs_) {
      if (label.rfind(label_prefix, 0) != 0) continue;
      for (const auto& secret : PlantedSecrets())
        if (text.find(secret) != std::string::npos) leaks.push_back(label + " contains " + secret);
    }
    return leaks;
  }

  static inline FaultServer* server_ = nullptr;
  static inline TestDatabase* db_ = nullptr;
  static inline TempDir* dir_ = nullptr;
  static inline std::map<std::string, std::string> outputs_;
  static inline std::map<std::string, int> exit_codes_;
  static inline std::string chat_run_, api_run_;
};

TEST_F(SecretRedactionTest, TheServerReallyReceivedAndEchoedThePlantedCredentials) {
  int chat = 0, api = 0;
  for (const auto& request : server_->Requests()) {
    chat += request.authorization == std::string("Bearer ") + kReliabilityKey;
    api += request.authorization == std::string("Bearer ") + kHttpKey;
  }
  EXPECT_GT(chat, 0);
  EXPECT_GT(api, 0);
  const std::string runs = "run_id IN ('" + chat_run_ + "', '" + api_run_ + "')";
  EXPECT_EQ(QueryInt(*db_, "SELECT count(*) FROM run.result WHERE error_detail LIKE '%[redacted]%' AND " + runs), 4)
      << "both targets' 401 and 500 echoes were stored, redacted";
  EXPECT_EQ(QueryInt(*db_, "SELECT count(*) FROM run.result WHERE output LIKE 'you sent %[redacted]' AND " + runs), 2)
      << "both targets' echoed answers were stored, redacted";
}

TEST_F(SecretRedactionTest, EveryCommandSucceeded) {
  for (const auto& [label, code] : exit_codes_) EXPECT_EQ(code, 0) << label << ": " << outputs_[label + " stderr"];
  EXPECT_THAT(outputs_["serve once stderr"], HasSubstr("\"event\""));
}

TEST_F(SecretRedactionTest, RunOutputsHoldNoSecret) { EXPECT_THAT(Leaks("run "), ::testing::IsEmpty()); }

TEST_F(SecretRedactionTest, ReportsInEveryFormatHoldNoSecret) { EXPECT_THAT(Leaks("report "), ::testing::IsEmpty()); }

TEST_F(SecretRedactionTest, ComparisonOutputsHoldNoSecret) { EXPECT_THAT(Leaks("compare "), ::testing::IsEmpty()); }

TEST_F(SecretRedactionTest, SchedulerStructuredLogsHoldNoSecret) {
  EXPECT_THAT(Leaks("serve "), ::testing::IsEmpty());
  EXPECT_THAT(Leaks("schedule "), ::testing::IsEmpty());
}

TEST_F(SecretRedactionTest, PushFailureNamesTheGatewayWithoutItsPassword) {
  EXPECT_THAT(outputs_["run api json stderr"], HasSubstr("exporting metrics failed"));
  EXPECT_THAT(outputs_["run api json stderr"], HasSubstr("http://[redacted]@127.0.0.1:"));
}

TEST_F(SecretRedactionTest, PrometheusTextfileHoldsNoSecret) {
  EXPECT_THAT(outputs_["textfile"], HasSubstr("driftwatch_"));
  EXPECT_THAT(Leaks("textfile"), ::testing::IsEmpty());
}

TEST_F(SecretRedactionTest, NoDatabaseRowHoldsASecret) {
  pqxx::connection conn(db_->url());
  pqxx::work tx(conn);
  auto tables = tx.exec(
      "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables "
      "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')");
  ASSERT_GT(tables.size(), 10u);
  for (const auto& table : tables) {
    const std::string name = table[0].c_str();
    for (const auto& secret : PlantedSecrets()) {
      auto hits = tx.exec_params("SELECT count(*) FROM " + name + " AS t WHERE t::text LIKE '%' || $1 || '%'", secret);
      EXPECT_EQ(hits[0][0].as<long long>(), 0) << name << " holds " << secret;
    }
  }
  EXPECT_EQ(QueryInt(*db_, "SELECT count(*) FROM run.run WHERE settings::text LIKE '%Bearer%'"), 0);
}

}  // namespace
}  // namespace dw::testing
