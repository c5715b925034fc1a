// A target's rate limit is the provider's quota, global across workers: with
// S job slots, two `driftwatch serve` processes run S jobs of the target at
// once, each limited to rate/S, and a loopback model server sees the
// aggregate request rate stay within the configured limit.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/cli_process.h"
#include "support/http_server.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw {
namespace {

using testing::CliOutcome;
using testing::CliProcess;
using testing::DriftwatchCli;

constexpr double kRequestsPerSecond = 12;
constexpr int kSlots = 3;
constexpr int kCases = 24;

std::string Config(const std::string& base_url) {
  std::string yaml =
      "targets:\n  api:\n    provider: http\n    concurrency: 4\n"
      "    rate_limit: {requests_per_second: " +
      std::to_string(static_cast<int>(kRequestsPerSecond)) +
      "}\n"
      "    http:\n      url: " +
      base_url +
      "/answer\n      body: {question: \"{{question}}\"}\n      output_path: $.answer\n"
      "schedules:\n";
  // One schedule per job, so one manual fire of each enqueues one job.
  for (int i = 0; i < kSlots; ++i)
    yaml += "  nightly-" + std::to_string(i) + ":\n    cron: \"0 3 * * *\"\n    goldenset: qa\n    targets: [api]\n";
  return yaml;
}

std::string GoldenSet() {
  std::string yaml = "name: qa\ncases:\n";
  for (int i = 0; i < kCases; ++i)
    yaml += "  - id: c" + std::to_string(i) + "\n    vars: {question: q" + std::to_string(i) +
            "}\n    assert: [{type: contains, value: ok}]\n";
  return yaml;
}

TEST(ServeRateLimit, JobsOfATargetWithSeveralSlotsTogetherStayWithinItsRateLimit) {
  testing::TestDatabase tdb;
  testing::TempDir dir;
  testing::TestHttpServer model(
      [](const testing::TestHttpRequest&) { return testing::TestHttpResponse::Json(R"({"answer":"ok"})"); });
  DriftwatchCli cli(dir.path(), tdb.url());
  const std::string config = dir.WriteFile("driftwatch.yaml", Config(model.BaseUrl())).string();
  const std::string goldenset = dir.WriteFile("qa.yaml", GoldenSet()).string();
  CliOutcome published = cli.Run({"goldenset", "publish", goldenset, "--config", config});
  ASSERT_EQ(published.exit_code, 0) << published.out << published.err;
  CliOutcome slots = cli.Run({"schedule", "slots", "api", std::to_string(kSlots), "--config", config});
  ASSERT_EQ(slots.exit_code, 0) << slots.out << slots.err;
  for (int i = 0; i < kSlots; ++i) {
    CliOutcome fired = cli.Run({"schedule", "fire", "nightly-" + std::to_string(i), "--config", config});
    ASSERT_EQ(fired.exit_code, 0) << fired.out << fired.err;
  }

  // Two processes with two workers each: more workers than slots.
  std::vector<CliProcess> serves;
  for (int i = 0; i < 2; ++i)
    serves.push_back(cli.Start({"serve", "--config", config, "--no-http", "--no-scheduler", "--no-watch", "--workers",
                                "2", "--as", "serve-" + std::to_string(i)}));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (std::chrono::steady_clock::now() < deadline &&
         tdb.Query("SELECT count(*) FROM ops.job WHERE state = 'done'") != std::to_string(kSlots))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (const auto& serve : serves) ::kill(serve.pid, SIGTERM);
  for (const auto& serve : serves) {
    CliOutcome stopped = DriftwatchCli::Wait(serve, std::chrono::seconds(30));
    EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  }
  ASSERT_EQ(tdb.Query("SELECT count(*) FROM ops.job WHERE state = 'done'"), std::to_string(kSlots))
      << tdb.Query("SELECT string_agg(state || ': ' || coalesce(error, ''), E'\\n') FROM ops.job");

  // The jobs really ran at the same time, in both processes.
  EXPECT_EQ(tdb.Query("SELECT (max(started_at) < min(finished_at))::text FROM ops.job"), "true");
  EXPECT_EQ(tdb.Query("SELECT count(DISTINCT split_part(worker, '/', 1)) FROM ops.job_attempt"), "2");

  std::vector<testing::TestHttpRequest> requests = model.Requests();
  ASSERT_EQ(requests.size(), static_cast<size_t>(kSlots * kCases));
  std::vector<double> at;
  for (const auto& r : requests)
    at.push_back(std::chrono::duration<double>(r.received_at - requests.front().received_at).count());
  std::sort(at.begin(), at.end());
  // Token buckets: in any interval of length d the S buckets together allow
  // at most their capacities (S × rate/S = rate) plus rate × d. Arrival
  // times jitter by a few milliseconds around the send times.
  constexpr double kJitterSeconds = 0.05;
  for (size_t i = 0; i < at.size(); ++i)
    for (size_t j = i; j < at.size(); ++j) {
      const double allowed = kRequestsPerSecond * (at[j] - at[i] + kJitterSeconds) + kRequestsPerSecond;
      ASSERT_LE(static_cast<double>(j - i + 1), allowed)
          << (j - i + 1) << " requests arrived within " << (at[j] - at[i]) << " s";
    }
}

}  // namespace
}  // namespace dw
