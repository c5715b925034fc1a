// Parses text-format expositions back into samples, so tests can state the
// exact series and values they expect.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dw::metrics::testing {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Every sample line of `text` (comments and blank lines skipped).
std::vector<Sample> ParseSamples(const std::string& text);

// The value of the sample with exactly this name and label set.
std::optional<double> ValueOf(const std::vector<Sample>& samples, const std::string& name,
                              const std::map<std::string, std::string>& labels);

// The samples with this name.
std::vector<Sample> Named(const std::vector<Sample>& samples, const std::string& name);

}  // namespace dw::metrics::testing
