// `driftwatch run --push URL` (cron mode) through the real binary against a
// real Pushgateway on loopback: the run's metrics land in one group keyed
// {job="driftwatch", golden_set, target}, and the next run of the same pair
// replaces that group instead of adding to it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "support/cli_process.h"
#include "support/processes.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw {
namespace {

using json = nlohmann::json;
using testing::CliOutcome;
using testing::DriftwatchCli;

class RunPushCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gateway_.ready()) << gateway_.log();
    const std::string demo_dir = (dir_.path() / "demo").string();
    CliOutcome demo = cli_.Run(
        {"demo", "--goldenset", std::string(DRIFTWATCH_SOURCE_DIR) + "/config/examples/faq.yaml", "--dir", demo_dir});
    ASSERT_EQ(demo.exit_code, 0) << demo.err;
    config_ = demo_dir + "/driftwatch.yaml";
  }

  // `driftwatch run` of faq on faq-bot pushing to the gateway; exit 0, or 1
  // for a critical regression (the push happens either way).
  void RunAndPush(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"run",      "--config", config_,  "--goldenset", "faq",
                                     "--target", "faq-bot",  "--push", gateway_.url()};
    args.insert(args.end(), extra.begin(), extra.end());
    CliOutcome run = cli_.Run(args);
    ASSERT_TRUE(run.exit_code == 0 || run.exit_code == 1) << run.out << run.err;
  }

  // The gateway's groups (its /api/v1/metrics "data").
  json Groups() const {
    json reply = testing::GetJson(gateway_.url() + "/api/v1/metrics");
    EXPECT_FALSE(reply.is_discarded());
    return reply.is_discarded() ? json::array() : reply["data"];
  }

  // The single group's metric family `name` (null when absent).
  static json Family(const json& group, const std::string& name) { return group.contains(name) ? group[name] : json(); }

  // The value of the family's only sample, as the gateway prints it.
  static std::string OnlyValue(const json& family) {
    EXPECT_EQ(family["metrics"].size(), 1u) << family.dump();
    return family["metrics"][0].value("value", "");
  }

  testing::TestDatabase tdb_;
  testing::TempDir dir_;
  DriftwatchCli cli_{dir_.path(), tdb_.url()};
  testing::Pushgateway gateway_{dir_.path()};
  std::string config_;
};

TEST_F(RunPushCommand, PushesOneGroupWithTheStableGroupingKey) {
  ASSERT_NO_FATAL_FAILURE(RunAndPush());
  json groups = Groups();
  ASSERT_EQ(groups.size(), 1u) << groups.dump(2);
  const json& group = groups[0];
  EXPECT_EQ(group["labels"], (json{{"job", "driftwatch"}, {"golden_set", "faq"}, {"target", "faq-bot"}}))
      << group["labels"].dump();
  EXPECT_EQ(OnlyValue(Family(group, "driftwatch_last_run_success")), "1");
  json verdicts = Family(group, "driftwatch_verdict");
  ASSERT_FALSE(verdicts.is_null()) << "the comparison with the demo's baseline was not pushed";
  for (const json& sample : verdicts["metrics"]) {
    EXPECT_EQ(sample["labels"].value("golden_set", ""), "faq");
    EXPECT_EQ(sample["labels"].value("target", ""), "faq-bot");
  }
  EXPECT_GT(std::stod(OnlyValue(Family(group, "push_time_seconds"))), 0);
}

TEST_F(RunPushCommand, TheNextRunReplacesTheGroup) {
  ASSERT_NO_FATAL_FAILURE(RunAndPush());
  json first = Groups();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_FALSE(Family(first[0], "driftwatch_baseline_score").is_null());
  ASSERT_FALSE(Family(first[0], "driftwatch_score_delta").is_null());
  ASSERT_FALSE(Family(first[0], "driftwatch_p_value").is_null());
  const double first_finished = std::stod(OnlyValue(Family(first[0], "driftwatch_last_run_timestamp_seconds")));

  // The second run is not compared: a PUT drops the first run's baseline,
  // delta and p-value families from the group, where a POST (which replaces
  // only the families it carries) would have kept them.
  ASSERT_NO_FATAL_FAILURE(RunAndPush({"--no-compare"}));
  json second = Groups();
  ASSERT_EQ(second.size(), 1u) << second.dump(2);
  EXPECT_EQ(second[0]["labels"], first[0]["labels"]);
  for (const char* comparison_only : {"driftwatch_baseline_score", "driftwatch_score_delta", "driftwatch_p_value"})
    EXPECT_TRUE(Family(second[0], comparison_only).is_null()) << comparison_only << " survived the second push";
  EXPECT_GE(std::stod(OnlyValue(Family(second[0], "driftwatch_last_run_timestamp_seconds"))), first_finished);
  // Counters start from the pushing process: the second push carries one
  // run, not the sum of both.
  json runs = Family(second[0], "driftwatch_runs_total");
  ASSERT_FALSE(runs.is_null());
  double total = 0;
  for (const json& sample : runs["metrics"]) total += std::stod(sample.value("value", "0"));
  EXPECT_EQ(total, 1);
}

}  // namespace
}  // namespace dw
