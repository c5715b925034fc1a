#include "scoring/grader.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "scoring/json_check.h"
#include "scoring/text_metrics.h"

namespace dw::scoring {
namespace {

constexpr size_t kQuotedReplyLimit = 200;

std::string Quote(std::string_view reply) {
  std::string quoted(reply.substr(0, kQuotedReplyLimit));
  if (reply.size() > kQuotedReplyLimit) quoted.append("...");
  return "\"" + quoted + "\"";
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool TruthyWord(std::string_view word) {
  std::string lower = AsciiLower(word);
  return lower == "true" || lower == "yes" || lower == "pass" || lower == "y";
}

// A finite number from a JSON number or a numeric string.
bool NumberFrom(const nlohmann::json& value, double* out) {
  if (value.is_number()) {
    *out = value.get<double>();
    return std::isfinite(*out);
  }
  if (!value.is_string()) return false;
  std::string text(Trim(value.get_ref<const std::string&>()));
  if (text.empty()) return false;
  char* end = nullptr;
  double parsed = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(parsed)) return false;
  *out = parsed;
  return true;
}

constexpr std::string_view kRubricSystem =
    "You grade an output against a rubric written by a user. The output passes when the statement in the "
    "rubric is true of it. Answer with one JSON object and nothing else: "
    "{\"reason\": string, \"pass\": boolean, \"score\": number between 0 and 1}.\n"
    "\n"
    "Examples:\n"
    "\n"
    "<Output>Hello world</Output>\n"
    "<Rubric>Content contains a greeting</Rubric>\n"
    "{\"reason\": \"the content starts with the greeting 'Hello'\", \"pass\": true, \"score\": 1.0}\n"
    "\n"
    "<Output>Avast ye swabs, repel the invaders!</Output>\n"
    "<Rubric>Does not speak like a pirate</Rubric>\n"
    "{\"reason\": \"'avast ye' is typical pirate speech\", \"pass\": false, \"score\": 0.0}";

constexpr std::string_view kCategoryDescriptions[] = {
    "The submitted answer is a subset of the expert answer and is fully consistent with it.",
    "The submitted answer is a superset of the expert answer and is fully consistent with it.",
    "The submitted answer contains all the same details as the expert answer.",
    "There is a disagreement between the submitted answer and the expert answer.",
    "The answers differ, but these differences don't matter from the perspective of factuality.",
};

}  // namespace

GradingPrompt LlmRubricPrompt(std::string_view rubric, std::string_view output) {
  GradingPrompt prompt;
  prompt.system = std::string(kRubricSystem);
  prompt.user.append("<Output>\n").append(output).append("\n</Output>\n<Rubric>\n").append(rubric).append(
      "\n</Rubric>");
  return prompt;
}

Result<RubricVerdict> ParseLlmRubricReply(std::string_view reply) {
  std::vector<nlohmann::json> objects = ExtractJsonObjects(reply);
  if (objects.empty())
    return Fail(ErrorKind::kInvalidInput, "could not extract a JSON verdict from the judge's reply " + Quote(reply));
  const nlohmann::json& verdict = objects.front();
  auto pass_it = verdict.find("pass");
  auto score_it = verdict.find("score");
  if (pass_it == verdict.end() && score_it == verdict.end())
    return Fail(ErrorKind::kInvalidInput,
                "the judge's verdict has neither \"pass\" nor \"score\": " + Quote(reply));
  RubricVerdict result;
  result.pass = true;
  if (pass_it != verdict.end()) {
    if (pass_it->is_boolean())
      result.pass = pass_it->get<bool>();
    else if (pass_it->is_string())
      result.pass = TruthyWord(Trim(pass_it->get_ref<const std::string&>()));
    else
      result.pass = false;
  }
  double score = 0.0;
  if (score_it != verdict.end() && NumberFrom(*score_it, &score))
    result.score = score;
  else
    result.score = result.pass ? 1.0 : 0.0;
  if (auto it = verdict.find("reason"); it != verdict.end() && it->is_string() && !it->get_ref<const std::string&>().empty())
    result.reason = it->get<std::string>();
  else
    result.reason = result.pass ? "Grading passed" : "Grading failed";
  return result;
}

GradingPrompt FactualityPrompt(std::string_view question, std::string_view expert, std::string_view submission) {
  GradingPrompt prompt;
  prompt.system =
      "You evaluate factuality: you compare a submitted answer with an expert answer to the same question. "
      "Judge the factual content only; ignore differences of style, grammar and punctuation. Put the "
      "submission in exactly one of these categories:\n"
      "\n";
  for (char c = 'A'; c <= 'E'; ++c)
    prompt.system.append("(").append(1, c).append(") ").append(FactualityCategoryDescription(c)).append("\n");
  prompt.system.append(
      "\n"
      "Answer with one JSON object and nothing else: {\"category\": \"<letter A-E>\", \"reason\": \"<why>\"}.");
  prompt.user.append("Compare these answers.\n\n<question>\n")
      .append(question)
      .append("\n</question>\n\n<expert_answer>\n")
      .append(expert)
      .append("\n</expert_answer>\n\n<submitted_answer>\n")
      .append(submission)
      .append("\n</submitted_answer>");
  return prompt;
}

Result<FactualityVerdict> ParseFactualityReply(std::string_view reply) {
  for (const nlohmann::json& object : ExtractJsonObjects(reply)) {
    auto it = object.find("category");
    if (it == object.end() || !it->is_string()) continue;
    std::string_view letter = Trim(it->get_ref<const std::string&>());
    if (letter.size() != 1 || std::toupper(static_cast<unsigned char>(letter[0])) < 'A' ||
        std::toupper(static_cast<unsigned char>(letter[0])) > 'E')
      return Fail(ErrorKind::kInvalidInput,
                  "the judge's factuality category " + Quote(letter) + " is not one of A, B, C, D, E");
    FactualityVerdict verdict;
    verdict.category = static_cast<char>(std::toupper(static_cast<unsigned char>(letter[0])));
    auto reason = object.find("reason");
    if (reason != object.end() && reason->is_string() && !Trim(reason->get_ref<const std::string&>()).empty())
      verdict.reason = std::string(Trim(reason->get_ref<const std::string&>()));
    else
      verdict.reason = "Category " + std::string(1, verdict.category) + ": " +
                       std::string(FactualityCategoryDescription(verdict.category));
    return verdict;
  }
  for (size_t i = 0; i + 1 < reply.size(); ++i) {
    const char upper = static_cast<char>(std::toupper(static_cast<unsigned char>(reply[i])));
    const bool standalone = i == 0 || reply[i - 1] == '(' || std::isspace(static_cast<unsigned char>(reply[i - 1]));
    if (upper >= 'A' && upper <= 'E' && reply[i + 1] == ')' && standalone) {
      FactualityVerdict verdict;
      verdict.category = upper;
      size_t paren = reply.find(')');
      std::string_view rest = Trim(reply.substr(paren + 1));
      verdict.reason = rest.empty() ? std::string(Trim(reply)) : std::string(rest);
      return verdict;
    }
  }
  return Fail(ErrorKind::kInvalidInput,
              "the judge's factuality reply names no category A-E: " + Quote(reply));
}

bool FactualityCategoryPasses(char category) { return category != 'D'; }

std::string_view FactualityCategoryDescription(char category) {
  if (category < 'A' || category > 'E') return "unknown category";
  return kCategoryDescriptions[category - 'A'];
}

}  // namespace dw::scoring
