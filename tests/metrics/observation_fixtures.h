// Realistic observations shared by the metrics tests.
#pragma once

#include <string>

#include "metrics/observations.h"

namespace dw::metrics::testing {

// A successful run of `golden_set` against `target` (versions gs-v1 / tv-1,
// finished at 1.8e9): 7 pass, 1 fail, 2 timeout; 1000 input and 250 output
// tokens; $0.125; latencies 0.2, 0.7, 3 and 500 s; 42.5 s long.
RunObservation SampleRun(std::string golden_set = "support", std::string target = "gpt");

// A critical regression of `metric` on `slice` for support/gpt with every
// optional statistic set: value 0.81 [0.74, 0.87], baseline 0.9, delta -0.09
// [-0.14, -0.04], p 0.002, q 0.006, CUSUM 0.3/5.2, EWMA -1.7, 2 runs in alarm.
MetricObservation SampleMetric(std::string metric = "pass_rate", std::string slice = "all");

}  // namespace dw::metrics::testing
