// The Provider interface: one asynchronous model call per (case, repeat).
//
// Threading model. A provider belongs to one boost::asio::io_context, which
// must be run by exactly one thread (run one io_context and one provider per
// thread to scale out). Call() and Stats() must be invoked on that thread, or
// before the io_context starts running. `done` is always invoked on that
// thread, exactly once per Call(), and never from inside Call() itself, so a
// caller may start the next call from `done` without recursion.
//
// Lifetime. Destroying a provider is allowed while calls are in flight: their
// internal state is reference-counted, they still finish (by their per-attempt
// deadline at the latest) and still invoke `done`. The io_context must outlive
// all of them; if the io_context is stopped and destroyed first, pending
// `done` callbacks are destroyed without being invoked.
//
// Outcomes. Every call ends with exactly one dw::Outcome. Outcome::kPass here
// means "a usable answer was obtained" (the scorer later turns it into pass
// or fail); every other value is a failure class from core/outcome.h:
//   refusal         OpenAI `refusal` field, finish_reason content_filter, or
//                   a short answer that is an obvious refusal ("I'm sorry, but
//                   I can't ...");
//   format_error    response_format json_object/json_schema was requested and
//                   the content is not JSON (sim: injected malformed output);
//   truncated       finish_reason "length" (the partial output is kept);
//   empty           no content and no tool calls;
//   timeout         the last attempt hit its per-attempt deadline (or HTTP 408);
//   rate_limited    the last attempt got HTTP 429;
//   transport_error connect refused/reset, DNS, TLS (incl. certificate
//                   verification), malformed HTTP;
//   provider_error  HTTP 5xx, an error body, a 2xx body that is not the
//                   expected JSON shape, a non-zero exit of an exec command,
//                   or a request that cannot be rendered from the case vars.
// Infrastructure failures are never reported as usable answers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/golden_case.h"
#include "core/outcome.h"
#include "core/status.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace dw::providers {

// What to call the model with. Referenced data only needs to stay alive until
// Call() returns: providers copy what they keep.
struct CallRequest {
  std::string_view case_id;
  const nlohmann::json* vars = nullptr;  // a JSON object; nullptr means no vars
  int repeat = 0;
  // Distinguishes runs: the sim provider's randomness depends on it, so two
  // runs of one target differ like real sampling does (empty: none).
  std::string_view run_salt;

  static CallRequest For(const GoldenCase& golden_case, int repeat, std::string_view run_salt) {
    return CallRequest{golden_case.id, &golden_case.vars, repeat, run_salt};
  }
};

// How one call ended. Usage and identity fields are those of the last attempt.
struct CallResult {
  Outcome outcome = Outcome::kProviderError;
  std::string output;  // the answer text (also kept for refusal/truncated/format_error)
  int http_status = 0;  // 0 when no HTTP response was received or not HTTP
  double latency_ms = 0;        // wall time of the last (successful, if any) attempt
  double total_latency_ms = 0;  // from Call() to `done`, including queueing and retries
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t cached_tokens = 0;
  std::int64_t reasoning_tokens = 0;
  bool usage_reported = false;  // token counts come from the provider, not an estimate
  double cost_usd = 0;          // tokens priced with the target's Price
  std::string response_id;
  std::string model;  // the model the provider says answered
  std::string system_fingerprint;
  std::string finish_reason;
  int attempts = 0;
  std::string error_detail;  // why a failure happened; never contains secrets
  // The canonical rendered request (no secrets) and its SHA-256 hex: the
  // provenance of the output. Set even when the call failed.
  std::string request;
  std::string request_hash;

  bool usable() const { return outcome == Outcome::kPass; }
};

// Counters since creation, for progress display and tests.
struct ProviderStats {
  std::uint64_t calls = 0;     // Call() invocations
  std::uint64_t attempts = 0;  // attempts started, including retries
  std::uint64_t retries = 0;
  std::uint64_t in_flight = 0;  // calls admitted and not yet done
  std::uint64_t queued = 0;     // calls waiting for a per-target concurrency slot
  std::uint64_t connections_opened = 0;  // HTTP providers only
};

class Provider {
 public:
  virtual ~Provider() = default;

  // Starts one call; see the file comment for threading and outcome rules.
  virtual void Call(const CallRequest& request, std::function<void(CallResult)> done) = 0;

  virtual ProviderStats Stats() const = 0;
};

// Creates the provider named by `target.provider` (openai-chat, http, exec,
// sim) bound to `io`. Reads the API key from the environment variable named
// by `target.api_key_env` now (a missing variable is kInvalidInput naming the
// variable, never showing a value). Invalid settings (bad URL, unreadable
// ca_file, unknown provider, missing command, ...) are kInvalidInput.
Result<std::unique_ptr<Provider>> MakeProvider(const config::TargetConfig& target, boost::asio::io_context& io);

}  // namespace dw::providers
