#include "server/service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "core/hash.h"
#include "http_test_client.h"
#include "sched/job_queue.h"
#include "server_fixture.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw::server {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using testing::Request;

const char* kGoodConfig = R"(targets:
  sim:
    provider: sim
    prompt: "{{question}}"
schedules:
  nightly:
    cron: "0 3 * * *"
    goldenset: faq
    targets: [sim]
)";

const char* kSecondConfig = R"(targets:
  sim:
    provider: sim
    prompt: "{{question}}"
  sim2:
    provider: sim
    prompt: "{{question}}"
schedules:
  nightly:
    cron: "0 3 * * *"
    goldenset: faq
    targets: [sim]
  hourly:
    cron: "0 * * * *"
    goldenset: faq
    targets: [sim2]
)";

const char* kBrokenSchedule = R"(targets:
  sim:
    provider: sim
    prompt: "{{question}}"
schedules:
  nightly:
    cron: "0 25 * * *"
    goldenset: faq
    targets: [sim]
)";

bool WaitFor(const std::function<bool()>& condition, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return condition();
}

// Finishes at once, or blocks until cancelled and then lingers for `linger`.
class TestRunner : public sched::JobRunner {
 public:
  explicit TestRunner(bool block, milliseconds linger = milliseconds(0)) : block_(block), linger_(linger) {}
  Result<sched::JobOutcome> Run(const sched::Job& job, const sched::JobContext& context) override {
    ++started;
    if (!block_) return sched::JobOutcome{};
    for (int i = 0; i < 3000 && !context.cancel->load(); ++i) std::this_thread::sleep_for(milliseconds(10));
    std::this_thread::sleep_for(linger_);
    return sched::JobOutcome{true, "", "cancelled"};
  }
  std::atomic<int> started{0};

 private:
  bool block_;
  milliseconds linger_;
};

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_path_ = dir_.WriteFile("driftwatch.yaml", kGoodConfig).string();
    log_ = std::make_unique<sched::JsonLog>(log_stream_);
  }

  ServiceOptions Options() {
    ServiceOptions o;
    o.database_url = tdb_.url();
    std::string path = config_path_;
    o.load_config = [path] { return LoadServiceConfig(path); };
    o.config_path = path;
    o.actor = "ops-oncall";
    o.scheduler_interval = milliseconds(100);
    o.workers = 1;
    o.worker_options.lease = milliseconds(2000);
    o.worker_options.renew_interval = milliseconds(500);
    o.worker_options.poll_interval = milliseconds(20);
    o.http_listen = "127.0.0.1:0";
    o.drain_timeout = milliseconds(5000);
    o.log = log_.get();
    return o;
  }

  void Rewrite(const char* text) {
    std::ofstream out(config_path_, std::ios::trunc);
    out << text;
  }

  std::vector<nlohmann::json> LogEvents(const std::string& event) {
    std::vector<nlohmann::json> found;
    std::istringstream lines(log_stream_.str());
    for (std::string line; std::getline(lines, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.value("event", "") == event) found.push_back(j);
    }
    return found;
  }

  dw::testing::TestDatabase tdb_;
  dw::testing::TempDir dir_;
  std::string config_path_;
  std::ostringstream log_stream_;
  std::unique_ptr<sched::JsonLog> log_;
};

TEST_F(ServiceTest, ARefusedConfigAtStartIsAnError) {
  Rewrite(kBrokenSchedule);
  TestRunner runner(false);
  auto service = Service::Start(Options(), runner);
  ASSERT_FALSE(service);
  EXPECT_THAT(service.error().message, HasSubstr("schedule 'nightly': cron field 'hour'"));
}

TEST_F(ServiceTest, ReloadAppliesAValidConfig) {
  TestRunner runner(false);
  auto service = Service::Start(Options(), runner);
  ASSERT_TRUE(service) << service.error().message;
  Rewrite(kSecondConfig);
  ASSERT_TRUE((*service)->Reload());
  EXPECT_EQ((*service)->config()->schedules.size(), 2u);
  EXPECT_EQ(LogEvents("config.reloaded").size(), 1u);
}

