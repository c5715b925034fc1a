#include "config/loader.h"

#include <set>

#include "config/yaml_util.h"

namespace dw::config {
namespace {


std::optional<std::string> GetExpanded(const YAML::Node& map, std::string_view key, Diagnostics& diag,
                                       bool required = false) {
  auto raw = GetString(map, key, diag, required);
  if (!raw) return std::nullopt;
  auto expanded = ExpandEnv(*raw);
  if (!expanded) {
    diag.Add(map[std::string(key)], "'" + std::string(key) + "': " + expanded.error().message);
    return std::nullopt;
  }
  return *expanded;
}

bool IsMapOrReport(const YAML::Node& node, const std::string& what, Diagnostics& diag) {
  if (node.IsMap()) return true;
  diag.Add(node, what + " must be a mapping");
  return false;
}

void ParseRetry(const YAML::Node& node, RetryPolicy& retry, Diagnostics& diag) {
  if (!IsMapOrReport(node, "'retries'", diag)) return;
  CheckKeys(node, {"max_attempts", "base_delay_ms", "max_delay_ms"}, "retries", diag);
  if (auto v = GetInt(node, "max_attempts", diag, false, 1, 20)) retry.max_attempts = static_cast<int>(*v);
  if (auto v = GetInt(node, "base_delay_ms", diag, false, 0, 600000)) retry.base_delay_ms = static_cast<int>(*v);
  if (auto v = GetInt(node, "max_delay_ms", diag, false, 0, 3600000)) retry.max_delay_ms = static_cast<int>(*v);
}

void ParseTarget(const std::string& name, const YAML::Node& node, Config& config, Diagnostics& diag) {
  const std::string what = "target '" + name + "'";
  if (!IsMapOrReport(node, what, diag)) return;
  CheckKeys(node,
            {"provider", "base_url", "model", "api_key_env", "prompt", "messages", "params", "concurrency",
             "rate_limit", "timeout_ms", "max_response_bytes", "retries", "price", "budget_usd", "verify_tls",
             "ca_file", "http", "exec", "sim"},
            what, diag);
  TargetConfig t;
  t.name = name;
  t.file_location = diag.Where(node.Mark());
  if (auto v = GetEnum(node, "provider", {"openai-chat", "http", "exec", "sim"}, diag, true)) t.provider = *v;
  if (auto v = GetExpanded(node, "base_url", diag)) t.base_url = *v;
  if (auto v = GetExpanded(node, "model", diag)) t.model = *v;
  if (auto v = GetString(node, "api_key_env", diag)) {
    t.api_key_env = *v;
    if (v->find("${") != std::string::npos || v->find_first_of(" \t") != std::string::npos)
      diag.Add(node["api_key_env"], "'api_key_env' names an environment variable (e.g. OPENAI_API_KEY); "
                                    "never put the key itself in the config");
  }
  if (auto v = GetString(node, "prompt", diag)) t.prompt = *v;
  if (node["messages"]) {
    const YAML::Node messages = node["messages"];
    if (!messages.IsSequence() || messages.size() == 0) {
      diag.Add(messages, "'messages' must be a non-empty list of {role, content}");
    } else {
      for (const auto& m : messages) {
        if (!IsMapOrReport(m, "each message", diag)) continue;
        CheckKeys(m, {"role", "content"}, "message", diag);
        GetEnum(m, "role", {"system", "user", "assistant", "developer"}, diag, true);
        GetString(m, "content", diag, true);
      }
      t.messages = YamlToJson(messages);
    }
  }
  if (node["params"]) {
    if (IsMapOrReport(node["params"], "'params'", diag)) {
      const YAML::Node p = node["params"];
      CheckKeys(p,
                {"temperature", "max_tokens", "top_p", "seed", "response_format", "tools", "tool_choice", "stop",
                 "presence_penalty", "frequency_penalty", "max_completion_tokens"},
                "params of " + what, diag);
      GetNumber(p, "temperature", diag, false, 0, 2);
      GetNumber(p, "top_p", diag, false, 0, 1);
      GetInt(p, "max_tokens", diag, false, 1, 10000000);
      GetInt(p, "seed", diag);
      t.params = YamlToJson(p);
    }
  }
  if (auto v = GetInt(node, "concurrency", diag, false, 1, 10000)) t.concurrency = static_cast<int>(*v);
  if (auto v = GetInt(node, "timeout_ms", diag, false, 1, 3600000)) t.timeout_ms = static_cast<int>(*v);
  if (auto v = GetInt(node, "max_response_bytes", diag, false, 1024, 1LL << 30)) t.max_response_bytes = *v;
  if (node["rate_limit"] && IsMapOrReport(node["rate_limit"], "'rate_limit'", diag)) {
    CheckKeys(node["rate_limit"], {"requests_per_second", "tokens_per_minute"}, "rate_limit", diag);
    if (auto v = GetNumber(node["rate_limit"], "requests_per_second", diag, false, 0))
      t.rate_limit.requests_per_second = *v;
    if (auto v = GetNumber(node["rate_limit"], "tokens_per_minute", diag, false, 0))
      t.rate_limit.tokens_per_minute = *v;
  }
  if (node["retries"]) ParseRetry(node["retries"], t.retry, diag);
  if (node["price"] && IsMapOrReport(node["price"], "'price'", diag)) {
    CheckKeys(node["price"], {"input_per_mtok", "output_per_mtok"}, "price", diag);
    if (auto v = GetNumber(node["price"], "input_per_mtok", diag, false, 0)) t.price.input_per_mtok = *v;
    if (auto v = GetNumber(node["price"], "output_per_mtok", diag, false, 0)) t.price.output_per_mtok = *v;
  }
  if (auto v = GetNumber(node, "budget_usd", diag, false, 0)) t.budget_usd = *v;
  if (auto v = GetBool(node, "verify_tls", diag)) t.verify_tls = *v;
  if (auto v = GetString(node, "ca_file", diag)) t.ca_file = *v;

  if (t.provider == "openai-chat") {
    if (t.base_url.empty()) diag.Add(node, what + ": provider openai-chat needs 'base_url'");
    if (t.model.empty()) diag.Add(node, what + ": provider openai-chat needs 'model'");
  }
  if ((t.provider == "openai-chat" || t.provider == "sim" || t.provider == "exec") && t.prompt.empty() &&
      t.messages.is_null())
    diag.Add(node, what + ": needs 'prompt' or 'messages'");
  if (!t.prompt.empty() && !t.messages.is_null())
    diag.Add(node["messages"], what + ": give either 'prompt' or 'messages', not both");

  const YAML::Node http = node["http"];
  if (http) {
    if (t.provider != "http") diag.Add(http, "'http' settings only apply to provider http");
    if (IsMapOrReport(http, "'http'", diag)) {
      CheckKeys(http, {"method", "url", "headers", "body", "output_path", "input_tokens_path", "output_tokens_path"},
                "http", diag);
      if (auto v = GetEnum(http, "method", {"GET", "POST", "PUT", "PATCH"}, diag)) t.http.method = *v;
      if (auto v = GetExpanded(http, "url", diag, true)) t.http.url = *v;
      if (http["headers"] && IsMapOrReport(http["headers"], "'headers'", diag)) {
        for (auto it = http["headers"].begin(); it != http["headers"].end(); ++it) {
          if (auto v = GetExpanded(http["headers"], it->first.Scalar(), diag))
            t.http.headers[it->first.Scalar()] = *v;
        }
      }
      if (http["body"]) t.http.body = YamlToJson(http["body"]);
      if (auto v = GetString(http, "output_path", diag)) {
        if (v->empty() || (*v)[0] != '$') diag.Add(http["output_path"], "'output_path' must be a JSON path starting with '$'");
        t.http.output_path = *v;
      }
      if (auto v = GetString(http, "input_tokens_path", diag)) t.http.input_tokens_path = *v;
      if (auto v = GetString(http, "output_tokens_path", diag)) t.http.output_tokens_path = *v;
    }
  } else if (t.provider == "http") {
    diag.Add(node, what + ": provider http needs an 'http' section with at least 'url'");
  }

  const YAML::Node exec = node["exec"];
  if (exec) {
    if (t.provider != "exec") diag.Add(exec, "'exec' settings only apply to provider exec");
    if (IsMapOrReport(exec, "'exec'", diag)) {
      CheckKeys(exec, {"command"}, "exec", diag);
      if (auto v = GetStringList(exec, "command", diag)) t.exec.command = *v;
      if (t.exec.command.empty()) diag.Add(exec, "'exec' needs a non-empty 'command' list");
    }
  } else if (t.provider == "exec") {
    diag.Add(node, what + ": provider exec needs an 'exec' section with 'command'");
  }

  const YAML::Node sim = node["sim"];
  if (sim) {
    if (t.provider != "sim") diag.Add(sim, "'sim' settings only apply to provider sim");
    if (IsMapOrReport(sim, "'sim'", diag)) {
      CheckKeys(sim,
                {"accuracy", "refusal_rate", "format_error_rate", "truncation_rate", "empty_rate", "latency_ms",
                 "tokens_per_char", "seed", "answer_var"},
                "sim", diag);
      if (auto v = GetNumber(sim, "accuracy", diag, false, 0, 1)) t.sim.accuracy = *v;
      if (auto v = GetNumber(sim, "refusal_rate", diag, false, 0, 1)) t.sim.refusal_rate = *v;
      if (auto v = GetNumber(sim, "format_error_rate", diag, false, 0, 1)) t.sim.format_error_rate = *v;
      if (auto v = GetNumber(sim, "truncation_rate", diag, false, 0, 1)) t.sim.truncation_rate = *v;
      if (auto v = GetNumber(sim, "empty_rate", diag, false, 0, 1)) t.sim.empty_rate = *v;
      if (auto v = GetNumber(sim, "latency_ms", diag, false, 0, 600000)) t.sim.latency_ms = *v;
      if (auto v = GetNumber(sim, "tokens_per_char", diag, false, 0, 10)) t.sim.tokens_per_char = *v;
      if (auto v = GetInt(sim, "seed", diag, false, 0)) t.sim.seed = static_cast<std::uint64_t>(*v);
      if (auto v = GetString(sim, "answer_var", diag)) t.sim.answer_var = *v;
      double failure_total = t.sim.refusal_rate + t.sim.format_error_rate + t.sim.truncation_rate + t.sim.empty_rate;
      if (failure_total > 1.0) diag.Add(sim, "sim failure rates add up to more than 1");
    }
  }
  config.targets[name] = std::move(t);
}

void ParseSchedule(const std::string& name, const YAML::Node& node, Config& config, Diagnostics& diag) {
  const std::string what = "schedule '" + name + "'";
  if (!IsMapOrReport(node, what, diag)) return;
  CheckKeys(node,
            {"cron", "timezone", "goldenset", "targets", "repeat", "catch_up", "enabled", "policy", "budget_usd",
             "concurrency"},
            what, diag);
  ScheduleConfig s;
  s.name = name;
  if (auto v = GetString(node, "cron", diag, true)) s.cron = *v;
  if (auto v = GetString(node, "timezone", diag)) s.timezone = *v;
  if (auto v = GetString(node, "goldenset", diag, true)) s.goldenset = *v;
  if (auto v = GetStringList(node, "targets", diag)) s.targets = *v;
  if (s.targets.empty()) diag.Add(node, what + ": needs at least one entry in 'targets'");
  for (size_t i = 0; i < s.targets.size(); ++i) {
    if (!config.targets.count(s.targets[i]))
      diag.Add(node["targets"].IsSequence() ? node["targets"][i] : node["targets"],
               what + ": unknown target '" + s.targets[i] + "'");
  }
  if (auto v = GetInt(node, "repeat", diag, false, 1, 100)) s.repeat = static_cast<int>(*v);
  if (auto v = GetEnum(node, "catch_up", {"once", "skip"}, diag)) s.catch_up = *v;
  if (auto v = GetBool(node, "enabled", diag)) s.enabled = *v;
  if (auto v = GetString(node, "policy", diag)) {
    if (v->empty()) diag.Add(node["policy"], what + ": 'policy' must name an entry of 'policies'");
    s.policy = *v;  // checked against `policies:` once they are all read (CheckSchedulePolicies)
  }
  if (auto v = GetNumber(node, "budget_usd", diag, false, 0)) s.budget_usd = *v;
  if (auto v = GetInt(node, "concurrency", diag, false, 1, 10000)) s.concurrency = static_cast<int>(*v);
  config.schedules[name] = std::move(s);
}

void ParsePolicy(const std::string& name, const YAML::Node& node, Config& config, Diagnostics& diag) {
  const std::string what = "policy '" + name + "'";
  if (!IsMapOrReport(node, what, diag)) return;
  CheckKeys(node,
            {"primary_metric", "alpha", "fdr_q", "delta_min", "ni_margin", "min_cases", "permutations", "bootstrap",
             "min_approvals"},
            what, diag);
  PolicyConfig p;
  p.name = name;
  if (auto v = GetString(node, "primary_metric", diag)) p.primary_metric = *v;
  if (auto v = GetNumber(node, "alpha", diag, false, 1e-9, 0.5)) p.alpha = *v;
  if (auto v = GetNumber(node, "fdr_q", diag, false, 1e-9, 0.5)) p.fdr_q = *v;
  if (auto v = GetNumber(node, "delta_min", diag, false, 0, 1)) p.delta_min = *v;
  if (auto v = GetNumber(node, "ni_margin", diag, false, 0, 1)) p.ni_margin = *v;
  if (auto v = GetInt(node, "min_cases", diag, false, 1, 1000000)) p.min_cases = static_cast<int>(*v);
  if (auto v = GetInt(node, "permutations", diag, false, 100, 1000000)) p.permutations = static_cast<int>(*v);
  if (auto v = GetInt(node, "bootstrap", diag, false, 100, 1000000)) p.bootstrap = static_cast<int>(*v);
  if (node["min_approvals"] && IsMapOrReport(node["min_approvals"], "'min_approvals'", diag)) {
    p.min_approvals.clear();
    for (auto it = node["min_approvals"].begin(); it != node["min_approvals"].end(); ++it) {
      if (auto v = GetInt(node["min_approvals"], it->first.Scalar(), diag, false, 1, 10))
        p.min_approvals[it->first.Scalar()] = static_cast<int>(*v);
    }
  }
  config.policies[name] = std::move(p);
}

// Every schedule's `policy:` must name an entry of `policies:` (which may
// come after `schedules:` in the file).
void CheckSchedulePolicies(const YAML::Node& schedules, const Config& config, Diagnostics& diag) {
  if (!schedules || !schedules.IsMap()) return;
  for (auto it = schedules.begin(); it != schedules.end(); ++it) {
    const std::string name = it->first.Scalar();
    auto s = config.schedules.find(name);
    if (s == config.schedules.end() || s->second.policy.empty() || config.policies.count(s->second.policy)) continue;
    diag.Add(it->second["policy"], "schedule '" + name + "': unknown policy '" + s->second.policy +
                                       "'; defined policies: " + config.PolicyNames());
  }
}

template <typename Fn>
void ForEachNamed(const YAML::Node& root, const char* key, Diagnostics& diag, Fn fn) {
  const YAML::Node section = root[key];
  if (!section) return;
  if (!section.IsMap()) {
    diag.Add(section, std::string("'") + key + "' must be a mapping of name: settings");
    return;
  }
  for (auto it = section.begin(); it != section.end(); ++it) fn(it->first.Scalar(), it->second);
}

}  // namespace

Result<Config> ParseConfig(const std::string& text, const std::string& file) {
  auto root = ParseYaml(text, file);
  if (!root) return Fail(root.error());
  Diagnostics diag(file);
  Config config;
  config.path = file;
  if (root->IsNull()) return config;
  if (!root->IsMap()) {
    diag.Add(*root, "the config must be a mapping with keys such as targets, schedules, policies");
    return Fail(diag.ToStatus().error());
  }
  CheckNoDuplicateKeys(*root, diag);
  CheckKeys(*root, {"version", "database", "concurrency", "targets", "scorers", "schedules", "policies", "metrics"},
            "the config", diag);
  if (auto v = GetInt(*root, "version", diag, false, 1, 1)) (void)v;
  if (const YAML::Node db = (*root)["database"]; db && IsMapOrReport(db, "'database'", diag)) {
    CheckKeys(db, {"url", "data_dir", "reconnect_seconds"}, "database", diag);
    if (auto v = GetExpanded(db, "url", diag)) config.database_url = *v;
    if (auto v = GetString(db, "data_dir", diag)) config.data_dir = *v;
    if (auto v = GetNumber(db, "reconnect_seconds", diag, false, 0, 3600)) config.reconnect_seconds = *v;
  }
  if (auto v = GetInt(*root, "concurrency", diag, false, 1, 10000)) config.concurrency = static_cast<int>(*v);

  ForEachNamed(*root, "targets", diag, [&](const std::string& name, const YAML::Node& node) {
    ParseTarget(name, node, config, diag);
  });
  if (const YAML::Node s = (*root)["scorers"]; s && IsMapOrReport(s, "'scorers'", diag)) {
    CheckKeys(s, {"judge", "embeddings"}, "scorers", diag);
    if (auto v = GetString(s, "judge", diag)) config.scorers.judge_target = *v;
    if (auto v = GetString(s, "embeddings", diag)) config.scorers.embeddings_target = *v;
    for (const char* key : {"judge", "embeddings"}) {
      const std::string& ref = std::string(key) == "judge" ? config.scorers.judge_target
                                                           : config.scorers.embeddings_target;
      if (!ref.empty() && !config.targets.count(ref))
        diag.Add(s[key], std::string("scorers.") + key + ": unknown target '" + ref + "'");
    }
  }
  ForEachNamed(*root, "schedules", diag, [&](const std::string& name, const YAML::Node& node) {
    ParseSchedule(name, node, config, diag);
  });
  ForEachNamed(*root, "policies", diag, [&](const std::string& name, const YAML::Node& node) {
    ParsePolicy(name, node, config, diag);
  });
  CheckSchedulePolicies((*root)["schedules"], config, diag);
  if (const YAML::Node m = (*root)["metrics"]; m && IsMapOrReport(m, "'metrics'", diag)) {
    CheckKeys(m, {"pushgateway", "textfile", "listen"}, "metrics", diag);
    if (auto v = GetExpanded(m, "pushgateway", diag)) config.metrics.pushgateway_url = *v;
    if (auto v = GetString(m, "textfile", diag)) config.metrics.textfile_path = *v;
    if (auto v = GetString(m, "listen", diag)) config.metrics.listen = *v;
  }
  if (!diag.ok()) return Fail(diag.ToStatus().error());
  return config;
}

Result<Config> LoadConfig(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text) return Fail(text.error());
  return ParseConfig(*text, path);
}

Config DefaultConfig() {
  Config config;
  config.path = "(built-in defaults)";
  TargetConfig sim;
  sim.name = "sim";
  sim.provider = "sim";
  sim.model = "driftwatch-sim-1";
  sim.prompt = "{{question}}";
  sim.sim.accuracy = 0.9;
  config.targets[sim.name] = sim;
  return config;
}

}  // namespace dw::config
