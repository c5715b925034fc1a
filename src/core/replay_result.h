// The record of one case x repeat of a run: what was asked, what came back,
// how it scored. Produced by the replay engine, stored by the store module.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/outcome.h"

namespace dw {

// One scorer's verdict on one output (an assertion, or a named metric).
struct ScoreRow {
  std::string scorer;  // "0:icontains", "1.0:regex", "metric:accuracy"
  std::optional<double> value;
  std::optional<bool> passed;
  double weight = 1.0;
  std::string reason;
};

struct ReplayResult {
  std::string case_id;
  int repeat = 0;
  Outcome outcome = Outcome::kProviderError;
  std::optional<double> score;  // case score in [0,1] when scored
  std::string output;
  std::string request_hash;
  double latency_ms = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  double cost_usd = 0;
  int attempts = 0;
  std::string provider_model;
  std::string fingerprint;
  std::string finish_reason;
  std::string response_id;
  std::string error_detail;
  std::vector<ScoreRow> scores;
};

}  // namespace dw
