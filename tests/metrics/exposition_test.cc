#include "metrics/exposition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <sstream>
#include <thread>
#include <tuple>

#include "metrics/drift_metrics.h"
#include "metrics/observation_fixtures.h"
#include "metrics/samples.h"
#include "support/processes.h"
#include "support/temp_dir.h"

namespace dw::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;
using testing::ParseSamples;
using dw::testing::RunCommand;
using testing::SampleMetric;
using testing::SampleRun;
using testing::ValueOf;

// A DriftMetrics with every family populated, for two golden sets.
std::unique_ptr<DriftMetrics> PopulatedMetrics() {
  DriftMetricsOptions options;
  options.build = {"0.1.0", "0123abc"};
  auto metrics = std::make_unique<DriftMetrics>(options);
  for (const char* golden_set : {"support", "billing/refunds"}) {
    RunObservation run = SampleRun(golden_set, "gpt");
    run.expected_interval_seconds = 86400;
    EXPECT_TRUE(metrics->Record(run));
    MetricObservation m = SampleMetric("pass_rate");
    m.golden_set = golden_set;
    EXPECT_TRUE(metrics->Record(m));
  }
  return metrics;
}

TEST(PromtoolCheckMetrics, AcceptsTheFullExposition) {
  dw::testing::TempDir dir;
  auto result = RunCommand({"promtool", "check", "metrics"}, PopulatedMetrics()->TextExposition(),
                           dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "");
}

TEST(PromtoolCheckMetrics, FlagsAnExpositionThatBreaksTheConventions) {
  dw::testing::TempDir dir;
  auto result = RunCommand({"promtool", "check", "metrics"},
                           "# HELP driftwatch_runs Runs.\n# TYPE driftwatch_runs counter\n"
                           "driftwatch_runs 3\n",
                           dir.path());
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.output, HasSubstr("_total"));
}

TEST(SerializeText, EndsWithNewlineAndOmitsFamiliesWithoutSamples) {
  prometheus::MetricFamily empty{
      "driftwatch_empty", "No samples.", prometheus::MetricType::Gauge, {}};
  prometheus::MetricFamily one{
      "driftwatch_one", "One sample.", prometheus::MetricType::Gauge, {{}}};
  one.metric[0].gauge.value = 1;
  std::string text = SerializeText({empty, one});
  EXPECT_EQ(text.back(), '\n');
  EXPECT_THAT(text, ::testing::Not(HasSubstr("driftwatch_empty")));
  EXPECT_THAT(text, HasSubstr("driftwatch_one 1\n"));
}

TEST(SerializeText, AgreesWithPrometheusCppSampleForSample) {
  auto families = PopulatedMetrics()->Collect();
  prometheus::MetricFamily summary{
      "driftwatch_test_summary", "A summary.", prometheus::MetricType::Summary, {{}}};
  summary.metric[0].summary = {3, 1.5, {{0.5, 0.25}, {0.9, 1.0}}};
  families.push_back(summary);
  std::ostringstream reference;
  prometheus::TextSerializer{}.Serialize(reference, families);
  auto ours = ParseSamples(SerializeText(families));
  auto theirs = ParseSamples(reference.str());
  // prometheus-cpp writes a histogram's _count and _sum before its buckets.
  auto by_series = [](const testing::Sample& a, const testing::Sample& b) {
    return std::tie(a.name, a.labels) < std::tie(b.name, b.labels);
  };
  std::sort(ours.begin(), ours.end(), by_series);
  std::sort(theirs.begin(), theirs.end(), by_series);
  ASSERT_EQ(ours.size(), theirs.size());
  for (std::size_t i = 0; i < ours.size(); ++i) {
    EXPECT_EQ(ours[i].name, theirs[i].name);
    EXPECT_EQ(ours[i].labels, theirs[i].labels) << ours[i].name;
    EXPECT_EQ(ours[i].value, theirs[i].value) << ours[i].name;
  }
}

