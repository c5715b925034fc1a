// Provider responses from a hostile server: openai-chat completion bodies,
// non-2xx statuses with Retry-After headers and error bodies, and the http
// provider's JSON-path extraction. Every response must map to exactly one
// outcome of the right family, with non-negative token counts and waits,
// and text fit for storage (valid UTF-8).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/outcome.h"
#include "core/utf8.h"
#include "fuzz_check.h"
#include "providers/call_controller.h"
#include "providers/classify.h"
#include "providers/json_path.h"
#include "providers/json_template.h"
#include "providers/openai_chat.h"
#include "providers/retry.h"

namespace {

using dw::Outcome;
using namespace dw::providers;

bool IsAnswerOutcome(Outcome o) {
  return o == Outcome::kPass || o == Outcome::kRefusal || o == Outcome::kTruncated || o == Outcome::kEmpty ||
         o == Outcome::kFormatError;
}

void FuzzChatCompletion(FuzzedDataProvider& input) {
  const bool json_mode = input.ConsumeBool();
  const std::string body = input.ConsumeRemainingBytesAsString();
  auto completion = ParseChatCompletion(body);
  if (!completion) {
    DW_FUZZ_CHECK(completion.error().kind == dw::ErrorKind::kInvalidInput, completion.error().message);
    return;
  }
  const Outcome outcome = ClassifyChatChoice(completion->choice, json_mode);
  DW_FUZZ_CHECK(IsAnswerOutcome(outcome), "a 2xx answer classified as " + std::string(dw::OutcomeName(outcome)));
  if (completion->choice.refusal && !completion->choice.refusal->empty() &&
      completion->choice.refusal->find_first_not_of(" \t\r\n") != std::string::npos)
    DW_FUZZ_CHECK(outcome == Outcome::kRefusal, std::string("a refusal field not classified as refusal"));
  DW_FUZZ_CHECK(completion->prompt_tokens >= 0 && completion->completion_tokens >= 0 &&
                    completion->cached_tokens >= 0 && completion->reasoning_tokens >= 0,
                std::string("negative token count"));
  for (const std::string* text : {&completion->id, &completion->model, &completion->system_fingerprint,
                                  &completion->tool_calls, &completion->choice.finish_reason})
    DW_FUZZ_CHECK(!dw::FindInvalidUtf8(*text), "field is not UTF-8: " + *text);
  if (completion->choice.content)
    DW_FUZZ_CHECK(!dw::FindInvalidUtf8(*completion->choice.content), std::string("content"));
}

void FuzzErrorStatus(FuzzedDataProvider& input) {
  HttpResponse response;
  response.status = input.ConsumeIntegralInRange<int>(300, 599);
  const int headers = input.ConsumeIntegralInRange<int>(0, 3);
  for (int i = 0; i < headers; ++i) {
    static const char* kNames[] = {"retry-after", "retry-after-ms", "content-type"};
    response.headers.emplace_back(kNames[input.ConsumeIntegralInRange<int>(0, 2)], input.ConsumeRandomLengthString(64));
  }
  response.body = input.ConsumeRemainingBytesAsString();
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));  // 2026-01-01
  AttemptResult attempt;
  ClassifyHttpStatus(response, SecretRedactor({"sk-fuzz-secret"}), now, attempt);
  const Outcome o = attempt.result.outcome;
  DW_FUZZ_CHECK(o == Outcome::kRateLimited || o == Outcome::kTimeout || o == Outcome::kProviderError,
                "HTTP " + std::to_string(response.status) + " classified as " + std::string(dw::OutcomeName(o)));
  DW_FUZZ_CHECK((o == Outcome::kRateLimited) == (response.status == 429), "429 and rate_limited disagree");
  if (attempt.retry_after) {
    DW_FUZZ_CHECK(attempt.retry_after->count() >= 0, "negative Retry-After");
    const dw::config::RetryPolicy policy;
    const auto delay = RetryDelay(policy, 1, attempt.retry_after, 0.5);
    DW_FUZZ_CHECK(delay.count() >= 0 && delay.count() <= policy.max_delay_ms, "retry delay out of bounds");
  }
  DW_FUZZ_CHECK(attempt.result.error_detail.rfind("HTTP " + std::to_string(response.status), 0) == 0,
                "error detail does not start with the status: " + attempt.result.error_detail);
  DW_FUZZ_CHECK(attempt.result.error_detail.find('\n') == std::string::npos, "multi-line error detail");
  DW_FUZZ_CHECK(attempt.result.error_detail.size() <= 400,
                "error detail of " + std::to_string(attempt.result.error_detail.size()) + " bytes");
}

// What the http provider does with a 2xx body (http_provider.h).
void FuzzJsonPathAnswer(FuzzedDataProvider& input) {
  const std::string path_text = input.ConsumeRandomLengthString(64);
  const std::string tokens_text = input.ConsumeRandomLengthString(32);
  const std::string body = input.ConsumeRemainingBytesAsString();
  auto path = JsonPath::Parse(path_text);
  if (!path) {
    DW_FUZZ_CHECK(path.error().kind == dw::ErrorKind::kInvalidInput, path.error().message);
    return;
  }
  auto reparsed = JsonPath::Parse(path->text());
  DW_FUZZ_CHECK(reparsed && reparsed->text() == path_text, "JSON path text does not round-trip");
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded()) return;
  const nlohmann::json* value = path->Find(json);
  if (path->is_root()) DW_FUZZ_CHECK(value == &json, std::string("the root path does not find the root"));
  if (value == nullptr) return;
  const std::string text = JsonToText(*value);
  DW_FUZZ_CHECK(!dw::FindInvalidUtf8(text), std::string("answer is not UTF-8"));
  ChatChoice choice;
  choice.content = text;
  DW_FUZZ_CHECK(IsAnswerOutcome(ClassifyChatChoice(choice, false)), std::string("answer outcome"));
  if (auto tokens_path = JsonPath::Parse(tokens_text)) {
    if (const nlohmann::json* count = tokens_path->Find(json)) {
      if (auto n = TokenCount(*count)) DW_FUZZ_CHECK(*n >= 0, "negative token count from " + count->dump());
    }
  }
}

void FuzzRetryAfter(FuzzedDataProvider& input) {
  const std::string value = input.ConsumeRemainingBytesAsString();
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));
  if (auto wait = ParseRetryAfter(value, now)) DW_FUZZ_CHECK(wait->count() >= 0, "negative wait for " + value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  switch (input.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      FuzzChatCompletion(input);
      break;
    case 1:
      FuzzErrorStatus(input);
      break;
    case 2:
      FuzzJsonPathAnswer(input);
      break;
    default:
      FuzzRetryAfter(input);
      break;
  }
  return 0;
}
