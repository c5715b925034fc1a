// A fault-injecting OpenAI-compatible model server for reliability tests.
//
// It answers POST /v1/chat/completions on 127.0.0.1 (an ephemeral port,
// HTTP/1.1 keep-alive, on top of TestHttpServer). What each request gets is
// scripted by a list of rules: the first rule whose marker occurs in the
// request body (the rendered prompt) and whose budget is not used up decides;
// a request no rule claims gets a normal completion answering `answer`. So a
// golden set whose cases carry different markers makes each case meet a
// different fault, deterministically, whatever the order of the calls.
//
// Every request is logged with the rule that served it and its arrival time
// (server side), so tests can count attempts and measure backoff gaps.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "support/http_server.h"

namespace dw::testing {

enum class Fault {
  kAnswer,                 // a normal completion answering `answer`
  kServerError,            // HTTP `status` (default 500) with an OpenAI error body
  kRateLimited,            // HTTP 429 without Retry-After
  kRateLimitedRetryAfter,  // HTTP 429 with Retry-After: `retry_after_seconds`
  kHang,                   // a normal completion, but only after `delay`
  kReset,                  // the connection is reset (TCP RST) without an answer
  kCutOff,                 // 200 headers announce more body than is sent, then close
  kTruncatedJson,          // a complete 200 response whose JSON stops half way
  kInvalidJson,            // a complete 200 response whose body is not JSON
  kInvalidUtf8,            // bytes that are not UTF-8: in the completion's content
                           // (status 200) or in a plain-text error body (other status)
  kHugeBody,               // a 200 completion of `body_bytes` bytes (default 50 MB)
  kSlowDrip,               // a normal completion sent `drip_bytes` every `drip_interval`
  kLengthLimit,            // finish_reason "length" with a partial answer
  kEmptyChoices,           // "choices": []
  kEchoCredentials,        // the request's Authorization header quoted back: in an
                           // error body (status >= 400) or as the answer, response
                           // id and model (status 200)
};

// Stable lower-case name ("server_error", "slow_drip", ...), for messages.
std::string_view FaultName(Fault fault);

struct FaultRule {
  std::string marker;  // applies to requests whose body contains it; empty: to all
  Fault fault = Fault::kAnswer;
  int times = -1;    // applies to the first `times` matching requests; -1: all
  int status = 500;  // kServerError, kInvalidUtf8, kEchoCredentials
  int retry_after_seconds = 1;
  std::chrono::milliseconds delay{5000};  // kHang
  std::size_t body_bytes = 50u << 20;     // kHugeBody
  std::size_t drip_bytes = 8;             // kSlowDrip
  std::chrono::milliseconds drip_interval{100};
};

// One request as served.
struct FaultRequest {
  int index = 0;  // arrival order, from 0
  int rule = -1;  // index of the rule that served it; -1: the default answer
  Fault fault = Fault::kAnswer;
  std::string body;
  std::string authorization;
  std::chrono::steady_clock::time_point received_at;
};

// A chat.completion body: `content` (JSON null when "<null>"), finish_reason,
// usage 10/5, id chatcmpl-42, model gpt-test-0613, fingerprint fp_test;
// `message_extra` members are added to the message.
std::string ChatCompletionBody(const std::string& content, const std::string& finish_reason = "stop",
                               const nlohmann::json& message_extra = nlohmann::json::object());

// Not copyable. Thread-safe accessors; the destructor stops the server.
class FaultServer {
 public:
  explicit FaultServer(std::vector<FaultRule> rules, std::string answer = "ok");
  ~FaultServer();
  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;

  // "http://127.0.0.1:PORT/v1": an openai-chat target's base_url.
  std::string BaseUrl() const;
  std::uint16_t port() const;

  int requests() const;
  std::vector<FaultRequest> Requests() const;
  // Requests whose body contains `marker`, in arrival order.
  std::vector<FaultRequest> RequestsContaining(std::string_view marker) const;
  // Milliseconds between consecutive arrivals of requests containing `marker`.
  std::vector<double> GapsMs(std::string_view marker) const;

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::unique_ptr<TestHttpServer> server_;
};

}  // namespace dw::testing
