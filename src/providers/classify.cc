#include "providers/classify.h"

#include <array>

#include <nlohmann/json.hpp>

#include "providers/retry.h"

namespace dw::providers {
namespace {

std::string_view TrimWhite(std::string_view s) {
  auto white = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && white(s.front())) s.remove_prefix(1);
  while (!s.empty() && white(s.back())) s.remove_suffix(1);
  return s;
}

// Lower-cased ASCII with typographic apostrophes folded to "'".
std::string FoldForMatching(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "\xE2\x80\x99") == 0) {
      out.push_back('\'');
      i += 2;
      continue;
    }
    char c = text[i];
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

std::string OneLine(std::string text, size_t limit) {
  if (text.size() > limit) {
    text.resize(limit);
    text += "...";
  }
  for (char& c : text)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return text;
}

}  // namespace

SecretRedactor::SecretRedactor(std::vector<std::string> secrets) {
  for (auto& secret : secrets)
    if (secret.size() >= 4) secrets_.push_back(std::move(secret));
}

std::string SecretRedactor::Redact(std::string text) const {
  for (const auto& secret : secrets_) {
    for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
      text.replace(pos, secret.size(), "[redacted]");
    }
  }
  return text;
}

SecretRedactor SecretRedactor::ForCredentials(std::string api_key,
                                              const std::vector<std::pair<std::string, std::string>>& headers) {
  static constexpr std::array<std::string_view, 6> kMarkers = {"auth", "key", "token", "secret", "cookie",
                                                               "signature"};
  std::vector<std::string> secrets;
  secrets.push_back(std::move(api_key));
  for (const auto& [name, value] : headers) {
    std::string lower = FoldForMatching(name);
    for (std::string_view marker : kMarkers) {
      if (lower.find(marker) == std::string::npos) continue;
      secrets.push_back(value);
      // "Bearer <token>": the token alone may be echoed back too.
      if (size_t space = value.rfind(' '); space != std::string::npos) secrets.push_back(value.substr(space + 1));
      break;
    }
  }
  return SecretRedactor(std::move(secrets));
}

void RedactAttempt(const SecretRedactor& redactor, AttemptResult& attempt) {
  CallResult& result = attempt.result;
  for (std::string* text : {&result.output, &result.error_detail, &result.response_id, &result.model,
                            &result.system_fingerprint, &result.finish_reason})
    *text = redactor.Redact(std::move(*text));
}

bool LooksLikeRefusal(std::string_view text) {
  static constexpr std::array<std::string_view, 16> kOpenings = {
      "i'm sorry, but i can't",  "i'm sorry, but i cannot", "i am sorry, but i cannot", "i'm sorry, i can't",
      "sorry, but i can't",      "sorry, i can't",          "i can't help with",        "i cannot help with",
      "i can't assist with",     "i cannot assist with",    "i can't provide",          "i cannot provide",
      "i'm unable to help",      "i am unable to help",     "i'm not able to help",     "i won't be able to help"};
  text = TrimWhite(text);
  if (text.empty() || text.size() > 400) return false;
  std::string folded = FoldForMatching(text.substr(0, 64));
  for (std::string_view opening : kOpenings)
    if (std::string_view(folded).substr(0, opening.size()) == opening) return true;
  return false;
}

bool IsJsonText(std::string_view text) {
  text = TrimWhite(text);
  if (text.substr(0, 3) == "```") {
    size_t newline = text.find('\n');
    if (newline == std::string_view::npos) return false;
    text.remove_prefix(newline + 1);
    text = TrimWhite(text);
    if (text.size() < 3 || text.substr(text.size() - 3) != "```") return false;
    text.remove_suffix(3);
  }
  return !text.empty() && nlohmann::json::accept(text);
}

Outcome ClassifyChatChoice(const ChatChoice& choice, bool json_mode) {
  if (choice.refusal && !TrimWhite(*choice.refusal).empty()) return Outcome::kRefusal;
  if (choice.finish_reason == "content_filter") return Outcome::kRefusal;
  if (choice.finish_reason == "length") return Outcome::kTruncated;
  const bool has_content = choice.content && !TrimWhite(*choice.content).empty();
  if (!has_content) return choice.has_tool_calls ? Outcome::kPass : Outcome::kEmpty;
  if (LooksLikeRefusal(*choice.content)) return Outcome::kRefusal;
  if (json_mode && !IsJsonText(*choice.content)) return Outcome::kFormatError;
  return Outcome::kPass;
}

void ClassifyTransportFailure(const HttpResponse& response, AttemptResult& attempt) {
  switch (response.failure) {
    case HttpFailure::kTimeout:
      attempt.result.outcome = Outcome::kTimeout;
      break;
    case HttpFailure::kTooLarge:
      attempt.result.outcome = Outcome::kProviderError;
      break;
    default:
      attempt.result.outcome = Outcome::kTransportError;
  }
  attempt.result.error_detail = response.failure_detail;
  attempt.retryable = response.failure != HttpFailure::kTlsVerify && response.failure != HttpFailure::kTooLarge;
}

std::string SummarizeErrorBody(std::string_view body) {
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (!parsed.is_discarded() && parsed.is_object()) {
    const nlohmann::json* error = parsed.contains("error") ? &parsed["error"] : &parsed;
    if (error->is_string()) return OneLine(error->get<std::string>(), 300);
    if (error->is_object()) {
      std::string summary;
      for (const char* key : {"type", "code"}) {
        auto it = error->find(key);
        if (it != error->end() && (it->is_string() || it->is_number())) {
          if (!summary.empty()) summary += "/";
          summary += it->is_string() ? it->get<std::string>() : it->dump();
        }
      }
      auto message = error->find("message");
      if (message != error->end() && message->is_string()) {
        if (!summary.empty()) summary += ": ";
        summary += message->get<std::string>();
      }
      if (!summary.empty()) return OneLine(std::move(summary), 300);
    }
  }
  return OneLine(std::string(body.substr(0, 300)), 300);
}

void ClassifyHttpStatus(const HttpResponse& response, const SecretRedactor& redactor,
                        std::chrono::system_clock::time_point now, AttemptResult& attempt) {
  const int status = response.status;
  CallResult& result = attempt.result;
  result.http_status = status;
  if (status == 429) {
    result.outcome = Outcome::kRateLimited;
    attempt.retryable = true;
  } else if (status == 408) {
    result.outcome = Outcome::kTimeout;
    attempt.retryable = true;
  } else {
    result.outcome = Outcome::kProviderError;
    attempt.retryable = status >= 500;
  }
  if (status == 429 || status == 503) {
    if (auto ms = response.Header("retry-after-ms"); !ms.empty()) {
      attempt.retry_after = ParseRetryAfter(ms, now);
      if (attempt.retry_after) *attempt.retry_after /= 1000;
    }
    if (!attempt.retry_after) {
      if (auto value = response.Header("retry-after"); !value.empty()) attempt.retry_after = ParseRetryAfter(value, now);
    }
  }
  std::string detail = "HTTP " + std::to_string(status);
  if (!response.body.empty()) detail += ": " + SummarizeErrorBody(response.body);
  result.error_detail = redactor.Redact(std::move(detail));
}

}  // namespace dw::providers
