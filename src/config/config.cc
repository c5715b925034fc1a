#include "config/config.h"

#include "core/hash.h"

namespace dw::config {

nlohmann::json TargetConfig::ToJson() const {
  nlohmann::json j = {
      {"provider", provider},
      {"base_url", base_url},
      {"model", model},
      {"prompt", prompt},
      {"messages", messages},
      {"params", params},
      {"timeout_ms", timeout_ms},
      {"retry", {{"max_attempts", retry.max_attempts}, {"base_delay_ms", retry.base_delay_ms},
                 {"max_delay_ms", retry.max_delay_ms}}},
      {"price", {{"input_per_mtok", price.input_per_mtok}, {"output_per_mtok", price.output_per_mtok}}},
  };
  if (provider == "http") {
    j["http"] = {{"method", http.method},         {"url", http.url},
                 {"body", http.body},             {"output_path", http.output_path},
                 {"input_tokens_path", http.input_tokens_path}, {"output_tokens_path", http.output_tokens_path}};
    nlohmann::json header_names = nlohmann::json::array();
    for (const auto& [name, value] : http.headers) header_names.push_back(name);  // values may hold secrets
    j["http"]["headers"] = header_names;
  } else if (provider == "exec") {
    j["exec"] = {{"command", exec.command}};
  } else if (provider == "sim") {
    j["sim"] = {{"accuracy", sim.accuracy},
                {"refusal_rate", sim.refusal_rate},
                {"format_error_rate", sim.format_error_rate},
                {"truncation_rate", sim.truncation_rate},
                {"empty_rate", sim.empty_rate},
                {"latency_ms", sim.latency_ms},
                {"tokens_per_char", sim.tokens_per_char},
                {"seed", sim.seed},
                {"answer_var", sim.answer_var}};
  }
  return j;
}

std::string TargetConfig::VersionHash() const { return ContentHash(ToJson()); }

PolicyConfig Config::PolicyFor(const std::string& goldenset) const {
  if (auto it = policies.find(goldenset); it != policies.end()) return it->second;
  if (auto it = policies.find("default"); it != policies.end()) {
    PolicyConfig p = it->second;
    p.name = goldenset;
    return p;
  }
  PolicyConfig p;
  p.name = goldenset;
  return p;
}

std::optional<PolicyConfig> Config::PolicyForRun(const std::string& goldenset, const std::string& policy) const {
  if (policy.empty()) return PolicyFor(goldenset);
  auto it = policies.find(policy);
  if (it == policies.end()) return std::nullopt;
  return it->second;
}

std::string Config::PolicyNames() const {
  std::string names;
  for (const auto& [name, p] : policies) names += (names.empty() ? "" : ", ") + name;
  return names.empty() ? "(none)" : names;
}

}  // namespace dw::config