TEST_F(ServiceTest, AnInvalidConfigAtReloadKeepsTheOldOneAndIsReported) {
  TestRunner runner(false);
  auto service = Service::Start(Options(), runner);
  ASSERT_TRUE(service) << service.error().message;
  Rewrite(kBrokenSchedule);
  auto reloaded = (*service)->Reload();
  ASSERT_FALSE(reloaded);
  EXPECT_EQ((*service)->config()->schedules.at(0).config.cron, "0 3 * * *");
  auto failures = LogEvents("config.reload_failed");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0]["level"], "error");
  EXPECT_THAT(failures[0]["error"].get<std::string>(), HasSubstr("cron field 'hour'"));
  auto ready = Request((*service)->http_port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_THAT(ready.json()["service"]["last_reload_error"].get<std::string>(), HasSubstr("cron field 'hour'"));
  EXPECT_THAT(Request((*service)->http_port(), "GET", "/metrics").body,
              HasSubstr("driftwatch_config_reloads_total{result=\"failure\"} 1"));
}

// The config.reload events of the audit trail, oldest first, as
// "actor action object_id payload".
std::vector<std::string> ReloadAuditEvents(const dw::testing::TestDatabase& tdb) {
  std::string rows = tdb.Query(
      "SELECT string_agg(actor || ' ' || action || ' ' || object_id || ' ' || payload, E'\\n' ORDER BY seq) "
      "FROM audit.event WHERE action = 'config.reload'");
  std::vector<std::string> events;
  std::istringstream in(rows);
  for (std::string line; std::getline(in, line);) events.push_back(line);
  return events;
}

TEST_F(ServiceTest, AnAppliedReloadIsAuditedWithTheSha256OfTheFileItLoaded) {
  TestRunner runner(false);
  auto service = Service::Start(Options(), runner);
  ASSERT_TRUE(service) << service.error().message;
  EXPECT_THAT(ReloadAuditEvents(tdb_), ::testing::IsEmpty());
  Rewrite(kSecondConfig);
  ASSERT_TRUE((*service)->Reload());
  EXPECT_THAT(
      ReloadAuditEvents(tdb_),
      ::testing::ElementsAre(
          "ops-oncall config.reload " + config_path_ + " " +
          nlohmann::json{{"generation", 2}, {"result", "applied"}, {"sha256", Sha256Hex(kSecondConfig)}}.dump()));
}

TEST_F(ServiceTest, ARejectedReloadIsAuditedAsRejectedWithItsError) {
  TestRunner runner(false);
  auto service = Service::Start(Options(), runner);
  ASSERT_TRUE(service) << service.error().message;
  Rewrite(kBrokenSchedule);
  ASSERT_FALSE((*service)->Reload());
  auto events = ReloadAuditEvents(tdb_);
  ASSERT_EQ(events.size(), 1u);
  const std::string prefix = "ops-oncall config.reload " + config_path_ + " ";
  ASSERT_THAT(events[0], ::testing::StartsWith(prefix));
  auto payload = nlohmann::json::parse(events[0].substr(prefix.size()));
  EXPECT_EQ(payload["result"], "rejected");
  EXPECT_EQ(payload["generation"], 1);
  EXPECT_EQ(payload["sha256"], Sha256Hex(kBrokenSchedule));
  EXPECT_THAT(payload["error"].get<std::string>(), HasSubstr("cron field 'hour'"));
}

TEST_F(ServiceTest, ReadyzIs503WithTheDatabaseErrorWhileTheDatabaseIsUnreachableAndHealthzStays200) {
  TestRunner runner(false);
  ServiceOptions options = Options();
  options.workers = 0;
  options.scheduler = false;
  auto service = Service::Start(options, runner);
  ASSERT_TRUE(service) << service.error().message;
  const int port = (*service)->http_port();
  ASSERT_EQ(Request(port, "GET", "/readyz").status, 200);

  // The database refuses new connections and drops the service's.
  auto admin = store::Database::Connect(dw::testing::TestDatabase::ServerUrl() + " dbname=postgres");
  ASSERT_TRUE(admin) << admin.error().message;
  ASSERT_TRUE((*admin)->ExecuteNonTransactional("ALTER DATABASE " + tdb_.name() + " ALLOW_CONNECTIONS false"));
  Status terminated = (*admin)->ExecuteNonTransactional(
      "DO $$ BEGIN PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + tdb_.name() +
      "'; END $$");
  ASSERT_TRUE(terminated) << terminated.error().message;
  // The first probe finds its pooled connection dead, the next one cannot
  // connect: both are not ready, with the database's reason.
  auto lost = Request(port, "GET", "/readyz");
  EXPECT_EQ(lost.status, 503);
  EXPECT_EQ(lost.json()["status"], "not_ready");
  EXPECT_TRUE(lost.json()["checks"]["database"].is_string()) << lost.body;
  auto refused = Request(port, "GET", "/readyz");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.json()["status"], "not_ready");
  EXPECT_THAT(refused.json()["checks"].value("database", ""), HasSubstr("not currently accepting connections"));
  EXPECT_FALSE(refused.json()["checks"].contains("migrations"));
  EXPECT_EQ(refused.json()["checks"]["service"], "ok");
  auto health = Request(port, "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.json()["status"], "ok");

  ASSERT_TRUE((*admin)->ExecuteNonTransactional("ALTER DATABASE " + tdb_.name() + " ALLOW_CONNECTIONS true"));
  EXPECT_TRUE(WaitFor([&] { return Request(port, "GET", "/readyz").status == 200; }, milliseconds(5000)));
}

