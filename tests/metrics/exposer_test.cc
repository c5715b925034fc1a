#include "metrics/exposer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "metrics/drift_metrics.h"
#include "metrics/exposition.h"
#include "metrics/observation_fixtures.h"
#include "metrics/samples.h"
#include "support/processes.h"
#include "support/temp_dir.h"

namespace dw::metrics {
namespace {

using ::testing::HasSubstr;
using dw::testing::HttpGet;
using ::testing::Optional;
using testing::ParseSamples;
using testing::SampleMetric;
using testing::SampleRun;
using testing::ValueOf;

std::string MetricsUrl(const MetricsExposer& exposer, const std::string& path = "/metrics") {
  return "http://127.0.0.1:" + std::to_string(exposer.port()) + path;
}

TEST(MetricsExposer, ServesTheCurrentStateOnEachScrape) {
  DriftMetrics metrics;
  auto exposer = MetricsExposer::Start("127.0.0.1:0", metrics.text_renderer());
  ASSERT_TRUE(exposer) << exposer.error().message;
  ASSERT_GT((*exposer)->port(), 0);

  ASSERT_TRUE(metrics.Record(SampleMetric()));
  auto first = HttpGet(MetricsUrl(**exposer));
  ASSERT_EQ(first.status, 200);
  std::map<std::string, std::string> labels = {
      {"golden_set", "support"}, {"target", "gpt"}, {"metric", "pass_rate"}, {"slice", "all"}};
  EXPECT_THAT(ValueOf(ParseSamples(first.body), "driftwatch_score", labels), Optional(0.81));

  MetricObservation better = SampleMetric();
  better.value = 0.9;
  ASSERT_TRUE(metrics.Record(better));
  auto second = HttpGet(MetricsUrl(**exposer));
  EXPECT_THAT(ValueOf(ParseSamples(second.body), "driftwatch_score", labels), Optional(0.9));
}

TEST(MetricsExposer, ScrapePassesPromtoolCheckMetrics) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleRun()));
  ASSERT_TRUE(metrics.Record(SampleMetric()));
  auto exposer = MetricsExposer::Start("127.0.0.1:0", metrics.text_renderer());
  ASSERT_TRUE(exposer) << exposer.error().message;
  auto scrape = HttpGet(MetricsUrl(**exposer));
  ASSERT_EQ(scrape.status, 200);
  dw::testing::TempDir dir;
  auto result = dw::testing::RunCommand({"promtool", "check", "metrics"}, scrape.body, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST(MetricsExposer, ServesOnTheConfiguredPathOnly) {
  DriftMetrics metrics;
  auto exposer = MetricsExposer::Start("127.0.0.1:0", metrics.text_renderer(), "/internal/metrics");
  ASSERT_TRUE(exposer) << exposer.error().message;
  EXPECT_EQ(HttpGet(MetricsUrl(**exposer, "/internal/metrics")).status, 200);
  EXPECT_EQ(HttpGet(MetricsUrl(**exposer, "/metrics")).status, 404);
}

TEST(MetricsExposer, OutlivesTheDriftMetricsThatMadeTheRenderer) {
  auto metrics = std::make_unique<DriftMetrics>();
  ASSERT_TRUE(metrics->Record(SampleRun()));
  auto exposer = MetricsExposer::Start("127.0.0.1:0", metrics->text_renderer());
  ASSERT_TRUE(exposer) << exposer.error().message;
  metrics.reset();
  auto scrape = HttpGet(MetricsUrl(**exposer));
  EXPECT_EQ(scrape.status, 200);
  EXPECT_THAT(scrape.body, HasSubstr("driftwatch_last_run_success"));
}

TEST(MetricsExposer, AddressInUseIsUnavailable) {
  DriftMetrics metrics;
  auto first = MetricsExposer::Start("127.0.0.1:0", metrics.text_renderer());
  ASSERT_TRUE(first) << first.error().message;
  std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = MetricsExposer::Start(taken, metrics.text_renderer());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().kind, ErrorKind::kUnavailable);
  EXPECT_THAT(second.error().message, HasSubstr(taken));
}

TEST(MetricsExposer, RejectsAnEmptyAddressARelativePathOrNoRenderer) {
  DriftMetrics metrics;
  EXPECT_EQ(MetricsExposer::Start("", metrics.text_renderer()).error().kind,
            ErrorKind::kInvalidInput);
  EXPECT_EQ(MetricsExposer::Start("127.0.0.1:0", metrics.text_renderer(), "metrics").error().kind,
            ErrorKind::kInvalidInput);
  EXPECT_EQ(MetricsExposer::Start("127.0.0.1:0", nullptr).error().kind, ErrorKind::kInvalidInput);
}

TEST(MetricsExposer, UnknownHostIsUnavailable) {
  DriftMetrics metrics;
  auto exposer = MetricsExposer::Start("no-such-host.invalid:0", metrics.text_renderer());
  ASSERT_FALSE(exposer);
  EXPECT_EQ(exposer.error().kind, ErrorKind::kUnavailable);
}

TEST(MetricsExposer, AnswersWithTheTextFormatContentType) {
  DriftMetrics metrics;
  auto exposer = MetricsExposer::Start("127.0.0.1:0", metrics.text_renderer());
  ASSERT_TRUE(exposer) << exposer.error().message;
  auto scrape = HttpGet(MetricsUrl(**exposer));
  EXPECT_EQ(scrape.content_type, kTextContentType);
  EXPECT_EQ(scrape.body, metrics.TextExposition());
}

}  // namespace
}  // namespace dw::metrics
