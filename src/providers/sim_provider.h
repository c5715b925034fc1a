// provider: sim, a deterministic simulated model for demos and tests.
//
// Every sample is a pure function of (seed, case id, repeat, run salt,
// attempt): the same inputs always give the same answer, latency and usage.
//
// Correctness. Each case has a latent difficulty d = U(seed, case id), fixed
// across runs; each sample also draws fresh noise n = U(seed, case, repeat,
// salt, attempt). With probability kSimCaseConsistency the sample uses d,
// otherwise n, and it answers correctly iff the chosen value < accuracy. The
// mixture is still uniform, so P(correct) = accuracy exactly, while a case
// that passes in one run tends to pass in the next, as with real models.
// Lowering `accuracy` (drift) flips exactly the cases whose difficulty lies
// between the old and the new value, which makes paired statistics behave
// realistically.
//
// Answers. Correct: "The answer is <answer_var>." ({"answer": <value>} when
// params.response_format asks for JSON). Wrong: a plausible different value
// (a nearby number, the opposite yes/no or true/false, another option letter,
// or a stock non-answer) that never contains the correct text. With no
// answer var in the case the model echoes the rendered prompt (as
// {"answer": <prompt>} in JSON mode).
//
// Injected failures, drawn before correctness with their configured rates:
// refusal (the `refusal` field, like the OpenAI API), format error (malformed
// JSON content), truncation (half the answer, finish_reason "length"),
// empty (no content). They go through the same classification as real
// responses (classify.h); a format error outside JSON mode is reported as
// format_error directly. Latency is exponential with mean latency_ms,
// served by an asio timer; past timeout_ms the attempt times out. Usage is
// ceil(characters * tokens_per_char). The system fingerprint is derived from
// the sim settings, so changing them shows up as a fingerprint change.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/status.h"
#include "providers/classify.h"
#include "providers/provider.h"

namespace dw::providers {

inline constexpr double kSimCaseConsistency = 0.75;

struct SimInput {
  std::string_view case_id;
  const nlohmann::json* answer = nullptr;  // the case's answer_var value; nullptr: echo
  std::string_view prompt;  // the rendered prompt
  int repeat = 0;
  std::string_view run_salt;
  int attempt = 0;
  bool json_mode = false;
};

struct SimSample {
  ChatChoice choice;
  bool injected_format_error = false;
  bool correct = false;  // the answer given is the correct one
  double latency_ms = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::string id;
};

// One simulated sample. Pure and thread-safe.
SimSample SimulateSample(const config::SimProviderConfig& sim, const SimInput& input);

// kInvalidInput if a rate is outside [0, 1], the failure rates sum above 1,
// or latency_ms / tokens_per_char are negative.
Result<std::unique_ptr<Provider>> MakeSimProvider(const config::TargetConfig& target, boost::asio::io_context& io);

}  // namespace dw::providers
