// Which cases got worse between a baseline and a candidate run, and what
// each side answered: the "side by side" part of the evidence pack.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/replay_result.h"

namespace dw::report {

struct ScoreLine {
  std::string scorer;  // "0:icontains", "metric:accuracy", ...
  std::optional<bool> passed;
  std::optional<double> value;
  std::string reason;
};

// One run's answer to a case: the repeat that shows the case best (the
// baseline's first passing repeat, the candidate's first failing one), and
// how often the case passed over all scored repeats.
struct CaseSide {
  int repeat = 0;
  std::string outcome;  // OutcomeName
  std::optional<double> score;
  std::string output;
  std::string error_detail;
  std::vector<ScoreLine> scores;
  int passed = 0;  // scored repeats that passed
  int scored = 0;  // repeats that reached the model (infrastructure failures excluded)
};

struct CaseChange {
  std::string case_id;
  std::string description;                                 // from the golden set; may be empty
  std::vector<std::pair<std::string, std::string>> input;  // the case's variables, as text
  std::vector<std::string> tags;
  CaseSide baseline;
  CaseSide candidate;
};

struct CaseChanges {
  std::vector<CaseChange> regressed;  // the shown ones, worst drop first
  size_t regressed_total = 0;         // cases whose pass share fell
  size_t improved_total = 0;          // cases whose pass share rose
  size_t compared = 0;                // cases scored at least once on both sides
};

// Pairs results by case id. A case regressed when its share of passing
// scored repeats is lower in `candidate` than in `baseline`; infrastructure
// failures (timeouts, rate limits, ...) count on neither side, and a case
// without a scored repeat on one side is not compared. Keeps at most `limit`
// regressed cases, ordered by the size of the drop, then case id. Pure.
CaseChanges CompareCases(const std::vector<ReplayResult>& baseline, const std::vector<ReplayResult>& candidate,
                         size_t limit);

}  // namespace dw::report
