// Model-graded scoring: the judge/embedding interface the replay engine
// supplies, the grading prompts for `llm-rubric` and `factuality`, and the
// parsers for the judge's replies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace dw::scoring {

// A chat prompt for the judge model: an optional system message and one user
// message.
struct GradingPrompt {
  std::string system;
  std::string user;
};

// What the judge answered, and who answered it.
struct GraderReply {
  std::string text;
  std::string model;  // model id as echoed by the judge's API
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

// The judge target (chat model for llm-rubric/factuality) and embeddings
// target (for `similar`) of one run. Implemented by the providers module over
// pinned target versions; tests use in-memory fakes. Implementations must be
// safe to call from several threads at once; calls are synchronous.
class ModelGrader {
 public:
  virtual ~ModelGrader() = default;

  // Identity of the pinned judge configuration (e.g. "judge@<target version
  // hash>"), recorded in the metadata of every model-graded component.
  virtual std::string Id() const = 0;

  // Sends `prompt` to the judge model. kUnavailable (or another kind) when the
  // judge cannot be reached; the failing assertion is then reported as an
  // error, never as a pass.
  virtual Result<GraderReply> Grade(const GradingPrompt& prompt) = 0;

  // The embedding vector of `text` from the embeddings target.
  virtual Result<std::vector<double>> Embed(std::string_view text) = 0;
};

// The judge's decision for an llm-rubric assertion, before `threshold` and
// `not-` are applied.
struct RubricVerdict {
  bool pass = false;
  double score = 0.0;
  std::string reason;
};

// The default llm-rubric prompt (promptfoo's default grading prompt, in our
// wording): the system message explains the task and asks for
// {"reason": string, "pass": boolean, "score": number}; the user message is
// "<Output>\n{output}\n</Output>\n<Rubric>\n{rubric}\n</Rubric>".
GradingPrompt LlmRubricPrompt(std::string_view rubric, std::string_view output);

// Parses the judge's reply to an llm-rubric prompt with promptfoo's rules: the
// first JSON object in the text is the verdict; `pass` may be a boolean or a
// string ("true"/"yes"/"pass"/"y", case-insensitive, are true); `score` may be
// a number or a numeric string and defaults to 1 or 0 from `pass`; `pass`
// defaults to true when only `score` is given. Unlike promptfoo, an object with
// neither `pass` nor `score` is rejected rather than passed. kInvalidInput with
// the (truncated) reply when no verdict can be read.
Result<RubricVerdict> ParseLlmRubricReply(std::string_view reply);

// The factuality prompt: compares `submission` with the `expert` answer to
// `question` and asks for {"category": "A".."E", "reason": ...} with the
// OpenAI-evals "fact" categories: (A) subset of the expert answer and
// consistent, (B) superset and consistent, (C) same details, (D) disagreement,
// (E) differences that do not matter for factuality.
GradingPrompt FactualityPrompt(std::string_view question, std::string_view expert,
                               std::string_view submission);

// The judge's factuality category.
struct FactualityVerdict {
  char category = 'D';  // 'A'..'E'
  std::string reason;
};

// Parses a factuality reply: the first JSON object's "category" (one letter
// A-E, any case; another value is an error), else the legacy form "(B) ..." —
// the first letter a-e/A-E that follows the start, white space or '(' and is
// followed by ')' (promptfoo accepts any such letter, so "above)" would read as
// E) — with the text after the first ')' as the reason. kInvalidInput with the
// (truncated) reply otherwise.
Result<FactualityVerdict> ParseFactualityReply(std::string_view reply);

// promptfoo's default factuality scores: A, B, C and E pass with score 1;
// D fails with score 0.
bool FactualityCategoryPasses(char category);

// The description of a category letter ("There is a disagreement ..." for D).
std::string_view FactualityCategoryDescription(char category);

}  // namespace dw::scoring
