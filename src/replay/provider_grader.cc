#include "replay/provider_grader.h"

#include <cstdlib>
#include <future>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "providers/http_client.h"
#include "providers/provider.h"

namespace dw::replay {

struct ProviderGrader::Impl {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
  std::unique_ptr<providers::Provider> judge;
  int judge_timeout_ms = 60000;
  std::unique_ptr<providers::HttpClient> http;
  providers::HttpClient::OriginHandle embeddings_origin;
  providers::Url embeddings_url;
  std::string embeddings_model;
  std::string embeddings_key;
  int embeddings_timeout_ms = 30000;
  std::thread thread;

  ~Impl() {
    guard.reset();
    io.stop();
    if (thread.joinable()) thread.join();
  }
};

Result<std::unique_ptr<ProviderGrader>> ProviderGrader::Create(const config::TargetConfig* judge,
                                                               const config::TargetConfig* embeddings) {
  std::unique_ptr<ProviderGrader> grader(new ProviderGrader());
  grader->impl_ = std::make_unique<Impl>();
  Impl& impl = *grader->impl_;
  std::string id;
  if (judge) {
    config::TargetConfig pinned = *judge;
    pinned.prompt.clear();
    pinned.messages = nlohmann::json::array({{{"role", "system"}, {"content", "{{system}}"}},
                                             {{"role", "user"}, {"content", "{{user}}"}}});
    auto provider = providers::MakeProvider(pinned, impl.io);
    if (!provider) return Fail(provider.error());
    impl.judge = std::move(*provider);
    impl.judge_timeout_ms = judge->timeout_ms * std::max(1, judge->retry.max_attempts) + judge->retry.max_delay_ms;
    id = "judge=" + judge->name + "@" + judge->VersionHash().substr(0, 12);
  }
  if (embeddings) {
    auto url = providers::ParseUrl(embeddings->base_url + "/embeddings");
    if (!url) return Fail(url.error());
    providers::HttpClientOptions options;
    options.verify_tls = embeddings->verify_tls;
    options.ca_file = embeddings->ca_file;
    auto http = providers::HttpClient::Create(impl.io, options);
    if (!http) return Fail(http.error());
    impl.http = std::move(*http);
    impl.embeddings_url = *url;
    impl.embeddings_origin = impl.http->Origin(*url);
    impl.embeddings_model = embeddings->model;
    impl.embeddings_timeout_ms = embeddings->timeout_ms;
    if (!embeddings->api_key_env.empty()) {
      const char* key = std::getenv(embeddings->api_key_env.c_str());
      if (key == nullptr)
        return Fail(ErrorKind::kInvalidInput,
                    "embeddings target needs environment variable " + embeddings->api_key_env);
      impl.embeddings_key = key;
    }
    id += std::string(id.empty() ? "" : ",") + "embeddings=" + embeddings->name + "@" +
          embeddings->VersionHash().substr(0, 12);
  }
  grader->id_ = id.empty() ? "none" : id;
  impl.thread = std::thread([&impl] { impl.io.run(); });
  return grader;
}

ProviderGrader::~ProviderGrader() = default;

Result<scoring::GraderReply> ProviderGrader::Grade(const scoring::GradingPrompt& prompt) {
  if (!impl_->judge)
    return Fail(ErrorKind::kUnavailable, "model-graded assertion needs a judge target: set scorers.judge in the config");
  auto promise = std::make_shared<std::promise<providers::CallResult>>();
  auto future = promise->get_future();
  auto vars = std::make_shared<nlohmann::json>(nlohmann::json{{"system", prompt.system}, {"user", prompt.user}});
  boost::asio::post(impl_->io, [this, promise, vars] {
    providers::CallRequest request{"judge", vars.get(), 0, ""};
    impl_->judge->Call(request, [promise, vars](providers::CallResult r) { promise->set_value(std::move(r)); });
  });
  if (future.wait_for(std::chrono::milliseconds(impl_->judge_timeout_ms + 5000)) != std::future_status::ready)
    return Fail(ErrorKind::kUnavailable, "judge did not answer in time");
  providers::CallResult result = future.get();
  if (!result.usable())
    return Fail(ErrorKind::kUnavailable, "judge call failed (" + std::string(OutcomeName(result.outcome)) +
                                             "): " + result.error_detail);
  scoring::GraderReply reply;
  reply.text = result.output;
  reply.model = result.model;
  reply.prompt_tokens = result.input_tokens;
  reply.completion_tokens = result.output_tokens;
  return reply;
}

Result<std::vector<double>> ProviderGrader::Embed(std::string_view text) {
  if (!impl_->http)
    return Fail(ErrorKind::kUnavailable, "`similar` needs an embeddings target: set scorers.embeddings in the config");
  auto promise = std::make_shared<std::promise<providers::HttpResponse>>();
  auto future = promise->get_future();
  providers::HttpRequest request;
  request.method = "POST";
  request.target = impl_->embeddings_url.target;
  request.headers = {{"Content-Type", "application/json"}};
  if (!impl_->embeddings_key.empty()) request.headers.emplace_back("Authorization", "Bearer " + impl_->embeddings_key);
  request.body = nlohmann::json{{"model", impl_->embeddings_model}, {"input", std::string(text)}}.dump();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(impl_->embeddings_timeout_ms);
  boost::asio::post(impl_->io, [this, promise, request = std::move(request), deadline]() mutable {
    impl_->http->Send(impl_->embeddings_origin, std::move(request), deadline,
                      [promise](providers::HttpResponse r) { promise->set_value(std::move(r)); });
  });
  if (future.wait_for(std::chrono::milliseconds(impl_->embeddings_timeout_ms + 5000)) != std::future_status::ready)
    return Fail(ErrorKind::kUnavailable, "embeddings endpoint did not answer in time");
  providers::HttpResponse response = future.get();
  if (response.failure != providers::HttpFailure::kNone)
    return Fail(ErrorKind::kUnavailable, "embeddings request failed: " + response.failure_detail);
  if (response.status != 200)
    return Fail(ErrorKind::kUnavailable, "embeddings endpoint answered HTTP " + std::to_string(response.status));
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_discarded() || !body.contains("data") || !body["data"].is_array() || body["data"].empty() ||
      !body["data"][0].contains("embedding") || !body["data"][0]["embedding"].is_array())
    return Fail(ErrorKind::kUnavailable, "embeddings reply has no data[0].embedding array");
  std::vector<double> vec;
  for (const auto& v : body["data"][0]["embedding"]) {
    if (!v.is_number()) return Fail(ErrorKind::kUnavailable, "embeddings reply contains a non-number");
    vec.push_back(v.get<double>());
  }
  return vec;
}

}  // namespace dw::replay
