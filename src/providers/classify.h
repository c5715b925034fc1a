// Mapping provider responses onto the failure taxonomy (see provider.h for
// the rules). Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/outcome.h"
#include "providers/call_controller.h"
#include "providers/http_client.h"

namespace dw::providers {

// Replaces every occurrence of the secrets (API keys, credential header
// values) in a text. Secrets shorter than 4 characters are ignored.
// Immutable after construction; thread-safe.
class SecretRedactor {
 public:
  SecretRedactor() = default;
  explicit SecretRedactor(std::vector<std::string> secrets);
  std::string Redact(std::string text) const;

  // The API key plus the values of credential-looking headers (names
  // containing auth, key, token, secret, cookie or signature).
  static SecretRedactor ForCredentials(std::string api_key,
                                       const std::vector<std::pair<std::string, std::string>>& headers);

 private:
  std::vector<std::string> secrets_;
};

// Redacts every text of `attempt` that came from the provider (output,
// error detail, response id, model, fingerprint, finish reason): a server
// that echoes a credential back must not get it stored or shown.
void RedactAttempt(const SecretRedactor& redactor, AttemptResult& attempt);

// The answer part of a chat completion, as the taxonomy needs it.
struct ChatChoice {
  std::optional<std::string> content;
  std::optional<std::string> refusal;
  bool has_tool_calls = false;
  std::string finish_reason;
};

// refusal > content_filter (refusal) > length (truncated) > empty > obvious
// refusal text > not JSON although `json_mode` (format_error) > usable.
Outcome ClassifyChatChoice(const ChatChoice& choice, bool json_mode);

// True for a short answer (at most 400 characters) that opens with a stock
// refusal phrase such as "I'm sorry, but I can't" or "I cannot help with".
// Deliberately conservative: a long answer that merely apologises is not a
// refusal.
bool LooksLikeRefusal(std::string_view text);

// True if `text` (ignoring surrounding white space and a ```json fence) is a
// JSON document.
bool IsJsonText(std::string_view text);

// Fills `attempt` for a response that never arrived whole (`response.failure`
// is not kNone): timeout → timeout, a body over the size limit →
// provider_error, anything else → transport_error. All are retryable except
// certificate verification failures and oversized bodies, which a retry
// would only repeat.
void ClassifyTransportFailure(const HttpResponse& response, AttemptResult& attempt);

// Fills `attempt` for a complete response whose status is not 2xx:
// 429 → rate_limited, 408 → timeout (both retryable); 5xx → provider_error
// (retryable); other statuses → provider_error, not retried. Retry-After
// (and OpenAI's retry-after-ms) is honoured on 429 and 503. The detail quotes
// the provider's error message, redacted.
void ClassifyHttpStatus(const HttpResponse& response, const SecretRedactor& redactor,
                        std::chrono::system_clock::time_point now, AttemptResult& attempt);

// A short, single-line summary of an error body: error.message/type/code of
// an OpenAI-style error object, else the first 300 bytes.
std::string SummarizeErrorBody(std::string_view body);

}  // namespace dw::providers
