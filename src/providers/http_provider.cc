#include "providers/http_provider.h"

#include <cctype>
#include <optional>
#include <utility>
#include <vector>

#include "core/hash.h"
#include "core/json_text.h"
#include "core/template.h"
#include "providers/call_controller.h"
#include "providers/classify.h"
#include "providers/http_client.h"
#include "providers/json_path.h"
#include "providers/json_template.h"

namespace dw::providers {
namespace {

struct HttpShared {
  std::string method;
  std::string url_template;
  std::optional<Url> fixed_url;  // set when the URL has no template
  HttpClient::OriginHandle fixed_origin;
  std::vector<std::pair<std::string, std::string>> headers;
  bool has_content_type = false;
  nlohmann::json body;
  std::string prompt;
  JsonPath output_path;
  std::optional<JsonPath> input_tokens_path;
  std::optional<JsonPath> output_tokens_path;
  std::unique_ptr<HttpClient> client;
  SecretRedactor redactor;
};

// A request rendered for one case.
struct RenderedHttp {
  Url url;
  std::string body;
  bool text_body = false;
};

std::optional<std::int64_t> TokensAt(const std::optional<JsonPath>& path, const nlohmann::json& json) {
  if (!path) return std::nullopt;
  const nlohmann::json* value = path->Find(json);
  return value == nullptr ? std::nullopt : TokenCount(*value);
}

AttemptResult Interpret(const HttpShared& shared, const HttpResponse& response, std::size_t request_size) {
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
  auto parsed = ParseJsonText(response.body);
  const nlohmann::json json = parsed ? std::move(*parsed) : nlohmann::json(nlohmann::json::value_t::discarded);
  if (shared.output_path.is_root()) {
    result.output = json.is_discarded() ? response.body : JsonToText(json);
  } else {
    const nlohmann::json* value = json.is_discarded() ? nullptr : shared.output_path.Find(json);
    if (value == nullptr) {
      result.outcome = Outcome::kProviderError;
      result.error_detail = json.is_discarded()
                                ? "HTTP " + std::to_string(response.status) + " but the body is not JSON"
                                : "output path " + shared.output_path.text() + " is not in the response";
      return attempt;
    }
    result.output = JsonToText(*value);
  }
  ChatChoice choice;
  choice.content = result.output;
  result.outcome = ClassifyChatChoice(choice, false);
  if (result.outcome == Outcome::kEmpty) result.error_detail = "the output is empty";
  if (result.outcome == Outcome::kRefusal) result.error_detail = "the model refused";
  auto input_tokens = json.is_discarded() ? std::nullopt : TokensAt(shared.input_tokens_path, json);
  auto output_tokens = json.is_discarded() ? std::nullopt : TokensAt(shared.output_tokens_path, json);
  result.usage_reported = input_tokens.has_value() || output_tokens.has_value();
  result.input_tokens = input_tokens.value_or(static_cast<std::int64_t>(request_size / 4));
  result.output_tokens = output_tokens.value_or(static_cast<std::int64_t>((result.output.size() + 3) / 4));
  return attempt;
}

class HttpJsonProvider final : public Provider {
 public:
  HttpJsonProvider(std::shared_ptr<HttpShared> shared, std::shared_ptr<CallController> controller)
      : shared_(std::move(shared)), controller_(std::move(controller)) {}

