// provider: openai-chat, an OpenAI-compatible POST {base_url}/chat/completions.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/status.h"
#include "providers/classify.h"
#include "providers/provider.h"

namespace dw::providers {

// Renders the request body of a target for a case. The body is canonical
// JSON (keys sorted, compact; core/hash.h) of {"model", "messages", params...}
// where messages are the target's `messages` templates rendered with the
// case vars (json_template.h), or one user message holding the rendered
// `prompt`. Params (temperature, max_tokens, seed, response_format, tools,
// ...) are sent verbatim. The parts that do not depend on the case are
// serialised once at creation, so a call costs one template rendering.
// Immutable after Create; thread-safe.
class ChatRequestRenderer {
 public:
  // kInvalidInput if neither prompt nor messages is set, messages is not an
  // array of objects, params is not an object, or params asks for streaming.
  static Result<ChatRequestRenderer> Create(const config::TargetConfig& target);

  // kInvalidInput naming a var the templates use but `vars` lacks.
  Result<std::string> Render(const nlohmann::json& vars) const;

  // response_format.type is json_object or json_schema.
  bool json_mode() const { return json_mode_; }
  // max_tokens / max_completion_tokens from params, else 0.
  std::int64_t max_tokens() const { return max_tokens_; }

 private:
  std::string before_messages_;  // `{` + sorted members before "messages" + `"messages":`
  std::string after_messages_;   // sorted members after "messages" + `}`
  std::string prompt_;
  nlohmann::json messages_;       // null when the prompt is used
  std::string fixed_messages_;    // pre-serialised messages without templates
  bool json_mode_ = false;
  std::int64_t max_tokens_ = 0;
};

// The fields of a chat completion response that driftwatch records.
struct ChatCompletion {
  std::string id;
  std::string model;
  std::string system_fingerprint;
  ChatChoice choice;
  std::string tool_calls;  // compact JSON of message.tool_calls, if any
  bool has_usage = false;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t cached_tokens = 0;
  std::int64_t reasoning_tokens = 0;
};

// Parses a 2xx response body. kInvalidInput says why it is not a chat
// completion (not JSON, an "error" object, no choices, no message); the
// provider reports such bodies as provider_error and does not retry them.
Result<ChatCompletion> ParseChatCompletion(std::string_view body);

// Creates the provider for POST {base_url}/chat/completions (base_url
// defaults to https://api.openai.com/v1; a base_url already ending in
// /chat/completions is used as is). Sends "Authorization: Bearer <api_key>"
// unless `api_key` is empty, plus the target's http.headers (e.g. an Azure
// api-key or OpenAI-Organization); their credential values are redacted from
// error details. Errors: kInvalidInput for a bad URL, ca_file or request
// template settings (see ChatRequestRenderer::Create).
Result<std::unique_ptr<Provider>> MakeOpenAiChatProvider(const config::TargetConfig& target, std::string api_key,
                                                         boost::asio::io_context& io);

}  // namespace dw::providers
