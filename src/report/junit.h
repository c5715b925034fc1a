// JUnit XML for CI systems (Jenkins, GitLab, GitHub test reporters), in the
// shape promptfoo's junit.xml output uses: one <testsuite> for the run, one
// <testcase> per case x repeat, <failure> listing what failed.
#pragma once

#include <string>
#include <vector>

#include "core/replay_result.h"
#include "store/run_repo.h"

namespace dw::report {

// Renders `results` of `run` as a JUnit XML document (UTF-8, XML 1.0):
//   - <testsuites>/<testsuite name="GOLDENSET@VERSION on TARGET"> with
//     tests, failures, errors, skipped (always 0) and time (sum of call
//     latencies, seconds, fixed point) and <properties> for provenance;
//   - <testcase classname="GOLDENSET" name="CASE_ID"> (" #REPEAT" appended
//     when the run has repeats), time = the call's latency;
//   - a model failure (outcome fail, refusal, format_error, truncated, empty)
//     is a <failure type="OUTCOME" message="..."> whose message names the
//     failed assertions with their reasons (or the failure class's
//     description) and whose text adds the output;
//   - an infrastructure failure (timeout, rate_limited, transport_error,
//     provider_error, budget_exceeded: never the model's fault) is an
//     <error type="OUTCOME" message="..."> with the error detail.
// Every text is escaped (report::EscapeMarkup). Pure; thread-safe.
std::string RenderJunit(const store::RunInfo& run, const std::vector<ReplayResult>& results);

}  // namespace dw::report
