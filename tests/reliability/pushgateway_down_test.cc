// `driftwatch run --push URL` while nothing listens at URL: the run is
// stored and judged as usual (exit 0 without a regression), and the failed
// push is reported on stdout, in --format json, and as a warning on stderr.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "reliability/reliability_support.h"
#include "support/cli_process.h"
#include "support/fault_server.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw::testing {
namespace {

using ::testing::HasSubstr;

class PushgatewayDownTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv(kReliabilityKeyEnv, kReliabilityKey, 1);
    dir_.WriteFile("driftwatch.yaml", "targets:\n" + ChatTargetYaml("chat", server_.BaseUrl()));
    dir_.WriteFile("gs.yaml", GoldenSetYaml("gs", {{"a", "question a"}, {"b", "question b"}, {"c", "question c"}}));
    ASSERT_EQ(cli_.Run({"goldenset", "publish", "gs.yaml"}).exit_code, 0);
  }

  CliOutcome RunWithPush(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"run", "-g", "gs", "-t", "chat", "-r", "2", "--push", gateway_};
    args.insert(args.end(), extra.begin(), extra.end());
    return cli_.Run(args);
  }

  FaultServer server_{{}};
  TestDatabase db_;
  TempDir dir_;
  DriftwatchCli cli_{dir_.path(), db_.url()};
  std::string gateway_ = "http://127.0.0.1:" + std::to_string(ClosedLoopbackPort());
};

TEST_F(PushgatewayDownTest, RunIsStoredAndExitsZeroWithThePushFailureOnStdout) {
  CliOutcome run = RunWithPush({"-q"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM run.result"), 6);
  EXPECT_EQ(db_.Query("SELECT status FROM run.run"), "done");
  EXPECT_THAT(run.out, HasSubstr("metrics     not exported: PUT " + gateway_ + "/metrics/job/driftwatch"));
  EXPECT_THAT(run.out, HasSubstr("failed"));
}

TEST_F(PushgatewayDownTest, JsonOutputCarriesTheExportError) {
  CliOutcome run = RunWithPush({"--format", "json"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  auto j = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << run.out;
  EXPECT_EQ(j["status"], "done");
  EXPECT_EQ(j["summary"]["results"], 6);
  EXPECT_THAT(j.value("export_error", ""), HasSubstr(gateway_));
  EXPECT_THAT(run.err, HasSubstr("results are stored, but exporting metrics failed"));
}

}  // namespace
}  // namespace dw::testing
