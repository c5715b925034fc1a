#include "support/fault_server.h"

#include <mutex>

namespace dw::testing {
namespace {

using Action = TestHttpResponse::Action;

TestHttpResponse ErrorResponse(int status, const std::string& message, const std::string& type) {
  return TestHttpResponse::Json(nlohmann::json{{"error", {{"message", message}, {"type", type}}}}.dump(), status);
}

// A completion whose content is `content_bytes` 'a's, so the body is about
// that large.
std::string HugeCompletionBody(std::size_t content_bytes) {
  std::string body = ChatCompletionBody("");
  const std::string empty_content = "\"content\":\"\"";
  std::size_t at = body.find(empty_content);
  body.insert(at + empty_content.size() - 1, std::string(content_bytes, 'a'));
  return body;
}

// `huge_body` is the kHugeBody rule's body, built once in advance.
TestHttpResponse Serve(const FaultRule& rule, const TestHttpRequest& request, const std::string& answer,
                       const std::string& huge_body) {
  switch (rule.fault) {
    case Fault::kAnswer:
      return TestHttpResponse::Json(ChatCompletionBody(answer));
    case Fault::kServerError:
      return ErrorResponse(rule.status, "The server had an error while processing your request.", "server_error");
    case Fault::kRateLimited:
      return ErrorResponse(429, "Rate limit reached for requests", "requests");
    case Fault::kRateLimitedRetryAfter: {
      auto response = ErrorResponse(429, "Rate limit reached for requests", "requests");
      response.headers.emplace_back("Retry-After", std::to_string(rule.retry_after_seconds));
      return response;
    }
    case Fault::kHang: {
      auto response = TestHttpResponse::Json(ChatCompletionBody(answer));
      response.delay = rule.delay;
      return response;
    }
    case Fault::kReset: {
      TestHttpResponse response;
      response.action = Action::kReset;
      return response;
    }
    case Fault::kCutOff: {
      std::string body = ChatCompletionBody(answer);
      TestHttpResponse response;
      response.action = Action::kRaw;
      response.raw =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\n\r\n" + body.substr(0, body.size() / 2);
      return response;
    }
    case Fault::kTruncatedJson: {
      std::string body = ChatCompletionBody(answer);
      return TestHttpResponse::Json(body.substr(0, body.size() / 2));
    }
    case Fault::kInvalidJson:
      return TestHttpResponse::Json("<html><body>502 Bad Gateway</body></html>");
    case Fault::kInvalidUtf8: {
      const std::string bad = "caf\xC3 \xFF\xFE na\xEFve \xE2\x82";
      if (rule.status == 200) {
        std::string body = ChatCompletionBody("PLACEHOLDER");
        body.replace(body.find("PLACEHOLDER"), 11, bad);
        return TestHttpResponse::Json(std::move(body));
      }
      TestHttpResponse response = TestHttpResponse::Json("upstream failed: " + bad, rule.status);
      response.content_type = "text/plain";
      return response;
    }
    case Fault::kHugeBody:
      return TestHttpResponse::Json(huge_body);
    case Fault::kSlowDrip: {
      auto response = TestHttpResponse::Json(ChatCompletionBody(answer));
      response.action = Action::kDrip;
      response.drip_bytes = rule.drip_bytes;
      response.drip_interval = rule.drip_interval;
      return response;
    }
    case Fault::kLengthLimit:
      return TestHttpResponse::Json(ChatCompletionBody(answer.substr(0, answer.size() / 2), "length"));
    case Fault::kEmptyChoices: {
      nlohmann::json body = nlohmann::json::parse(ChatCompletionBody(answer));
      body["choices"] = nlohmann::json::array();
      return TestHttpResponse::Json(body.dump());
    }
    case Fault::kEchoCredentials: {
      auto it = request.headers.find("authorization");
      std::string credentials = it == request.headers.end() ? "(none)" : it->second;
      if (rule.status < 400) {
        nlohmann::json body = nlohmann::json::parse(ChatCompletionBody("you sent " + credentials));
        body["id"] = "chatcmpl-" + credentials;
        body["model"] = credentials;
        body["system_fingerprint"] = credentials;
        return TestHttpResponse::Json(body.dump(), rule.status);
      }
      return ErrorResponse(rule.status, "Incorrect API key provided: " + credentials, "invalid_request_error");
    }
  }
  return ErrorResponse(500, "unknown fault", "server_error");
}

}  // namespace

std::string_view FaultName(Fault fault) {
  switch (fault) {
    case Fault::kAnswer:
      return "answer";
    case Fault::kServerError:
      return "server_error";
    case Fault::kRateLimited:
      return "rate_limited";
    case Fault::kRateLimitedRetryAfter:
      return "rate_limited_retry_after";
    case Fault::kHang:
      return "hang";
    case Fault::kReset:
      return "reset";
    case Fault::kCutOff:
      return "cut_off";
    case Fault::kTruncatedJson:
      return "truncated_json";
    case Fault::kInvalidJson:
      return "invalid_json";
    case Fault::kInvalidUtf8:
      return "invalid_utf8";
    case Fault::kHugeBody:
      return "huge_body";
    case Fault::kSlowDrip:
      return "slow_drip";
    case Fault::kLengthLimit:
      return "length_limit";
    case Fault::kEmptyChoices:
      return "empty_choices";
    case Fault::kEchoCredentials:
      return "echo_credentials";
  }
  return "unknown";
}

std::string ChatCompletionBody(const std::string& content, const std::string& finish_reason,
                               const nlohmann::json& message_extra) {
  nlohmann::json message = {{"role", "assistant"}};
  message["content"] = content == "<null>" ? nlohmann::json(nullptr) : nlohmann::json(content);
  for (const auto& [key, value] : message_extra.items()) message[key] = value;
  nlohmann::json body = {{"id", "chatcmpl-42"},
                         {"object", "chat.completion"},
                         {"model", "gpt-test-0613"},
                         {"system_fingerprint", "fp_test"},
                         {"choices", {{{"index", 0}, {"message", message}, {"finish_reason", finish_reason}}}},
                         {"usage", {{"prompt_tokens", 10}, {"completion_tokens", 5}, {"total_tokens", 15}}}};
  return body.dump();
}

struct FaultServer::State {
  std::vector<FaultRule> rules;
  std::string answer;
  std::mutex mu;
  std::vector<int> used;                 // requests served per rule
  std::vector<std::string> huge_bodies;  // per rule: the kHugeBody answer, else empty
  std::vector<FaultRequest> log;

