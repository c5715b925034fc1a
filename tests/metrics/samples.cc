#include "metrics/samples.h"

#include <cstdlib>
#include <sstream>

namespace dw::metrics::testing {

std::vector<Sample> ParseSamples(const std::string& text) {
  std::vector<Sample> samples;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name += line[i++];
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::string name, value;
        while (line[i] != '=') name += line[i++];
        i += 2;  // ="
        while (line[i] != '"') {
          if (line[i] == '\\') {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
          ++i;
        }
        ++i;  // closing quote
        if (line[i] == ',') ++i;
        s.labels[name] = value;
      }
      ++i;  // }
    }
    s.value = std::strtod(line.c_str() + i, nullptr);
    samples.push_back(std::move(s));
  }
  return samples;
}

std::optional<double> ValueOf(const std::vector<Sample>& samples, const std::string& name,
                              const std::map<std::string, std::string>& labels) {
  for (const auto& s : samples)
    if (s.name == name && s.labels == labels) return s.value;
  return std::nullopt;
}

std::vector<Sample> Named(const std::vector<Sample>& samples, const std::string& name) {
  std::vector<Sample> out;
  for (const auto& s : samples)
    if (s.name == name) out.push_back(s);
  return out;
}

}  // namespace dw::metrics::testing