TEST_F(ServiceTest, AChangedConfigFileIsReloadedWhenWatched) {
  TestRunner runner(false);
  ServiceOptions options = Options();
  options.watch_path = config_path_;
  options.watch_interval = milliseconds(50);
  auto service = Service::Start(options, runner);
  ASSERT_TRUE(service) << service.error().message;
  std::this_thread::sleep_for(milliseconds(20));
  Rewrite(kSecondConfig);
  EXPECT_TRUE(WaitFor([&] { return (*service)->config()->schedules.size() == 2; }, milliseconds(5000)));
}

TEST_F(ServiceTest, WorkersRunQueuedJobs) {
  auto db = tdb_.Connect();
  sched::JobSpec spec;
  spec.goldenset = "faq@1";
  spec.target = "sim";
  spec.requested_by = "tester";
  ASSERT_TRUE(sched::EnqueueJob(*db, spec, "tester"));
  TestRunner runner(false);
  auto service = Service::Start(Options(), runner);
  ASSERT_TRUE(service) << service.error().message;
  EXPECT_TRUE(WaitFor([&] { return tdb_.Query("SELECT state FROM ops.job") == "done"; }, milliseconds(10000)));
  auto metrics = Request((*service)->http_port(), "GET", "/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("driftwatch_worker_jobs_total{event=\"done\"} 1"));
}

TEST_F(ServiceTest, TargetsMissingFromTheConfigAreNotClaimed) {
  auto db = tdb_.Connect();
  sched::JobSpec spec;
  spec.goldenset = "faq@1";
  spec.target = "elsewhere";
  spec.requested_by = "tester";
  ASSERT_TRUE(sched::EnqueueJob(*db, spec, "tester"));
  TestRunner runner(false);
  auto service = Service::Start(Options(), runner);
  ASSERT_TRUE(service);
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(runner.started, 0);
  EXPECT_EQ(tdb_.Query("SELECT state FROM ops.job"), "queued");
}

TEST_F(ServiceTest, ShutdownHandsRunningJobsBackAndReportsNotReadyWhileDraining) {
  auto db = tdb_.Connect();
  sched::JobSpec spec;
  spec.goldenset = "faq@1";
  spec.target = "sim";
  spec.requested_by = "tester";
  ASSERT_TRUE(sched::EnqueueJob(*db, spec, "tester"));
  TestRunner runner(true, milliseconds(800));
  auto service = Service::Start(Options(), runner);
  ASSERT_TRUE(service);
  ASSERT_TRUE(WaitFor([&] { return runner.started == 1; }, milliseconds(10000)));
  const int port = (*service)->http_port();
  int abandoned = -1;
  std::thread stopper([&] { abandoned = (*service)->Shutdown(); });
  bool saw_draining = WaitFor(
      [&] {
        auto r = Request(port, "GET", "/readyz");
        return r.status == 503 && r.body.find("draining") != std::string::npos;
      },
      milliseconds(3000));
  stopper.join();
  EXPECT_TRUE(saw_draining);
  EXPECT_EQ(abandoned, 0);
  EXPECT_EQ(tdb_.Query("SELECT state || ' ' || attempts FROM ops.job"), "queued 0");
  EXPECT_EQ(LogEvents("service.stopped").size(), 1u);
}

TEST_F(ServiceTest, OnceModeRunsWhatIsQueuedAndStops) {
  auto db = tdb_.Connect();
  for (int i = 0; i < 3; ++i) {
    sched::JobSpec spec;
    spec.goldenset = "faq@1";
    spec.target = "sim";
    spec.requested_by = "tester";
    ASSERT_TRUE(sched::EnqueueJob(*db, spec, "tester"));
  }
  TestRunner runner(false);
  ServiceOptions options = Options();
  options.once = true;
  options.http_listen.clear();
  auto service = Service::Start(options, runner);
  ASSERT_TRUE(service);
  EXPECT_TRUE((*service)->WaitUntilIdle(milliseconds(10000)));
  EXPECT_EQ(tdb_.Query("SELECT count(*) FROM ops.job WHERE state = 'done'"), "3");
}

}  // namespace
}  // namespace dw::server
