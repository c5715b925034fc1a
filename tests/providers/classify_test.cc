#include "providers/classify.h"

#include <gtest/gtest.h>

namespace dw::providers {
namespace {

ChatChoice Choice(std::optional<std::string> content, std::string finish_reason = "stop") {
  ChatChoice choice;
  choice.content = std::move(content);
  choice.finish_reason = std::move(finish_reason);
  return choice;
}

TEST(ClassifyChatChoice, PlainContentIsUsable) { EXPECT_EQ(ClassifyChatChoice(Choice("Paris"), false), Outcome::kPass); }

TEST(ClassifyChatChoice, RefusalFieldWinsOverEverything) {
  ChatChoice choice = Choice(std::nullopt, "length");
  choice.refusal = "I can't do that.";
  EXPECT_EQ(ClassifyChatChoice(choice, true), Outcome::kRefusal);
}

TEST(ClassifyChatChoice, ContentFilterIsRefusal) {
  EXPECT_EQ(ClassifyChatChoice(Choice("", "content_filter"), false), Outcome::kRefusal);
}

TEST(ClassifyChatChoice, LengthIsTruncatedEvenWithContent) {
  EXPECT_EQ(ClassifyChatChoice(Choice("The answer is", "length"), false), Outcome::kTruncated);
  EXPECT_EQ(ClassifyChatChoice(Choice(std::nullopt, "length"), false), Outcome::kTruncated);
}

TEST(ClassifyChatChoice, NoContentIsEmpty) {
  EXPECT_EQ(ClassifyChatChoice(Choice(std::nullopt), false), Outcome::kEmpty);
  EXPECT_EQ(ClassifyChatChoice(Choice(" \n "), false), Outcome::kEmpty);
}

TEST(ClassifyChatChoice, ToolCallsWithoutContentAreUsable) {
  ChatChoice choice = Choice(std::nullopt, "tool_calls");
  choice.has_tool_calls = true;
  EXPECT_EQ(ClassifyChatChoice(choice, false), Outcome::kPass);
}

TEST(ClassifyChatChoice, ObviousRefusalTextIsRefusal) {
  EXPECT_EQ(ClassifyChatChoice(Choice("I'm sorry, but I can't help with that."), false), Outcome::kRefusal);
}

TEST(ClassifyChatChoice, NonJsonContentInJsonModeIsFormatError) {
  EXPECT_EQ(ClassifyChatChoice(Choice("answer: 4"), true), Outcome::kFormatError);
  EXPECT_EQ(ClassifyChatChoice(Choice(R"({"answer": 4})"), true), Outcome::kPass);
  EXPECT_EQ(ClassifyChatChoice(Choice("answer: 4"), false), Outcome::kPass);
}

TEST(LooksLikeRefusal, MatchesStockOpeningsCaseAndApostropheInsensitively) {
  EXPECT_TRUE(LooksLikeRefusal("I cannot help with that request."));
  EXPECT_TRUE(LooksLikeRefusal("  i\xE2\x80\x99m sorry, but I can\xE2\x80\x99t assist."));
}

TEST(LooksLikeRefusal, IgnoresAnswersThatMerelyApologise) {
  EXPECT_FALSE(LooksLikeRefusal("Sorry for the delay! The answer is 4."));
  EXPECT_FALSE(LooksLikeRefusal("I'm sorry, but I can't " + std::string(500, 'x')));
}

TEST(IsJsonText, AcceptsFencedJson) {
  EXPECT_TRUE(IsJsonText("```json\n{\"a\": 1}\n```"));
  EXPECT_FALSE(IsJsonText("```json\n{\"a\": \n```"));
  EXPECT_FALSE(IsJsonText(""));
}

TEST(SecretRedactor, ReplacesEveryOccurrence) {
  SecretRedactor redactor({"sk-secret-1234"});
  EXPECT_EQ(redactor.Redact("key sk-secret-1234 and sk-secret-1234."), "key [redacted] and [redacted].");
}

TEST(SecretRedactor, ForCredentialsCoversTheKeyAndCredentialHeaders) {
  SecretRedactor redactor = SecretRedactor::ForCredentials(
      "sk-main-key", {{"X-Api-Key", "hdr-secret-9"}, {"Authorization", "Bearer tok-777777"}, {"Accept", "text/x"}});
  EXPECT_EQ(redactor.Redact("sk-main-key hdr-secret-9 tok-777777 text/x"),
            "[redacted] [redacted] [redacted] text/x");
}

TEST(SummarizeErrorBody, QuotesOpenAiErrorObjects) {
  EXPECT_EQ(SummarizeErrorBody(R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit"}})"),
            "requests/rate_limit: Rate limit reached");
  EXPECT_EQ(SummarizeErrorBody("upstream\nconnect error"), "upstream connect error");
}

HttpResponse Status(int status, std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpResponse response;
  response.status = status;
  response.headers = std::move(headers);
  return response;
}

TEST(ClassifyHttpStatus, TooManyRequestsIsRetryableRateLimitWithRetryAfter) {
  AttemptResult attempt;
  ClassifyHttpStatus(Status(429, {{"retry-after", "3"}}), SecretRedactor(), std::chrono::system_clock::now(), attempt);
  EXPECT_EQ(attempt.result.outcome, Outcome::kRateLimited);
  EXPECT_TRUE(attempt.retryable);
  EXPECT_EQ(attempt.retry_after, std::chrono::milliseconds(3000));
}

TEST(ClassifyHttpStatus, RetryAfterMsTakesPrecedence) {
  AttemptResult attempt;
  ClassifyHttpStatus(Status(503, {{"retry-after", "3"}, {"retry-after-ms", "150"}}), SecretRedactor(),
                     std::chrono::system_clock::now(), attempt);
  EXPECT_EQ(attempt.result.outcome, Outcome::kProviderError);
  EXPECT_TRUE(attempt.retryable);
  EXPECT_EQ(attempt.retry_after, std::chrono::milliseconds(150));
}

TEST(ClassifyHttpStatus, ServerErrorsRetryClientErrorsDoNot) {
  for (auto [status, retryable, outcome] :
       {std::tuple{500, true, Outcome::kProviderError}, std::tuple{502, true, Outcome::kProviderError},
        std::tuple{400, false, Outcome::kProviderError}, std::tuple{401, false, Outcome::kProviderError},
        std::tuple{404, false, Outcome::kProviderError}, std::tuple{408, true, Outcome::kTimeout}}) {
    AttemptResult attempt;
    ClassifyHttpStatus(Status(status), SecretRedactor(), std::chrono::system_clock::now(), attempt);
    EXPECT_EQ(attempt.result.outcome, outcome) << status;
    EXPECT_EQ(attempt.retryable, retryable) << status;
    EXPECT_EQ(attempt.result.http_status, status);
  }
}

TEST(ClassifyTransportFailure, TimeoutVersusTransport) {
  HttpResponse response;
  response.failure = HttpFailure::kTimeout;
  AttemptResult timeout;
  ClassifyTransportFailure(response, timeout);
  EXPECT_EQ(timeout.result.outcome, Outcome::kTimeout);
  EXPECT_TRUE(timeout.retryable);
  response.failure = HttpFailure::kTlsVerify;
  AttemptResult untrusted;
  ClassifyTransportFailure(response, untrusted);
  EXPECT_EQ(untrusted.result.outcome, Outcome::kTransportError);
  EXPECT_FALSE(untrusted.retryable);
}

}  // namespace
}  // namespace dw::providers
