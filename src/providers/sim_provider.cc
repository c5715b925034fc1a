#include "providers/sim_provider.h"

#include <array>
#include <cctype>
#include <cmath>
#include <optional>
#include <string>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/hash.h"
#include "core/template.h"
#include "providers/call_controller.h"
#include "providers/json_template.h"

namespace dw::providers {
namespace {

// FNV-1a over the parts (each followed by a 0xff separator, so ("ab","c")
// and ("a","bc") differ), finished with the splitmix64 mixer.
class Hasher {
 public:
  explicit Hasher(std::uint64_t seed) { Mix(seed); }

  Hasher& Add(std::string_view part) {
    for (unsigned char c : part) Byte(c);
    Byte(0xff);
    return *this;
  }
  Hasher& Add(std::uint64_t value) {
    for (int i = 0; i < 8; ++i) Byte(static_cast<unsigned char>(value >> (8 * i)));
    Byte(0xfe);
    return *this;
  }

  std::uint64_t Value() const {
    std::uint64_t z = state_ + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, 1).
  double Uniform() const { return static_cast<double>(Value() >> 11) * 0x1.0p-53; }

 private:
  void Byte(unsigned char c) {
    state_ ^= c;
    state_ *= 0x100000001b3ULL;
  }
  void Mix(std::uint64_t seed) {
    state_ = 0xcbf29ce484222325ULL;
    Add(seed);
  }

