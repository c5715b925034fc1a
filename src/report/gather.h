// Gathers an EvidencePack from the store: the candidate run and its
// provenance, the comparison with its baseline (the one a review bound, else
// the latest stored), the cases that got worse with both sides' outputs and
// scores, the run history and drift-detector series, the review with its
// gates, decisions and pointer moves, and the audit chain's status.
#pragma once

#include <cstddef>
#include <string>

#include "core/status.h"
#include "report/evidence.h"
#include "store/database.h"

namespace dw::report {

struct EvidenceRequest {
  std::string run;        // run id or unique prefix; may be empty when `review` is set
  std::string review;     // review id or prefix; empty: the newest review of the run, if any
  size_t max_cases = 50;  // regressed cases shown side by side
  int trend_runs = 30;    // runs per target in the trend charts
  bool verify_audit = true;
  std::string generated_by;  // the driftwatch build
};

// Reads everything the pack shows, in several read-only transactions on the
// caller's Database (not thread-safe; one per thread). Errors: kInvalidInput
// when neither a run nor a review is given, for malformed ids, or when the
// review is about another run; kNotFound for an unknown run or review;
// database failures as the store reports them. A failed audit verification
// (e.g. a role without access to the audit schema) is recorded in the pack,
// not returned.
Result<EvidencePack> GatherEvidence(store::Database& db, const EvidenceRequest& request);

}  // namespace dw::report
