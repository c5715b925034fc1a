// Scoring one output against a case's assertions, with promptfoo's
// aggregation rules:
//   - each assertion yields pass, a score in [0, 1] and a reason;
//   - case score = Σ score·weight / Σ weight (0 when Σ weight = 0);
//   - the case passes iff every assertion passes, or, when the case has a
//     threshold, iff score >= threshold (threshold 0 always passes);
//   - weight 0 makes an assertion informational: it always passes and does
//     not move the case score (its metric is still recorded, with weight 1);
//   - an assert-set is scored like a small case (its own threshold) and then
//     counts as one assertion of the case with its own weight and metric;
//   - `metric` names collect the weighted mean of the assertions carrying
//     them (named_scores), including those inside assert-sets;
//   - an assertion that cannot be evaluated (judge unreachable or
//     unparseable, no grader supplied, missing latency/cost, template error at
//     evaluation) is an *error*: the component has pass = false, score 0 and
//     `error` set, and the case has `error` set and never passes, so the
//     replay engine can tell "the model failed" from "we could not score".
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/golden_case.h"
#include "core/status.h"
#include "scoring/grader.h"

namespace dw::scoring {

// The version of the scoring semantics (every assertion type, the
// aggregation above, text normalisation). Runs are compared only when their
// scorers share it, so it changes when a change to this module could change
// any stored score, not with every release of the tool.
inline constexpr std::string_view kScoringVersion = "driftwatch-assertions/1";

// One model output to score. The views must stay valid during Evaluate().
struct ScoreInput {
  std::string_view output;                 // the model's text
  std::string_view prompt;                 // the rendered prompt (factuality's question)
  std::optional<double> latency_ms;        // absent for cached results
  std::optional<double> cost_usd;          // absent if the provider reports no cost
  std::optional<std::string> finish_reason;
  ModelGrader* grader = nullptr;           // judge/embeddings; not owned
};

// The result of one assertion (or of an assert-set, followed by its children
// in CaseScore::components).
struct ComponentScore {
  std::string path;    // "2" for assert[2], "2.0" for assert[2].assert[0]
  std::string type;    // canonical type as evaluated, e.g. "not-contains"
  std::string metric;  // rendered metric name; empty if none
  bool pass = false;
  double score = 0.0;
  double weight = 1.0;
  std::string reason;
  std::optional<std::string> error;  // set when the assertion could not be evaluated
  nlohmann::json metadata = nlohmann::json::object();  // e.g. grader_id, grader_model, tokens
};

// The result of scoring one output against all assertions of a case.
struct CaseScore {
  bool pass = true;
  double score = 1.0;
  std::string reason;
  std::map<std::string, double> named_scores;  // metric name -> weighted mean score
  std::vector<ComponentScore> components;      // flattened, in assertion order
  std::optional<std::string> error;            // first component error, if any
  int64_t grader_prompt_tokens = 0;
  int64_t grader_completion_tokens = 0;
};

// A case's assertions compiled once: normalised, templates rendered against
// the case vars, regular expressions and JSON schemas compiled, references
// tokenised. Immutable after Compile(); Evaluate() is thread-safe and does no
// parsing or compilation for deterministic assertions. Reference embeddings
// for `similar` are cached per grader Id() behind a mutex.
class CompiledAssertions {
 public:
  // Compiles `asserts` (authored or canonical form) for a case with `vars`
  // and an optional test-level `threshold`. kInvalidInput if the assertions
  // are invalid (see assertion.h), a template names a missing var, or a
  // rendered regex/schema does not compile.
  static Result<CompiledAssertions> Compile(const nlohmann::json& asserts, const nlohmann::json& vars,
                                            std::optional<double> threshold = std::nullopt);

  // Compile(c.asserts, c.vars, c.threshold).
  static Result<CompiledAssertions> Compile(const GoldenCase& c);

  CompiledAssertions(CompiledAssertions&&) noexcept;
  CompiledAssertions& operator=(CompiledAssertions&&) noexcept;
  ~CompiledAssertions();

  // Scores `input`. Never fails as a whole: per-assertion problems become
  // component errors (see the file comment).
  CaseScore Evaluate(const ScoreInput& input) const;

  // True if some assertion calls the judge or the embeddings endpoint, so
  // the replay engine must pass a ModelGrader.
  bool NeedsGrader() const;
  bool NeedsJudge() const;
  bool NeedsEmbeddings() const;

  // Number of top-level assertions.
  size_t size() const;

 private:
  struct Impl;
  explicit CompiledAssertions(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dw::scoring
