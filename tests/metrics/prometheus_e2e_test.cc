// Proof against real servers: a Prometheus (Debian's prometheus 2.42) loads
// the shipped example configuration and rules, scrapes a `driftwatch serve`
// /metrics endpoint and a Pushgateway that a cron-style run pushed to, and
// sends alerts to an Alertmanager, all on 127.0.0.1 with state in a temporary
// directory. The tests drive a drifted run and follow the alert to
// Alertmanager, then execute every PromQL expression of the dashboards and
// rules against that Prometheus.
//
// The only change to the shipped files: every alert's `for:` is shortened to
// 1s (in a copy) so an alert fires within seconds. The durations themselves
// are covered by the promtool unit tests in tests/prometheus/.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "metrics/drift_metrics.h"
#include "metrics/exposer.h"
#include "metrics/observation_fixtures.h"
#include "support/processes.h"
#include "support/temp_dir.h"

namespace dw::metrics {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using dw::testing::ChildProcess;
using dw::testing::GetJson;
using dw::testing::HttpGet;
using dw::testing::Prometheus;
using dw::testing::Pushgateway;
using dw::testing::StartServer;
using dw::testing::UrlEncode;

const std::filesystem::path kSourceDir = DRIFTWATCH_SOURCE_DIR;
const std::filesystem::path kPrometheusDir = kSourceDir / "config/prometheus";
const std::filesystem::path kDashboardDir = kSourceDir / "dashboards";

// Generous bound for anything the servers do asynchronously on a loaded
// machine; the happy path takes a few seconds.
constexpr auto kPatience = std::chrono::seconds(60);

// Polls `done` every 200 ms until it returns true or `timeout` passes.
bool Eventually(const std::function<bool()>& done, std::chrono::seconds timeout = kPatience) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// ------------------------------------------------------------------ servers

// A copy of a shipped rule file with every alert's `for:` set to 1s.
std::filesystem::path ShortenedRules(const std::filesystem::path& source,
                                     const std::filesystem::path& dir) {
  std::string text = dw::testing::ReadFile(source);
  text = std::regex_replace(text, std::regex(R"((\n\s+for:\s*)\S+)"), "$011s");
  auto path = dir / source.filename();
  std::ofstream(path) << text;
  return path;
}

// config/prometheus/prometheus.example.yml with the test's ports, 1s
// intervals, the shortened rules and an Alertmanager.
std::string PrometheusConfig(int serve_port, int gateway_port, int alertmanager_port,
                             const std::vector<std::filesystem::path>& rules) {
  YAML::Node config = YAML::LoadFile((kPrometheusDir / "prometheus.example.yml").string());
  config["global"]["scrape_interval"] = "1s";
  config["global"]["scrape_timeout"] = "1s";
  config["global"]["evaluation_interval"] = "1s";
  YAML::Node rule_files(YAML::NodeType::Sequence);
  for (const auto& path : rules) rule_files.push_back(path.string());
  config["rule_files"] = rule_files;
  auto targets = [](int port) {
    YAML::Node list(YAML::NodeType::Sequence);
    list.push_back("127.0.0.1:" + std::to_string(port));
    YAML::Node static_config;
    static_config["targets"] = list;
    YAML::Node static_configs(YAML::NodeType::Sequence);
    static_configs.push_back(static_config);
    return static_configs;
  };
  for (YAML::Node job : config["scrape_configs"]) {
    std::string name = job["job_name"].as<std::string>();
    job["static_configs"] = targets(name == "pushgateway" ? gateway_port : serve_port);
  }
  YAML::Node alertmanager;
  alertmanager["static_configs"] = targets(alertmanager_port);
  YAML::Node alertmanagers(YAML::NodeType::Sequence);
  alertmanagers.push_back(alertmanager);
  config["alerting"]["alertmanagers"] = alertmanagers;
  YAML::Emitter out;
  out << config;
  return out.c_str();
}

constexpr std::string_view kAlertmanagerConfig = R"(route:
  receiver: blackhole
  group_by: [alertname, golden_set, target]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: blackhole
)";

// --------------------------------------------------------------- the stack

// The observations: a cron-style run of support × gpt that regressed
// critically (pushed to the gateway), and a `driftwatch serve` that ran
// support × claude without change (scraped directly).
RunObservation PairRun(const std::string& target, std::int64_t finished_at) {
  RunObservation run = testing::SampleRun("support", target);
  run.finished_at = finished_at;
  run.expected_interval_seconds = 3600;
  return run;
}

