#include "providers/openai_chat.h"

#include <utility>
#include <vector>

#include "core/hash.h"
#include "core/json_text.h"
#include "core/template.h"
#include "providers/call_controller.h"
#include "providers/http_client.h"
#include "providers/json_path.h"
#include "providers/json_template.h"

namespace dw::providers {
namespace {

std::string Canonical(const nlohmann::json& value) { return CanonicalJson(value); }

// A count (usage tokens, max_tokens) of `object`; 0 when absent or not a
// valid count (json_path.h TokenCount).
std::int64_t IntField(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return 0;
  auto it = object.find(key);
  return it == object.end() ? 0 : TokenCount(*it).value_or(0);
}

std::string StringField(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Result<ChatRequestRenderer> ChatRequestRenderer::Create(const config::TargetConfig& target) {
  ChatRequestRenderer renderer;
  nlohmann::json params = target.params.is_null() ? nlohmann::json::object() : target.params;
  if (!params.is_object()) return Fail(ErrorKind::kInvalidInput, "params must be a mapping");
  for (const char* reserved : {"model", "messages"}) {
    if (params.contains(reserved))
      return Fail(ErrorKind::kInvalidInput, std::string("params must not set '") + reserved + "'");
  }
  if (auto stream = params.find("stream"); stream != params.end() && stream->is_boolean() && stream->get<bool>())
    return Fail(ErrorKind::kInvalidInput, "params.stream is not supported: responses are read whole");
  if (target.model.empty()) return Fail(ErrorKind::kInvalidInput, "openai-chat needs a model");
  params["model"] = target.model;

  if (auto format = params.find("response_format"); format != params.end() && format->is_object()) {
    std::string type = StringField(*format, "type");
    renderer.json_mode_ = type == "json_object" || type == "json_schema";
  }
  renderer.max_tokens_ = std::max(IntField(params, "max_tokens"), IntField(params, "max_completion_tokens"));

  std::string before = "{";
  std::string after;
  for (const auto& [key, value] : params.items()) {
    std::string member = Canonical(nlohmann::json(key)) + ":" + Canonical(value);
    if (key < "messages") {
      before += member + ",";
    } else {
      after += "," + member;
    }
  }
  renderer.before_messages_ = before + "\"messages\":";
  renderer.after_messages_ = after + "}";

  if (!target.messages.is_null()) {
    if (!target.messages.is_array() || target.messages.empty())
      return Fail(ErrorKind::kInvalidInput, "messages must be a non-empty list of {role, content}");
    for (const auto& message : target.messages) {
      if (!message.is_object() || !message.contains("role"))
        return Fail(ErrorKind::kInvalidInput, "each message must be a mapping with a role");
    }
    if (JsonHasTemplate(target.messages)) {
      renderer.messages_ = target.messages;
    } else {
      renderer.fixed_messages_ = Canonical(target.messages);
    }
  } else {
    if (target.prompt.empty()) return Fail(ErrorKind::kInvalidInput, "openai-chat needs a prompt or messages");
    if (HasTemplate(target.prompt)) {
      renderer.prompt_ = target.prompt;
    } else {
      renderer.fixed_messages_ =
          Canonical(nlohmann::json::array({{{"role", "user"}, {"content", target.prompt}}}));
    }
  }
  return renderer;
}

Result<std::string> ChatRequestRenderer::Render(const nlohmann::json& vars) const {
  std::string body;
  body.reserve(before_messages_.size() + after_messages_.size() + prompt_.size() + 64);
  body += before_messages_;
  if (!fixed_messages_.empty()) {
    body += fixed_messages_;
  } else if (!messages_.is_null()) {
    auto rendered = RenderJsonTemplate(messages_, vars);
    if (!rendered) return Fail(std::move(rendered.error()));
    body += Canonical(*rendered);
  } else {
    auto text = RenderTemplate(prompt_, vars);
    if (!text) return Fail(std::move(text.error()));
    body += "[{\"content\":";
    body += Canonical(nlohmann::json(std::move(*text)));
    body += ",\"role\":\"user\"}]";
  }
  body += after_messages_;
  return body;
}

Result<ChatCompletion> ParseChatCompletion(std::string_view body) {
  auto parsed = ParseJsonText(body);
  if (!parsed) return Fail(ErrorKind::kInvalidInput, "the response body is not JSON: " + parsed.error().message);
  const nlohmann::json& json = *parsed;
  if (!json.is_object()) return Fail(ErrorKind::kInvalidInput, "the response body is not a JSON object");
  if (auto error = json.find("error"); error != json.end() && !error->is_null())
    return Fail(ErrorKind::kInvalidInput, "the response is an error: " + SummarizeErrorBody(body));
  auto choices = json.find("choices");
  if (choices == json.end() || !choices->is_array() || choices->empty() || !(*choices)[0].is_object())
    return Fail(ErrorKind::kInvalidInput, "the response has no choices");
  const auto& choice = (*choices)[0];
  auto message = choice.find("message");
  if (message == choice.end() || !message->is_object())
    return Fail(ErrorKind::kInvalidInput, "the response's first choice has no message");

  ChatCompletion out;
  out.id = StringField(json, "id");
  out.model = StringField(json, "model");
  out.system_fingerprint = StringField(json, "system_fingerprint");
  out.choice.finish_reason = StringField(choice, "finish_reason");
  if (auto content = message->find("content"); content != message->end()) {
    if (content->is_string()) {
      out.choice.content = content->get<std::string>();
    } else if (content->is_array()) {
      std::string joined;
      for (const auto& part : *content)
        if (part.is_object()) joined += StringField(part, "text");
      out.choice.content = std::move(joined);
    }
  }
  if (auto refusal = message->find("refusal"); refusal != message->end() && refusal->is_string())
    out.choice.refusal = refusal->get<std::string>();
  for (const char* key : {"tool_calls", "function_call"}) {
    auto calls = message->find(key);
    if (calls != message->end() && (calls->is_array() ? !calls->empty() : calls->is_object())) {
      out.choice.has_tool_calls = true;
      out.tool_calls = Canonical(*calls);
      break;
    }
  }
  if (auto usage = json.find("usage"); usage != json.end() && usage->is_object()) {
    out.has_usage = true;
    out.prompt_tokens = IntField(*usage, "prompt_tokens");
    out.completion_tokens = IntField(*usage, "completion_tokens");
    if (auto details = usage->find("prompt_tokens_details"); details != usage->end())
      out.cached_tokens = IntField(*details, "cached_tokens");
    if (auto details = usage->find("completion_tokens_details"); details != usage->end())
      out.reasoning_tokens = IntField(*details, "reasoning_tokens");
  }
  return out;
}

namespace {

// Immutable per-target state shared by the provider and its in-flight calls.
struct ChatShared {
  ChatRequestRenderer renderer;
  std::unique_ptr<HttpClient> client;
  HttpClient::OriginHandle origin;
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  SecretRedactor redactor;
};

AttemptResult Interpret(const ChatShared& shared, const HttpResponse& response, std::size_t request_size) {
  AttemptResult attempt;
  CallResult& result = attempt.result;
  if (response.failure != HttpFailure::kNone) {
    ClassifyTransportFailure(response, attempt);
    return attempt;
  }
  if (response.status < 200 || response.status >= 300) {
    ClassifyHttpStatus(response, shared.redactor, std::chrono::system_clock::now(), attempt);
    return attempt;
  }
  result.http_status = response.status;
  auto completion = ParseChatCompletion(response.body);
  if (!completion) {
    result.outcome = Outcome::kProviderError;
    result.error_detail = "HTTP " + std::to_string(response.status) + " but " + completion.error().message;
    return attempt;
  }
  result.response_id = std::move(completion->id);
  result.model = std::move(completion->model);
  result.system_fingerprint = std::move(completion->system_fingerprint);
  result.finish_reason = completion->choice.finish_reason;
  result.outcome = ClassifyChatChoice(completion->choice, shared.renderer.json_mode());
  if (completion->choice.content && !completion->choice.content->empty()) {
    result.output = std::move(*completion->choice.content);
  } else if (completion->choice.has_tool_calls) {
    result.output = std::move(completion->tool_calls);
  } else if (completion->choice.refusal) {
    result.output = std::move(*completion->choice.refusal);
  }
  if (completion->has_usage) {
    result.usage_reported = true;
    result.input_tokens = completion->prompt_tokens;
    result.output_tokens = completion->completion_tokens;
    result.cached_tokens = completion->cached_tokens;
    result.reasoning_tokens = completion->reasoning_tokens;
  } else {
    result.input_tokens = static_cast<std::int64_t>(request_size / 4);
    result.output_tokens = static_cast<std::int64_t>((result.output.size() + 3) / 4);
  }
  switch (result.outcome) {
    case Outcome::kTruncated:
      result.error_detail = "finish_reason length: the answer hit the token limit";
      break;
    case Outcome::kFormatError:
      result.error_detail = "response_format asks for JSON but the content is not JSON";
      break;
    case Outcome::kEmpty:
      result.error_detail = "no content and no tool calls (finish_reason " + result.finish_reason + ")";
      break;
    case Outcome::kRefusal:
      result.error_detail = completion->choice.finish_reason == "content_filter" ? "finish_reason content_filter"
                                                                                  : "the model refused";
      break;
    default:
      break;
  }
  return attempt;
}

class OpenAiChatProvider final : public Provider {
 public:
  OpenAiChatProvider(std::shared_ptr<ChatShared> shared, std::shared_ptr<CallController> controller)
      : shared_(std::move(shared)), controller_(std::move(controller)) {}

  void Call(const CallRequest& request, std::function<void(CallResult)> done) override {
    static const nlohmann::json kNoVars = nlohmann::json::object();
    auto body = shared_->renderer.Render(request.vars != nullptr ? *request.vars : kNoVars);
    if (!body) {
      CallResult failed;
      failed.outcome = Outcome::kProviderError;
      failed.error_detail = "cannot render the request for case '" + std::string(request.case_id) +
                            "': " + body.error().message;
      controller_->FailEarly(std::move(failed), std::move(done));
      return;
    }
    CallResult prepared;
    prepared.request_hash = Sha256Hex(*body);
    const double estimate =
        static_cast<double>(body->size()) / 4.0 + static_cast<double>(shared_->renderer.max_tokens());
    prepared.request = std::move(*body);
    controller_->Run(
        std::move(prepared), estimate,
        [shared = shared_](int, SteadyTime deadline, const std::string& request,
                           CallController::AttemptDone attempt_done) {
          HttpRequest http;
          http.target = shared->path;
          http.headers = shared->headers;
          http.body = request;
          ChatShared* raw = shared.get();
          raw->client->Send(raw->origin, std::move(http), deadline,
                            [shared, request_size = request.size(),
                             attempt_done = std::move(attempt_done)](HttpResponse response) {
                              AttemptResult attempt = Interpret(*shared, response, request_size);
                              RedactAttempt(shared->redactor, attempt);
                              attempt_done(std::move(attempt));
                            });
        },
        std::move(done));
  }

  ProviderStats Stats() const override {
    ProviderStats stats = controller_->Stats();
    stats.connections_opened = shared_->client->Stats().connections_opened;
    return stats;
  }

 private:
  std::shared_ptr<ChatShared> shared_;
  std::shared_ptr<CallController> controller_;
};

}  // namespace

Result<std::unique_ptr<Provider>> MakeOpenAiChatProvider(const config::TargetConfig& target, std::string api_key,
                                                         boost::asio::io_context& io) {
  auto shared = std::make_shared<ChatShared>();
  auto renderer = ChatRequestRenderer::Create(target);
  if (!renderer) return Fail(std::move(renderer.error()));
  shared->renderer = std::move(*renderer);

  std::string base = target.base_url.empty() ? "https://api.openai.com/v1" : target.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  constexpr std::string_view kSuffix = "/chat/completions";
  if (base.size() < kSuffix.size() || base.compare(base.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
    base += kSuffix;
  auto url = ParseUrl(base);
  if (!url) return Fail(std::move(url.error()));

  HttpClientOptions options;
  options.verify_tls = target.verify_tls;
  options.ca_file = target.ca_file;
  options.max_response_bytes = static_cast<std::size_t>(target.max_response_bytes);
  auto client = HttpClient::Create(io, std::move(options));
  if (!client) return Fail(std::move(client.error()));
  shared->client = std::move(*client);
  shared->origin = shared->client->Origin(*url);
  shared->path = url->target;

  shared->headers.emplace_back("Content-Type", "application/json");
  shared->headers.emplace_back("Accept", "application/json");
  for (const auto& [name, value] : target.http.headers) shared->headers.emplace_back(name, value);
  if (!api_key.empty()) shared->headers.emplace_back("Authorization", "Bearer " + api_key);
  shared->redactor = SecretRedactor::ForCredentials(std::move(api_key), shared->headers);

  auto controller = CallController::Create(io, ControlOptions::From(target));
  return std::unique_ptr<Provider>(new OpenAiChatProvider(std::move(shared), std::move(controller)));
}

}  // namespace dw::providers
