#include "providers/provider.h"

#include <cstdlib>

#include "providers/exec_provider.h"
#include "providers/http_provider.h"
#include "providers/openai_chat.h"
#include "providers/sim_provider.h"

namespace dw::providers {
namespace {

Status ValidateControl(const config::TargetConfig& target) {
  if (target.timeout_ms <= 0) return Fail(ErrorKind::kInvalidInput, "timeout_ms must be positive");
  if (target.concurrency < 0) return Fail(ErrorKind::kInvalidInput, "concurrency must not be negative");
  if (target.retry.max_attempts < 1) return Fail(ErrorKind::kInvalidInput, "retry.max_attempts must be at least 1");
  if (target.retry.base_delay_ms < 0 || target.retry.max_delay_ms < 0)
    return Fail(ErrorKind::kInvalidInput, "retry delays must not be negative");
  if (target.rate_limit.requests_per_second < 0 || target.rate_limit.tokens_per_minute < 0)
    return Fail(ErrorKind::kInvalidInput, "rate limits must not be negative");
  return Ok();
}

Result<std::string> ReadApiKey(const config::TargetConfig& target) {
  if (target.api_key_env.empty()) return std::string();
  const char* value = std::getenv(target.api_key_env.c_str());
  if (value == nullptr || *value == '\0')
    return Fail(ErrorKind::kInvalidInput,
                "environment variable " + target.api_key_env + " (api_key_env) is not set or empty");
  return std::string(value);
}

Result<std::unique_ptr<Provider>> Make(const config::TargetConfig& target, boost::asio::io_context& io) {
  if (auto status = ValidateControl(target); !status) return Fail(std::move(status.error()));
  if (target.provider == "sim") return MakeSimProvider(target, io);
  if (target.provider == "exec") return MakeExecProvider(target, io);
  if (target.provider != "openai-chat" && target.provider != "http")
    return Fail(ErrorKind::kInvalidInput,
                "unknown provider '" + target.provider + "' (expected openai-chat, http, exec or sim)");
  auto key = ReadApiKey(target);
  if (!key) return Fail(std::move(key.error()));
  if (target.provider == "openai-chat") return MakeOpenAiChatProvider(target, std::move(*key), io);
  return MakeHttpProvider(target, std::move(*key), io);
}

}  // namespace

Result<std::unique_ptr<Provider>> MakeProvider(const config::TargetConfig& target, boost::asio::io_context& io) {
  auto provider = Make(target, io);
  if (provider) return provider;
  std::string prefix = target.file_location.empty() ? std::string() : target.file_location + ": ";
  prefix += "target '" + target.name + "': ";
  return Fail(provider.error().kind, prefix + provider.error().message);
}

}  // namespace dw::providers