MetricObservation Unchanged(const std::string& target) {
  MetricObservation m = testing::SampleMetric();
  m.target = target;
  m.value = 0.93;
  m.ci_low = 0.88;
  m.ci_high = 0.97;
  m.baseline = 0.92;
  m.delta = 0.01;
  m.delta_ci_low = -0.03;
  m.delta_ci_high = 0.05;
  m.p_value = 0.61;
  m.q_value = 0.74;
  m.verdict = Verdict::kUnchanged;
  m.severity = Severity::kNone;
  m.cusum_upper = 0.4;
  m.cusum_lower = 0.2;
  m.ewma = 0.3;
  m.runs_in_alarm = 0;
  return m;
}

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class PrometheusE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    gateway_ = std::make_unique<Pushgateway>(dir_.path());
    ASSERT_TRUE(gateway_->ready()) << gateway_->log();

    auto serve = MetricsExposer::Start("127.0.0.1:0", serve_metrics_.text_renderer());
    ASSERT_TRUE(serve) << serve.error().message;
    serve_ = std::move(*serve);

    std::filesystem::create_directories(dir_.path() / "alertmanager");
    auto am_config = dir_.WriteFile("alertmanager.yml", std::string(kAlertmanagerConfig));
    alertmanager_ = StartServer(
        [&](int port) {
          return std::vector<std::string>{
              "prometheus-alertmanager", "--config.file=" + am_config.string(),
              "--storage.path=" + (dir_.path() / "alertmanager").string(),
              "--web.listen-address=127.0.0.1:" + std::to_string(port),
              "--cluster.listen-address="};  // no gossip port
        },
        "/-/ready", dir_.path() / "alertmanager.log", &alertmanager_port_);
    ASSERT_TRUE(alertmanager_) << dw::testing::ReadFile(dir_.path() / "alertmanager.log");

    // Driftwatch has something to say before Prometheus looks.
    ASSERT_TRUE(serve_metrics_.Record(PairRun("claude", Now() - 60)));
    ASSERT_TRUE(serve_metrics_.Record(Unchanged("claude")));
    ASSERT_TRUE(push_metrics_.Record(PairRun("gpt", Now() - 60)));
    ASSERT_TRUE(push_metrics_.Record(testing::SampleMetric()));  // regressed, critical
    ASSERT_TRUE(push_metrics_.Push(Gateway()));

    std::vector<std::filesystem::path> rules = {
        ShortenedRules(kPrometheusDir / "driftwatch-rules.yml", dir_.path()),
        ShortenedRules(kPrometheusDir / "driftwatch-alerts.yml", dir_.path())};
    prometheus_ = std::make_unique<Prometheus>(
        dir_.path(), PrometheusConfig(serve_->port(), GatewayPort(), alertmanager_port_, rules));
    ASSERT_TRUE(prometheus_->ready()) << prometheus_->log();
  }

  void TearDown() override {
    if (HasFailure() && prometheus_) std::cerr << "prometheus.log:\n" << prometheus_->log();
  }

  PushTarget Gateway() const {
    PushTarget target;
    target.url = gateway_->url();
    return target;
  }
  int GatewayPort() const { return std::stoi(gateway_->url().substr(gateway_->url().rfind(':') + 1)); }
  std::string PrometheusUrl() const { return prometheus_->url(); }
  std::string AlertmanagerUrl() const {
    return "http://127.0.0.1:" + std::to_string(alertmanager_port_);
  }

  // An instant query's result vector (null if the query failed).
  json Query(const std::string& expr) const { return prometheus_->Query(expr); }

  // The value of the single sample `expr` returns, if it returns exactly one.
  std::optional<double> Value(const std::string& expr) const {
    json result = Query(expr);
    if (!result.is_array() || result.size() != 1) return std::nullopt;
    return std::stod(result[0]["value"][1].get<std::string>());
  }

  // Waits until Prometheus has scraped both Driftwatch sources.
  bool Scraped() const {
    return Eventually([&] {
      return Value(R"(driftwatch_runs_total{target="gpt", result="success"})") &&
             Value(R"(driftwatch_runs_total{target="claude", result="success"})");
    });
  }

  // A second run of each pair after Prometheus saw the first, so counters
  // and the latency histogram have increased within any rate() window.
  void RecordSecondRuns() {
    ASSERT_TRUE(Scraped());
    ASSERT_TRUE(serve_metrics_.Record(PairRun("claude", Now())));
    ASSERT_TRUE(push_metrics_.Record(PairRun("gpt", Now())));
    ASSERT_TRUE(push_metrics_.Push(Gateway()));
    ASSERT_TRUE(Eventually([&] {
      return Value(R"(driftwatch_runs_total{target="gpt", result="success"})") == 2.0 &&
             Value(R"(driftwatch_runs_total{target="claude", result="success"})") == 2.0;
    }));
  }

  // The firing regression alert of support × gpt in Prometheus.
  json FiringRegression() const {
    json reply = GetJson(PrometheusUrl() + "/api/v1/alerts");
    if (reply.is_discarded()) return json();
    for (const json& alert : reply["data"]["alerts"]) {
      const json& labels = alert["labels"];
      if (labels.value("alertname", "") == "DriftwatchRegressionDetected" &&
          labels.value("target", "") == "gpt" && alert.value("state", "") == "firing")
        return alert;
    }
    return json();
  }

  dw::testing::TempDir dir_;
  DriftMetrics serve_metrics_;
  DriftMetrics push_metrics_;
  std::unique_ptr<Pushgateway> gateway_;
  std::unique_ptr<MetricsExposer> serve_;
  std::unique_ptr<ChildProcess> alertmanager_;
  std::unique_ptr<Prometheus> prometheus_;
  int alertmanager_port_ = 0;
};

