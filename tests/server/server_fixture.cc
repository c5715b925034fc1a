#include "server_fixture.h"

#include <gtest/gtest.h>

#include "core/golden_case.h"
#include "core/ids.h"
#include "store/goldenset_repo.h"
#include "store/run_repo.h"

namespace dw::server::testing {

long long PublishGoldenSet(store::Database& db, const std::string& name, int cases) {
  store::PublishRequest request;
  request.set.name = name;
  for (int i = 0; i < cases; ++i) {
    GoldenCase c;
    char id[16];
    std::snprintf(id, sizeof id, "c%03d", i);
    c.id = id;
    c.vars = {{"question", "What is " + std::to_string(i) + "?"}, {"expected", "answer-" + std::to_string(i)}};
    c.asserts = nlohmann::json::array({{{"type", "contains"}, {"value", "answer-" + std::to_string(i)}}});
    request.set.cases.push_back(c);
  }
  request.source_format = "native";
  request.source_file = name + ".yaml";
  request.published_by = "tester";
  auto published = store::PublishGoldenSet(db, request);
  EXPECT_TRUE(published) << (published ? "" : published.error().message);
  return published ? published->id : 0;
}

std::string CreateFinishedRun(store::Database& db, long long version_id, const std::string& target,
                              const std::string& requested_by) {
  store::RunSpec spec;
  spec.run_id = NewUuid();
  spec.golden_set_version_id = version_id;
  spec.target_name = target;
  spec.target_version_hash = std::string(64, 'c');
  spec.target_provider = "sim";
  spec.target_spec = {{"name", target}};
  spec.scorer_name = "test-scorer";
  spec.scorer_spec = {{"engine", "test"}};
  spec.requested_by = requested_by;
  spec.runner_build = "test";
  spec.runner_host = "test";
  auto run = store::CreateRun(db, spec);
  EXPECT_TRUE(run) << (run ? "" : run.error().message);
  if (!run) return "";
  auto cases = store::LoadCases(db, version_id);
  EXPECT_TRUE(cases);
  {
    auto writer = store::ResultWriter::Open(db.url(), run->id);
    EXPECT_TRUE(writer);
    for (const auto& c : cases->cases) {
      ReplayResult r;
      r.case_id = c.id;
      r.outcome = Outcome::kPass;
      r.score = 1;
      r.output = "answer";
      r.attempts = 1;
      EXPECT_TRUE((*writer)->Add(r));
    }
    EXPECT_TRUE((*writer)->Flush());
  }
  nlohmann::json summary = {{"results", cases->cases.size()}, {"pass_rate", 1.0}};
  EXPECT_TRUE(store::FinishRun(db, run->id, "done", summary, "", requested_by));
  return run->id;
}

std::string MustCreateToken(store::Database& db, const std::string& name, const std::vector<Scope>& scopes) {
  auto created = CreateToken(db, name, scopes, "tester");
  EXPECT_TRUE(created) << (created ? "" : created.error().message);
  return created ? created->secret : "";
}

config::Config SimConfig() {
  config::Config c;
  config::TargetConfig sim;
  sim.name = "sim";
  sim.provider = "sim";
  sim.model = "driftwatch-sim-1";
  sim.prompt = "{{question}}";
  c.targets[sim.name] = sim;
  config::ScheduleConfig s;
  s.name = "nightly";
  s.cron = "0 3 * * *";
  s.timezone = "Europe/Paris";
  s.goldenset = "faq";
  s.targets = {"sim"};
  c.schedules[s.name] = s;
  return c;
}

ApiServer::ApiServer(const dw::testing::TestDatabase& tdb, ApiOptions options, HttpServerOptions http)
    : config_(std::make_shared<const config::Config>(SimConfig())) {
  ApiHooks hooks;
  hooks.config = [this] { return config_; };
  hooks.metrics_text = [] { return std::string("# TYPE test_metric gauge\ntest_metric 1\n"); };
  api_ = std::make_unique<Api>(tdb.url(), options, std::move(hooks));
  http.listen = "127.0.0.1:0";
  auto server = HttpServer::Start(http, api_->handler());
  EXPECT_TRUE(server) << (server ? "" : server.error().message);
  if (server) http_ = std::move(*server);
}

}  // namespace dw::server::testing