  void Call(const CallRequest& request, std::function<void(CallResult)> done) override {
    auto rendered = Render(request);
    if (!rendered) {
      CallResult failed;
      failed.outcome = Outcome::kProviderError;
      failed.error_detail = "cannot render the request for case '" + std::string(request.case_id) +
                            "': " + rendered.error().message;
      controller_->FailEarly(std::move(failed), std::move(done));
      return;
    }
    auto origin = shared_->fixed_url ? shared_->fixed_origin : shared_->client->Origin(rendered->url);
    CallResult prepared;
    // Canonical JSON of {"body", "method", "url"}: the body is already canonical.
    prepared.request = "{\"body\":";
    if (rendered->text_body) {
      prepared.request += CanonicalJson(nlohmann::json(rendered->body));
    } else {
      prepared.request += rendered->body.empty() ? std::string("null") : rendered->body;
    }
    prepared.request += ",\"method\":" + CanonicalJson(nlohmann::json(shared_->method));
    std::string url = shared_->redactor.Redact(rendered->url.Origin() + rendered->url.target);
    prepared.request += ",\"url\":" + CanonicalJson(nlohmann::json(std::move(url))) + "}";
    prepared.request_hash = Sha256Hex(prepared.request);
    const double estimate = static_cast<double>(rendered->body.size()) / 4.0;
    controller_->Run(
        std::move(prepared), estimate,
        [shared = shared_, origin = std::move(origin), target = rendered->url.target,
         body = std::move(rendered->body), text_body = rendered->text_body](
            int, SteadyTime deadline, const std::string&, CallController::AttemptDone attempt_done) {
          HttpRequest http;
          http.method = shared->method;
          http.target = target;
          http.headers = shared->headers;
          if (!shared->has_content_type && !body.empty())
            http.headers.emplace_back("Content-Type", text_body ? "text/plain; charset=utf-8" : "application/json");
          http.body = body;
          HttpShared* raw = shared.get();
          raw->client->Send(
              origin, std::move(http), deadline,
              [shared, request_size = body.size(), attempt_done = std::move(attempt_done)](HttpResponse response) {
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
  Result<RenderedHttp> Render(const CallRequest& request) const {
    static const nlohmann::json kNoVars = nlohmann::json::object();
    const nlohmann::json& case_vars = request.vars != nullptr ? *request.vars : kNoVars;
    const nlohmann::json* vars = &case_vars;
    nlohmann::json with_prompt;
    if (!shared_->prompt.empty() && !case_vars.contains("prompt")) {
      auto prompt = RenderTemplate(shared_->prompt, case_vars);
      if (!prompt) return Fail(std::move(prompt.error()));
      with_prompt = case_vars;
      with_prompt["prompt"] = std::move(*prompt);
      vars = &with_prompt;
    }
    RenderedHttp out;
    if (shared_->fixed_url) {
      out.url = *shared_->fixed_url;
    } else {
      auto text = RenderTemplate(shared_->url_template, *vars);
      if (!text) return Fail(std::move(text.error()));
      auto url = ParseUrl(*text);
      if (!url) return Fail(std::move(url.error()));
      out.url = std::move(*url);
    }
    if (!shared_->body.is_null()) {
      auto body = RenderJsonTemplate(shared_->body, *vars);
      if (!body) return Fail(std::move(body.error()));
      if (body->is_string()) {
        out.text_body = true;
        out.body = body->get<std::string>();
      } else {
        out.body = CanonicalJson(*body);
      }
    }
    return out;
  }

  std::shared_ptr<HttpShared> shared_;
  std::shared_ptr<CallController> controller_;
};

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

Result<std::unique_ptr<Provider>> MakeHttpProvider(const config::TargetConfig& target, std::string api_key,
                                                   boost::asio::io_context& io) {
  const config::HttpProviderConfig& http = target.http;
  auto shared = std::make_shared<HttpShared>();
  shared->method = http.method.empty() ? "POST" : http.method;
  for (char& c : shared->method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (char c : shared->method)
    if (c < 'A' || c > 'Z') return Fail(ErrorKind::kInvalidInput, "invalid HTTP method '" + http.method + "'");
  if (http.url.empty()) return Fail(ErrorKind::kInvalidInput, "provider http needs http.url");
  shared->url_template = http.url;
  if (!HasTemplate(http.url)) {
    auto url = ParseUrl(http.url);
    if (!url) return Fail(std::move(url.error()));
    shared->fixed_url = std::move(*url);
  }
  bool has_authorization = false;
  for (const auto& [name, value] : http.headers) {
    if (name.find_first_of("\r\n:") != std::string::npos || value.find_first_of("\r\n") != std::string::npos)
      return Fail(ErrorKind::kInvalidInput, "header '" + name + "' contains a line break or colon");
    has_authorization = has_authorization || EqualsNoCase(name, "authorization");
    shared->has_content_type = shared->has_content_type || EqualsNoCase(name, "content-type");
    shared->headers.emplace_back(name, value);
  }
  if (!api_key.empty() && !has_authorization) shared->headers.emplace_back("Authorization", "Bearer " + api_key);
  shared->body = http.body;
  shared->prompt = target.prompt;

  auto output_path = JsonPath::Parse(http.output_path);
  if (!output_path) return Fail(std::move(output_path.error()));
  shared->output_path = std::move(*output_path);
  for (auto [text, slot] : {std::pair{&http.input_tokens_path, &shared->input_tokens_path},
                            std::pair{&http.output_tokens_path, &shared->output_tokens_path}}) {
    if (text->empty()) continue;
    auto path = JsonPath::Parse(*text);
    if (!path) return Fail(std::move(path.error()));
    *slot = std::move(*path);
  }

  HttpClientOptions options;
  options.verify_tls = target.verify_tls;
  options.ca_file = target.ca_file;
  options.max_response_bytes = static_cast<std::size_t>(target.max_response_bytes);
  auto client = HttpClient::Create(io, std::move(options));
  if (!client) return Fail(std::move(client.error()));
  shared->client = std::move(*client);
  if (shared->fixed_url) shared->fixed_origin = shared->client->Origin(*shared->fixed_url);
  shared->redactor = SecretRedactor::ForCredentials(std::move(api_key), shared->headers);

  auto controller = CallController::Create(io, ControlOptions::From(target));
  return std::unique_ptr<Provider>(new HttpJsonProvider(std::move(shared), std::move(controller)));
}

}  // namespace dw::providers