TEST_F(PrometheusE2e, PrometheusScrapesDriftwatchServeAndThePushgateway) {
  ASSERT_TRUE(Scraped()) << "no Driftwatch series reached Prometheus";
  EXPECT_EQ(Value(R"(up{job="driftwatch"})"), 1.0);
  EXPECT_EQ(Value(R"(up{job="pushgateway"})"), 1.0);
  // Served series carry the scrape's job and instance; pushed ones keep the
  // job of their grouping key and an empty instance (honor_labels).
  std::string serve_instance = "127.0.0.1:" + std::to_string(serve_->port());
  EXPECT_EQ(Value(R"(driftwatch_score{job="driftwatch", instance=")" + serve_instance +
                  R"(", golden_set="support", target="claude", metric="pass_rate", slice="all"})"),
            0.93);
  EXPECT_EQ(Value(R"(driftwatch_score{job="driftwatch", instance="", golden_set="support", )"
                  R"(target="gpt", metric="pass_rate", slice="all"})"),
            0.81);
  EXPECT_FALSE(Value(R"(count({exported_job!=""}))")) << "pushed labels were renamed exported_*";
}

TEST_F(PrometheusE2e, DriftedRunAloneFiresTheRegressionAlertAndReachesAlertmanager) {
  json alert;
  ASSERT_TRUE(Eventually([&] { return !(alert = FiringRegression()).is_null(); }))
      << GetJson(PrometheusUrl() + "/api/v1/alerts").dump(2);
  EXPECT_EQ(alert["labels"].value("severity", ""), "critical");
  EXPECT_EQ(alert["labels"].value("golden_set", ""), "support");
  EXPECT_EQ(alert["labels"].value("metric", ""), "pass_rate");
  // The description's template queried Prometheus for the delta.
  EXPECT_THAT(alert["annotations"].value("description", ""), HasSubstr("(delta -0.090)"));

  json received;
  ASSERT_TRUE(Eventually([&] {
    json alerts = GetJson(AlertmanagerUrl() + "/api/v2/alerts?filter=" +
                          UrlEncode(R"(alertname="DriftwatchRegressionDetected")"));
    for (const json& a : alerts.is_array() ? alerts : json::array())
      if (a["labels"].value("target", "") == "gpt") received = a;
    return !received.is_null();
  })) << "the alert never arrived at Alertmanager";
  EXPECT_EQ(received["labels"].value("severity", ""), "critical");
  EXPECT_EQ(received["status"].value("state", ""), "active");
  EXPECT_EQ(received["annotations"].value("runbook_url", ""),
            "https://driftwatch.example.com/docs/runbooks#driftwatchregressiondetected");

  // The pair served alongside it did not change: no regression alert.
  json unchanged = Query(R"(ALERTS{alertname="DriftwatchRegressionDetected", target="claude"})");
  ASSERT_TRUE(unchanged.is_array());
  EXPECT_TRUE(unchanged.empty()) << unchanged.dump();
}

// ---------------------------------------------------- dashboard expressions

// Concrete values for the dashboards' template variables and Grafana's
// interval variables.
std::string Substitute(std::string expr) {
  static const std::vector<std::pair<std::string, std::string>> kValues = {
      {"__rate_interval", "1m"}, {"__range", "1h"},  {"__interval", "15s"},
      {"golden_set", "support"}, {"target", "gpt"},  {"metric", "pass_rate"},
      {"slice", "all"}};
  for (const auto& [name, value] : kValues) {
    expr = std::regex_replace(expr, std::regex("\\$\\{" + name + "(:[a-z]+)?\\}"), value);
    expr = std::regex_replace(expr, std::regex("\\$" + name + "\\b"), value);
  }
  return expr;
}

struct PromQuery {
  std::string where;
  std::string expr;
};

