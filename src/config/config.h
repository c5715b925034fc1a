// The typed form of driftwatch.yaml. Produced by LoadConfig (config/loader.h);
// plain values, safe to copy and share read-only between threads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dw::config {

// Retries with exponential backoff and full jitter; Retry-After is honoured
// on 429/503 up to max_delay_ms.
struct RetryPolicy {
  int max_attempts = 3;  // total attempts including the first
  int base_delay_ms = 200;
  int max_delay_ms = 10000;
};

// Zero means unlimited.
struct RateLimit {
  double requests_per_second = 0;
  double tokens_per_minute = 0;
};

// USD per million tokens.
struct Price {
  double input_per_mtok = 0;
  double output_per_mtok = 0;
};

// provider: http. `body` is a JSON template whose strings may contain
// {{var}} / {{prompt}}; `output_path` is a JSON path such as "$.data.text".
struct HttpProviderConfig {
  std::string method = "POST";
  std::string url;
  std::map<std::string, std::string> headers;  // values may use ${ENV} resolved at load
  nlohmann::json body;
  std::string output_path = "$.output";
  std::string input_tokens_path;   // optional
  std::string output_tokens_path;  // optional
};

// provider: exec. The rendered prompt is written to stdin; stdout is the output.
struct ExecProviderConfig {
  std::vector<std::string> command;
};

// provider: sim. A deterministic simulated model: for each (seed, case,
// repeat, run salt) it answers correctly with probability `accuracy`,
// otherwise wrongly; the remaining rates inject failure classes.
struct SimProviderConfig {
  double accuracy = 0.9;
  double refusal_rate = 0;
  double format_error_rate = 0;
  double truncation_rate = 0;
  double empty_rate = 0;
  double latency_ms = 0;         // mean simulated latency
  double tokens_per_char = 0.25;  // reported usage
  std::uint64_t seed = 1;
  std::string answer_var = "expected";  // the var holding the correct answer
};

// A model behind a prompt: the thing that is replayed and signed off.
struct TargetConfig {
  std::string name;
  std::string provider;  // openai-chat | http | exec | sim
  std::string base_url;  // openai-chat: e.g. https://api.openai.com/v1
  std::string model;
  std::string api_key_env;  // name of the environment variable holding the key
  std::string prompt;       // template with {{var}}; used when messages is null
  nlohmann::json messages;  // array of {role, content} templates, or null
  nlohmann::json params = nlohmann::json::object();  // temperature, max_tokens, seed, ...
  int concurrency = 0;  // 0: use the run's global concurrency
  RateLimit rate_limit;
  int timeout_ms = 30000;
  // HTTP providers: a larger response body is provider_error, not retried.
  std::int64_t max_response_bytes = 8 << 20;
  RetryPolicy retry;
  Price price;
  std::optional<double> budget_usd;
  bool verify_tls = true;
  std::string ca_file;  // extra CA bundle (PEM) for HTTPS
  HttpProviderConfig http;
  ExecProviderConfig exec;
  SimProviderConfig sim;
  std::string file_location;  // "path:line:col" of the definition, for messages

  // Canonical description of the target (no secrets, no location): its
  // content hash identifies a target version.
  nlohmann::json ToJson() const;
  std::string VersionHash() const;
};

// Model-graded scorers (llm-rubric, factuality, similar) call these targets.
struct ScorerSettings {
  std::string judge_target;       // target used by llm-rubric/factuality
  std::string embeddings_target;  // target used by `similar` (openai /embeddings)
};

struct ScheduleConfig {
  std::string name;
  std::string cron;  // 5-field cron expression
  std::string timezone = "UTC";
  std::string goldenset;  // NAME or NAME@VERSION ("latest published" without @)
  std::vector<std::string> targets;
  int repeat = 1;
  std::string catch_up = "once";  // once | skip
  bool enabled = true;
  // The `policies:` entry its runs are compared under (the loader checks it
  // exists); empty: the golden set's policy (Config::PolicyFor).
  std::string policy;
  // Cost budget of each of its runs, in USD; unset: the target's budget_usd.
  std::optional<double> budget_usd;
  // Calls in flight per run; 0: the target's concurrency, else the config's.
  // Never more than the target's own concurrency when it sets one.
  int concurrency = 0;
};

// Statistical and sign-off policy for a golden set (defaults from
// reference/drift-statistics.md §7).
struct PolicyConfig {
  std::string name;  // golden-set name, or "default"
  std::string primary_metric = "pass_rate";
  double alpha = 0.01;
  double fdr_q = 0.05;
  double delta_min = 0.02;
  double ni_margin = 0.02;
  int min_cases = 30;
  int permutations = 10000;
  int bootstrap = 10000;
  std::map<std::string, int> min_approvals = {{"production", 2}, {"staging", 1}};
};

struct MetricsConfig {
  std::string pushgateway_url;  // used by `run --push` when no URL is given
  std::string textfile_path;    // node_exporter textfile output, if set
  std::string listen = "127.0.0.1:9464";
};

struct Config {
  std::string path;           // file it was loaded from
  std::string database_url;   // empty: embedded cluster
  std::string data_dir = ".driftwatch";
  // How long a run waits for a lost database connection to come back
  // (reconnecting) before it fails; completed results are kept either way.
  double reconnect_seconds = 30;
  int concurrency = 16;
  std::map<std::string, TargetConfig> targets;
  ScorerSettings scorers;
  std::map<std::string, ScheduleConfig> schedules;
  std::map<std::string, PolicyConfig> policies;
  MetricsConfig metrics;

  // The policy for a golden set: its own entry, else "default", else defaults.
  PolicyConfig PolicyFor(const std::string& goldenset) const;
  // The policy a run of `goldenset` is compared under: the entry `policy`
  // names (a schedule's `policy:`), or PolicyFor(goldenset) when `policy` is
  // empty. nullopt when `policy` names no entry of `policies`.
  std::optional<PolicyConfig> PolicyForRun(const std::string& goldenset, const std::string& policy) const;
  // The names of `policies`, comma-separated, for messages ("(none)" when empty).
  std::string PolicyNames() const;
};

}  // namespace dw::config
