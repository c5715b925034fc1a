// Aligned plain-text tables for terminal output.
#pragma once

#include <string>
#include <vector>

namespace dw {

// Collects rows and renders them with columns padded to equal width. Numbers
// (cells that parse as numbers) are right-aligned. Not thread-safe.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t size() const { return rows_.size(); }
  // Header, a rule of dashes, then the rows; each line ends with '\n'.
  std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Fixed-point formatting helper: FormatFixed(0.12345, 3) == "0.123".
std::string FormatFixed(double value, int decimals);

}  // namespace dw
