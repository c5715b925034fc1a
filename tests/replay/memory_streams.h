// In-memory case source and result sink for replay engine tests: the
// engine's store-facing interfaces without a database. Not thread-safe on
// their own; the engine calls them from its replay thread only.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "replay/engine.h"

namespace dw::replay::testing {

// Hands out `cases` in batches of `batch` (all at once by default), then an
// empty batch.
class VectorSource : public CaseSource {
 public:
  explicit VectorSource(std::vector<GoldenCase> cases, size_t batch = SIZE_MAX)
      : cases_(std::move(cases)), batch_(batch) {}
  Result<std::vector<GoldenCase>> Next() override {
    std::vector<GoldenCase> out;
    while (pos_ < cases_.size() && out.size() < batch_) out.push_back(cases_[pos_++]);
    return out;
  }

 private:
  std::vector<GoldenCase> cases_;
  size_t batch_;
  size_t pos_ = 0;
};

// Keeps every result it is given, in arrival order.
class MemorySink : public ResultSink {
 public:
  Status Add(ReplayResult r) override {
    results.push_back(std::move(r));
    return Ok();
  }
  Status Flush() override { return Ok(); }
  std::vector<ReplayResult> results;
};

}  // namespace dw::replay::testing