// Every PromQL target and query variable of every dashboard, substituted.
// label_values(selector, label) variables become count by (label) (selector).
std::vector<PromQuery> DashboardQueries() {
  std::vector<PromQuery> queries;
  for (const auto& entry : std::filesystem::directory_iterator(kDashboardDir)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    json d = json::parse(in);
    std::string file = entry.path().filename().string();
    std::vector<json> panels;
    for (const json& p : d["panels"]) {
      panels.push_back(p);
      for (const json& nested : p.value("panels", json::array())) panels.push_back(nested);
    }
    for (const json& p : panels)
      for (const json& t : p.value("targets", json::array()))
        if (t.contains("expr"))
          queries.push_back({file + " \"" + p.value("title", "") + "\" " + t.value("refId", ""),
                             Substitute(t["expr"])});
    for (const json& v : d["templating"]["list"]) {
      if (v.value("type", "") != "query" || v["datasource"].value("type", "") != "prometheus")
        continue;
      std::smatch m;
      std::string q = v["query"]["query"];
      static const std::regex kLabelValues(R"(^label_values\((.*),\s*([A-Za-z_]+)\)$)");
      if (!std::regex_match(q, m, kLabelValues)) {
        ADD_FAILURE() << file << " $" << v["name"] << ": unsupported variable query " << q;
        continue;
      }
      queries.push_back({file + " $" + v["name"].get<std::string>(),
                         Substitute("count by (" + m[2].str() + ") (" + m[1].str() + ")")});
    }
  }
  return queries;
}

// One test for both (each Prometheus takes ~5 s to scrape its targets for
// the first time): every dashboard expression returns drawable data, and
// every rule expression evaluates, recording rules non-empty.
TEST_F(PrometheusE2e, EveryDashboardAndRuleExpressionEvaluates) {
  ASSERT_NO_FATAL_FAILURE(RecordSecondRuns());
  ASSERT_TRUE(Eventually([&] { return !FiringRegression().is_null(); }));
  auto queries = DashboardQueries();
  ASSERT_GE(queries.size(), 40u);
  for (const PromQuery& q : queries) {
    EXPECT_EQ(q.expr.find('$'), std::string::npos) << q.where << ": unsubstituted variable";
    json result;
    // Recording rules and rate() windows can lag a scrape behind.
    bool data = Eventually(
        [&] {
          result = Query(q.expr);
          return result.is_array() && !result.empty();
        },
        std::chrono::seconds(15));
    EXPECT_TRUE(data) << q.where << " returns " << (result.is_null() ? "an error" : "no data")
                      << ":\n" << q.expr;
    // A value Grafana cannot draw is no data either.
    for (const json& sample : result.is_array() ? result : json::array())
      EXPECT_NE(sample["value"][1], "NaN") << q.where << ":\n" << q.expr;
  }

  int rules = 0;
  for (const char* file : {"driftwatch-rules.yml", "driftwatch-alerts.yml"}) {
    YAML::Node groups = YAML::LoadFile((kPrometheusDir / file).string())["groups"];
    for (const auto& group : groups)
      for (const auto& rule : group["rules"]) {
        ++rules;
        std::string expr = rule["expr"].as<std::string>();
        bool record = static_cast<bool>(rule["record"]);
        std::string name = (record ? rule["record"] : rule["alert"]).as<std::string>();
        json result;
        bool evaluated = Eventually(
            [&] {
              result = Query(expr);
              // Recording rules must produce series for the fixture; alert
              // conditions may legitimately be empty (nothing is stale).
              return result.is_array() && (!record || !result.empty());
            },
            std::chrono::seconds(15));
        EXPECT_TRUE(evaluated) << file << " " << name << ":\n" << expr;
        if (record) {
          EXPECT_TRUE(Value("count(" + name + ")")) << name << " is not being recorded";
        }
      }
  }
  EXPECT_GE(rules, 10);
}

// What Prometheus scrapes from Driftwatch, served and pushed, passes
// promtool's lint (no Prometheus needed for that).
TEST(PrometheusExposition, ServedAndPushedBodiesPassPromtoolCheckMetrics) {
  dw::testing::TempDir dir;
  DriftMetrics serve_metrics, push_metrics;
  ASSERT_TRUE(serve_metrics.Record(PairRun("claude", Now())));
  ASSERT_TRUE(serve_metrics.Record(Unchanged("claude")));
  ASSERT_TRUE(push_metrics.Record(PairRun("gpt", Now())));
  ASSERT_TRUE(push_metrics.Record(testing::SampleMetric()));
  auto serve = MetricsExposer::Start("127.0.0.1:0", serve_metrics.text_renderer());
  ASSERT_TRUE(serve) << serve.error().message;
  auto served = HttpGet("http://127.0.0.1:" + std::to_string((*serve)->port()) + "/metrics");
  ASSERT_EQ(served.status, 200);
  for (const std::string& body : {served.body, push_metrics.TextExposition("support", "gpt")}) {
    ASSERT_THAT(body, HasSubstr("driftwatch_score{"));
    auto result = dw::testing::RunCommand({"promtool", "check", "metrics"}, body, dir.path());
    EXPECT_EQ(result.exit_code, 0) << result.output;
  }
}

}  // namespace
}  // namespace dw::metrics