TEST(SerializeText, WritesSpecialValuesAndHelpEscapes) {
  prometheus::MetricFamily family{
      "driftwatch_special", "Line one\nback\\slash.", prometheus::MetricType::Gauge, {{}, {}, {}}};
  family.metric[0].label = {{"v", "nan"}};
  family.metric[0].gauge.value = NAN;
  family.metric[1].label = {{"v", "inf"}};
  family.metric[1].gauge.value = INFINITY;
  family.metric[2].label = {{"v", "-inf"}};
  family.metric[2].gauge.value = -INFINITY;
  std::string text = SerializeText({family});
  EXPECT_THAT(text, HasSubstr("# HELP driftwatch_special Line one\\nback\\\\slash.\n"));
  EXPECT_THAT(text, HasSubstr("driftwatch_special{v=\"nan\"} NaN\n"));
  EXPECT_THAT(text, HasSubstr("driftwatch_special{v=\"inf\"} +Inf\n"));
  EXPECT_THAT(text, HasSubstr("driftwatch_special{v=\"-inf\"} -Inf\n"));
}

TEST(SerializeText, EscapesQuotesAndBackslashesInLabelValues) {
  DriftMetrics metrics;
  RunObservation run = SampleRun(R"(odd"name\set)", "gpt");
  ASSERT_TRUE(metrics.Record(run));
  std::string text = metrics.TextExposition();
  EXPECT_THAT(text, HasSubstr(R"(golden_set="odd\"name\\set")"));
  auto samples = ParseSamples(text);
  EXPECT_THAT(ValueOf(samples, "driftwatch_last_run_success",
                      {{"golden_set", R"(odd"name\set)"}, {"target", "gpt"}}),
              Optional(1.0));
}

TEST(WriteTextfile, WritesTheExpositionAndLeavesNoTemporaryFile) {
  dw::testing::TempDir dir;
  auto metrics = PopulatedMetrics();
  auto path = dir.path() / "driftwatch.prom";
  ASSERT_TRUE(metrics->WriteTextfile(path));
  EXPECT_EQ(dw::testing::ReadFile(path), metrics->TextExposition());
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    files.push_back(entry.path().filename().string());
  EXPECT_EQ(files, std::vector<std::string>{"driftwatch.prom"});
}

TEST(WriteTextfile, ReplacesAnExistingFile) {
  dw::testing::TempDir dir;
  auto path = dir.WriteFile("driftwatch.prom", "stale contents\n");
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleRun()));
  ASSERT_TRUE(metrics.WriteTextfile(path));
  EXPECT_EQ(dw::testing::ReadFile(path), metrics.TextExposition());
}

TEST(WriteTextfile, MissingDirectoryIsAnErrorNamingThePath) {
  dw::testing::TempDir dir;
  DriftMetrics metrics;
  auto status = metrics.WriteTextfile(dir.path() / "no-such-dir" / "driftwatch.prom");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().kind, ErrorKind::kUnavailable);
  EXPECT_THAT(status.error().message, HasSubstr("no-such-dir"));
}

TEST(WriteTextfile, FailedRenameKeepsTheTargetAndRemovesTheTemporaryFile) {
  dw::testing::TempDir dir;
  auto target = dir.path() / "driftwatch.prom";
  std::filesystem::create_directory(target);  // a directory cannot be replaced by a file
  dir.WriteFile("driftwatch.prom/keep", "x");
  auto status = WriteFileAtomically(target, "driftwatch_build_info 1\n");
  ASSERT_FALSE(status);
  EXPECT_TRUE(std::filesystem::is_directory(target));
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path()))
    ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST(WriteTextfile, ConcurrentReadersSeeOnlyCompleteFiles) {
  dw::testing::TempDir dir;
  auto path = dir.path() / "driftwatch.prom";
  const std::string a(256 * 1024, 'a');
  const std::string b(300 * 1024, 'b');
  ASSERT_TRUE(WriteFileAtomically(path, a));
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!done) {
      std::string seen = dw::testing::ReadFile(path);
      if (seen != a && seen != b) ++torn;
      ++reads;
    }
  });
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(WriteFileAtomically(path, i % 2 ? a : b));
  done = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(torn.load(), 0);
}

TEST(WriteFileAtomically, RejectsAPathWithoutFileName) {
  auto status = WriteFileAtomically("/tmp/", "x");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().kind, ErrorKind::kInvalidInput);
}

}  // namespace
}  // namespace dw::metrics