  std::uint64_t state_ = 0;
};

Hasher SampleHasher(const config::SimProviderConfig& sim, std::string_view purpose, const SimInput& input) {
  Hasher h(sim.seed);
  h.Add(purpose).Add(input.case_id).Add(static_cast<std::uint64_t>(input.repeat)).Add(input.run_salt);
  h.Add(static_cast<std::uint64_t>(input.attempt));
  return h;
}

bool IsInteger(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  if (s.empty() || s.size() > 15) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool IsDecimal(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  size_t dot = s.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == s.size() || s.size() > 20) return false;
  return IsInteger(s.substr(0, dot)) && IsInteger(s.substr(dot + 1));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Keeps the case style of `model` ("Yes" -> "No", "TRUE" -> "FALSE").
std::string MatchCase(std::string_view model, std::string word) {
  if (model.size() > 1 && std::isupper(static_cast<unsigned char>(model[0])) &&
      std::isupper(static_cast<unsigned char>(model[1]))) {
    for (char& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  } else if (!model.empty() && std::isupper(static_cast<unsigned char>(model[0]))) {
    word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
  }
  return word;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return Lower(haystack).find(Lower(needle)) != std::string::npos;
}

// A plausible answer different from `correct` that does not contain it.
std::string WrongAnswer(const std::string& correct, double u) {
  const int offset = 1 + static_cast<int>(u * 9);  // 1..9
  std::string lower = Lower(correct);
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kOpposites = {
      {{"yes", "no"}, {"no", "yes"}, {"true", "false"}, {"false", "true"}}};
  for (auto [word, opposite] : kOpposites)
    if (lower == word) return MatchCase(correct, std::string(opposite));
  if (IsInteger(correct)) {
    long long value = std::stoll(correct);
    for (int k = 0; k < 40; ++k) {
      long long candidate = value + ((k % 2 == 0) ? 1 : -1) * (offset + k / 2);
      std::string text = std::to_string(candidate);
      if (!Contains(text, correct)) return text;
    }
  }
  if (IsDecimal(correct)) {
    double value = std::stod(correct);
    for (int k = 0; k < 40; ++k) {
      std::string text = std::to_string(value * (1.0 + 0.1 * (offset + k)) + offset);
      if (!Contains(text, correct)) return text;
    }
  }
  if (correct.size() == 1 && std::isalpha(static_cast<unsigned char>(correct[0]))) {
    const bool upper = std::isupper(static_cast<unsigned char>(correct[0])) != 0;
    const int letter = std::tolower(static_cast<unsigned char>(correct[0])) - 'a';
    const int span = std::max(4, letter + 1);
    char other = static_cast<char>('a' + (letter + 1 + offset % (span - 1)) % span);
    return std::string(1, upper ? static_cast<char>(std::toupper(other)) : other);
  }
  static constexpr std::array<std::string_view, 5> kNonAnswers = {"I am not sure", "none of the above",
                                                                 "it depends on the context", "unknown",
                                                                 "that cannot be determined"};
  for (size_t k = 0; k < kNonAnswers.size(); ++k) {
    std::string candidate(kNonAnswers[(static_cast<size_t>(u * kNonAnswers.size()) + k) % kNonAnswers.size()]);
    if (!Contains(candidate, correct)) return candidate;
  }
  for (std::string filler : {"???", "-", "0"})
    if (!Contains(filler, correct)) return filler;
  return "#";
}

std::string AnswerText(const nlohmann::json& answer, bool json_mode) {
  if (json_mode) return CanonicalJson(nlohmann::json{{"answer", answer}});
  return "The answer is " + JsonToText(answer) + ".";
}

std::int64_t Tokens(std::size_t chars, double per_char) {
  return static_cast<std::int64_t>(std::ceil(static_cast<double>(chars) * per_char));
}

}  // namespace

SimSample SimulateSample(const config::SimProviderConfig& sim, const SimInput& input) {
  SimSample sample;
  const nlohmann::json* answer = input.answer;

  const double u_case = Hasher(sim.seed).Add("case").Add(input.case_id).Uniform();
  const double u_pick = SampleHasher(sim, "pick", input).Uniform();
  const double u_noise = SampleHasher(sim, "noise", input).Uniform();
  const double u_fail = SampleHasher(sim, "fail", input).Uniform();
  const double u_wrong = SampleHasher(sim, "wrong", input).Uniform();
  const double u_latency = SampleHasher(sim, "latency", input).Uniform();
  {
    std::uint64_t id = SampleHasher(sim, "id", input).Value();
    static constexpr char kDigits[] = "0123456789abcdef";
    sample.id = "simcmpl-";
    for (int shift = 60; shift >= 0; shift -= 4) sample.id.push_back(kDigits[(id >> shift) & 0xf]);
  }
  sample.latency_ms = sim.latency_ms > 0 ? -sim.latency_ms * std::log1p(-u_latency) : 0.0;
  sample.correct = (u_pick < kSimCaseConsistency ? u_case : u_noise) < sim.accuracy;

  std::string correct_text;
  std::string given;
  if (answer == nullptr) {
    correct_text = input.json_mode ? AnswerText(nlohmann::json(std::string(input.prompt)), true)
                                   : std::string(input.prompt);
    given = correct_text;
    sample.correct = true;
  } else {
    correct_text = AnswerText(*answer, input.json_mode);
    if (sample.correct) {
      given = correct_text;
    } else {
      std::string wrong = WrongAnswer(JsonToText(*answer), u_wrong);
      given = AnswerText(nlohmann::json(wrong), input.json_mode);
    }
  }

  ChatChoice& choice = sample.choice;
  choice.finish_reason = "stop";
  double threshold = sim.refusal_rate;
  if (u_fail < threshold) {
    choice.refusal = "I'm sorry, but I can't help with that.";
    sample.correct = false;
  } else if (u_fail < (threshold += sim.format_error_rate)) {
    sample.injected_format_error = true;
    sample.correct = false;
    choice.content = input.json_mode ? given.substr(0, given.size() - 1) + ",\"note\":" : "<answer>" + given;
  } else if (u_fail < (threshold += sim.truncation_rate)) {
    sample.correct = false;
    choice.content = given.substr(0, given.size() / 2);
    choice.finish_reason = "length";
  } else if (u_fail < (threshold += sim.empty_rate)) {
    sample.correct = false;
    choice.content = "";
  } else {
    choice.content = std::move(given);
  }
  sample.prompt_tokens = Tokens(input.prompt.size(), sim.tokens_per_char);
  std::size_t out_chars = choice.content ? choice.content->size() : choice.refusal->size();
  sample.completion_tokens = Tokens(out_chars, sim.tokens_per_char);
  return sample;
}

namespace {

struct SimShared {
  config::SimProviderConfig sim;
  std::string model;
  std::string fingerprint;
  std::string prompt;       // template; empty: use messages or vars
  nlohmann::json messages;  // used when prompt is empty
  bool json_mode = false;
  int timeout_ms = 0;
};

AttemptResult ToAttempt(const SimShared& shared, SimSample sample) {
  AttemptResult attempt;
  CallResult& result = attempt.result;
  result.model = shared.model;
  result.system_fingerprint = shared.fingerprint;
  result.response_id = std::move(sample.id);
  result.finish_reason = sample.choice.finish_reason;
  result.usage_reported = true;
  result.input_tokens = sample.prompt_tokens;
  result.output_tokens = sample.completion_tokens;
  result.http_status = 200;
  result.outcome = ClassifyChatChoice(sample.choice, shared.json_mode);
  if (sample.injected_format_error) result.outcome = Outcome::kFormatError;
  if (sample.choice.content) {
    result.output = std::move(*sample.choice.content);
  } else if (sample.choice.refusal) {
    result.output = std::move(*sample.choice.refusal);
  }
  switch (result.outcome) {
    case Outcome::kRefusal: result.error_detail = "the model refused"; break;
    case Outcome::kFormatError: result.error_detail = "the output is not in the required format"; break;
    case Outcome::kTruncated: result.error_detail = "finish_reason length: the answer hit the token limit"; break;
    case Outcome::kEmpty: result.error_detail = "no content"; break;
    default: break;
  }
  return attempt;
}

class SimProvider final : public Provider {
 public:
  SimProvider(boost::asio::io_context& io, std::shared_ptr<const SimShared> shared,
              std::shared_ptr<CallController> controller)
      : io_(io), shared_(std::move(shared)), controller_(std::move(controller)) {}

  void Call(const CallRequest& request, std::function<void(CallResult)> done) override {
    static const nlohmann::json kNoVars = nlohmann::json::object();
    const nlohmann::json& vars = request.vars != nullptr ? *request.vars : kNoVars;
    auto prompt = RenderPrompt(vars);
    if (!prompt) {
      CallResult failed;
      failed.outcome = Outcome::kProviderError;
      failed.error_detail =
          "cannot render the prompt for case '" + std::string(request.case_id) + "': " + prompt.error().message;
      controller_->FailEarly(std::move(failed), std::move(done));
      return;
    }
    CallResult prepared;
    prepared.request = "{\"model\":" + CanonicalJson(nlohmann::json(shared_->model)) +
                       ",\"prompt\":" + CanonicalJson(nlohmann::json(*prompt)) + "}";
    prepared.request_hash = Sha256Hex(prepared.request);
    const double estimate = static_cast<double>(prompt->size()) * shared_->sim.tokens_per_char;
    std::optional<nlohmann::json> answer;
    if (vars.is_object()) {
      auto it = vars.find(shared_->sim.answer_var);
      if (it != vars.end()) answer = *it;
    }
    auto attempt = [io = &io_, shared = shared_, case_id = std::string(request.case_id), answer = std::move(answer),
                    prompt = std::move(*prompt), repeat = request.repeat, salt = std::string(request.run_salt)](
                       int attempt_index, SteadyTime deadline, const std::string&,
                       CallController::AttemptDone attempt_done) {
      SimInput input{case_id, answer ? &*answer : nullptr, prompt, repeat, salt, attempt_index, shared->json_mode};
      SimSample sample = SimulateSample(shared->sim, input);
      const auto latency = std::chrono::microseconds(static_cast<std::int64_t>(sample.latency_ms * 1000.0));
      const bool times_out = std::chrono::steady_clock::now() + latency >= deadline;
      AttemptResult result;
      if (times_out) {
        result.result.outcome = Outcome::kTimeout;
        result.result.error_detail =
            "the simulated answer took longer than " + std::to_string(shared->timeout_ms) + " ms";
        result.retryable = true;
      } else {
        result = ToAttempt(*shared, std::move(sample));
      }
      if (!times_out && latency.count() == 0) {
        boost::asio::post(*io, [result = std::move(result), attempt_done = std::move(attempt_done)]() mutable {
          attempt_done(std::move(result));
        });
        return;
      }
      auto timer = std::make_shared<boost::asio::steady_timer>(*io);
      if (times_out) {
        timer->expires_at(deadline);
      } else {
        timer->expires_after(latency);
      }
      timer->async_wait([timer, result = std::move(result),
                         attempt_done = std::move(attempt_done)](const boost::system::error_code&) mutable {
        attempt_done(std::move(result));
      });
    };
    controller_->Run(std::move(prepared), estimate, std::move(attempt), std::move(done));
  }

  ProviderStats Stats() const override { return controller_->Stats(); }

 private:
  Result<std::string> RenderPrompt(const nlohmann::json& vars) const {
    if (!shared_->prompt.empty()) return RenderTemplate(shared_->prompt, vars);
    if (shared_->messages.is_array()) {
      auto rendered = RenderJsonTemplate(shared_->messages, vars);
      if (!rendered) return Fail(std::move(rendered.error()));
      std::string text;
      for (const auto& message : *rendered) {
        if (!text.empty()) text += "\n";
        text += JsonToText(message.is_object() && message.contains("content") ? message["content"] : message);
      }
      return text;
    }
    return CanonicalJson(vars);
  }

  boost::asio::io_context& io_;
  std::shared_ptr<const SimShared> shared_;
  std::shared_ptr<CallController> controller_;
};

}  // namespace

Result<std::unique_ptr<Provider>> MakeSimProvider(const config::TargetConfig& target, boost::asio::io_context& io) {
  const config::SimProviderConfig& sim = target.sim;
  const std::pair<const char*, double> rates[] = {{"accuracy", sim.accuracy},
                                                  {"refusal_rate", sim.refusal_rate},
                                                  {"format_error_rate", sim.format_error_rate},
                                                  {"truncation_rate", sim.truncation_rate},
                                                  {"empty_rate", sim.empty_rate}};
  for (const auto& [name, value] : rates) {
    if (!(value >= 0.0 && value <= 1.0))
      return Fail(ErrorKind::kInvalidInput, std::string("sim.") + name + " must be between 0 and 1");
  }
  if (sim.refusal_rate + sim.format_error_rate + sim.truncation_rate + sim.empty_rate > 1.0 + 1e-9)
    return Fail(ErrorKind::kInvalidInput, "the sim failure rates add up to more than 1");
  if (!(sim.latency_ms >= 0.0)) return Fail(ErrorKind::kInvalidInput, "sim.latency_ms must not be negative");
  if (!(sim.tokens_per_char >= 0.0)) return Fail(ErrorKind::kInvalidInput, "sim.tokens_per_char must not be negative");
  if (!target.messages.is_null() && !target.messages.is_array())
    return Fail(ErrorKind::kInvalidInput, "messages must be a list of {role, content}");

  auto shared = std::make_shared<SimShared>();
  shared->sim = sim;
  shared->model = target.model.empty() ? "sim-1" : target.model;
  const nlohmann::json settings = {{"accuracy", sim.accuracy},
                                   {"answer_var", sim.answer_var},
                                   {"empty_rate", sim.empty_rate},
                                   {"format_error_rate", sim.format_error_rate},
                                   {"latency_ms", sim.latency_ms},
                                   {"refusal_rate", sim.refusal_rate},
                                   {"seed", sim.seed},
                                   {"tokens_per_char", sim.tokens_per_char},
                                   {"truncation_rate", sim.truncation_rate}};
  shared->fingerprint = "fp_sim_" + ContentHash(settings).substr(0, 12);
  shared->prompt = target.prompt;
  shared->messages = target.messages;
  if (target.params.is_object()) {
    auto format = target.params.find("response_format");
    if (format != target.params.end() && format->is_object()) {
      const std::string type = format->value("type", "");
      shared->json_mode = type == "json_object" || type == "json_schema";
    }
  }
  shared->timeout_ms = target.timeout_ms;
  auto controller = CallController::Create(io, ControlOptions::From(target));
  return std::unique_ptr<Provider>(new SimProvider(io, std::move(shared), std::move(controller)));
}

}  // namespace dw::providers