  TestHttpResponse Handle(const TestHttpRequest& request) {
    int chosen = -1;
    FaultRequest entry;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (size_t i = 0; i < rules.size(); ++i) {
        const FaultRule& rule = rules[i];
        if (!rule.marker.empty() && request.body.find(rule.marker) == std::string::npos) continue;
        if (rule.times >= 0 && used[i] >= rule.times) continue;
        ++used[i];
        chosen = static_cast<int>(i);
        break;
      }
      entry.index = static_cast<int>(log.size());
      entry.rule = chosen;
      entry.fault = chosen >= 0 ? rules[static_cast<size_t>(chosen)].fault : Fault::kAnswer;
      entry.body = request.body;
      auto auth = request.headers.find("authorization");
      if (auth != request.headers.end()) entry.authorization = auth->second;
      entry.received_at = request.received_at;
      log.push_back(entry);
    }
    static const FaultRule kDefault;
    if (chosen < 0) return Serve(kDefault, request, answer, {});
    const auto rule = static_cast<size_t>(chosen);
    return Serve(rules[rule], request, answer, huge_bodies[rule]);
  }
};

FaultServer::FaultServer(std::vector<FaultRule> rules, std::string answer) : state_(std::make_shared<State>()) {
  state_->rules = std::move(rules);
  state_->answer = std::move(answer);
  state_->used.assign(state_->rules.size(), 0);
  // Built before serving, so the header of a huge answer is not late.
  for (const auto& rule : state_->rules)
    state_->huge_bodies.push_back(rule.fault == Fault::kHugeBody ? HugeCompletionBody(rule.body_bytes) : "");
  server_ = std::make_unique<TestHttpServer>(
      [state = state_](const TestHttpRequest& request) { return state->Handle(request); });
}

FaultServer::~FaultServer() = default;

std::string FaultServer::BaseUrl() const { return server_->BaseUrl() + "/v1"; }

std::uint16_t FaultServer::port() const { return server_->port(); }

int FaultServer::requests() const { return server_->requests(); }

std::vector<FaultRequest> FaultServer::Requests() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->log;
}

std::vector<FaultRequest> FaultServer::RequestsContaining(std::string_view marker) const {
  std::vector<FaultRequest> out;
  for (auto& request : Requests())
    if (request.body.find(marker) != std::string::npos) out.push_back(std::move(request));
  return out;
}

std::vector<double> FaultServer::GapsMs(std::string_view marker) const {
  auto requests = RequestsContaining(marker);
  std::vector<double> gaps;
  for (size_t i = 1; i < requests.size(); ++i)
    gaps.push_back(
        std::chrono::duration<double, std::milli>(requests[i].received_at - requests[i - 1].received_at).count());
  return gaps;
}

}  // namespace dw::testing
