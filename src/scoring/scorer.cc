#include "scoring/scorer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <re2/re2.h>

#include "core/template.h"
#include "scoring/assertion.h"
#include "scoring/json_check.h"
#include "scoring/text_metrics.h"

namespace dw::scoring {
namespace {

using nlohmann::json;
using T = AssertionType;

// Exact Levenshtein distances are reported only when this cheap to compute.
constexpr size_t kExactDistanceCellLimit = size_t{1} << 16;

struct Node {
  const AssertionTypeInfo* info = nullptr;
  bool inverse = false;
  std::string type;
  std::string path;
  std::string metric;
  double weight = 1.0;
  std::optional<double> threshold;
  std::string text;
  std::string text_lower;
  std::vector<std::string> texts;
  std::vector<std::string> texts_lower;
  json structured;  // equals with an object/array value
  bool has_structured = false;
  std::unique_ptr<RE2> regex;
  std::shared_ptr<const JsonSchema> schema;
  std::optional<double> count_exact;
  std::optional<double> count_min;
  std::optional<double> count_max;
  std::string rubric_prompt;
  std::optional<RougeReference> rouge;
  std::optional<BleuReferences> bleu;
  std::vector<Node> children;
};

std::string Num(double value) { return JsonScalarToString(json(value)); }

std::string Fixed(double value, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
  return buffer;
}

std::string JoinTexts(const std::vector<std::string>& texts) {
  std::string out;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (i > 0) out.append(", ");
    out.append(texts[i]);
  }
  return out;
}

std::string Not(bool inverse) { return inverse ? "not " : ""; }

Result<std::string> Render(const std::string& text, const json& vars, const std::string& where) {
  if (!HasTemplate(text)) return text;
  auto rendered = RenderTemplate(text, vars);
  if (!rendered) return Fail(ErrorKind::kInvalidInput, where + ": " + rendered.error().message);
  return rendered;
}

Result<std::vector<std::string>> RenderList(const json& value, const json& vars, const std::string& where) {
  std::vector<std::string> out;
  for (size_t i = 0; i < value.size(); ++i) {
    auto item = Render(value[i].get<std::string>(), vars, where + "[" + std::to_string(i) + "]");
    if (!item) return tl::unexpected(item.error());
    out.push_back(std::move(*item));
  }
  return out;
}

std::vector<std::string> LowerAll(const std::vector<std::string>& texts) {
  std::vector<std::string> out;
  out.reserve(texts.size());
  for (const auto& t : texts) out.push_back(AsciiLower(t));
  return out;
}

Result<Node> CompileNode(const json& a, const json& vars, const std::string& path, const std::string& where) {
  Node node;
  node.path = path;
  node.type = a["type"].get<std::string>();
  node.inverse = node.type.rfind("not-", 0) == 0;
  node.info = FindAssertionType(node.inverse ? node.type.substr(4) : node.type);
  node.weight = a["weight"].get<double>();
  if (auto it = a.find("threshold"); it != a.end()) node.threshold = it->get<double>();
  if (auto it = a.find("metric"); it != a.end()) {
    auto metric = Render(it->get<std::string>(), vars, where + ".metric");
    if (!metric) return tl::unexpected(metric.error());
    node.metric = std::move(*metric);
  }
  if (auto it = a.find("rubricPrompt"); it != a.end()) node.rubric_prompt = it->get<std::string>();

  const std::string value_where = where + ".value";
  const json* value = a.contains("value") ? &a["value"] : nullptr;
  switch (node.info->type) {
    case T::kEquals:
      if (value->is_string()) {
        auto text = Render(value->get<std::string>(), vars, value_where);
        if (!text) return tl::unexpected(text.error());
        node.text = std::move(*text);
      } else {
        node.structured = *value;
        node.has_structured = true;
      }
      break;
    case T::kContains:
    case T::kIContains:
    case T::kStartsWith:
    case T::kLevenshtein:
    case T::kRougeN:
    case T::kFactuality:
    case T::kFinishReason:
    case T::kRegex: {
      auto text = Render(value->get<std::string>(), vars, value_where);
      if (!text) return tl::unexpected(text.error());
      if (text->empty()) return Fail(ErrorKind::kInvalidInput, value_where + ": rendered to an empty string");
      node.text = std::move(*text);
      node.text_lower = AsciiLower(node.text);
      if (node.info->type == T::kRougeN) node.rouge.emplace(node.text, 1);
      if (node.info->type == T::kRegex) {
        node.regex = std::make_unique<RE2>(node.text, RE2::Quiet);
        if (!node.regex->ok())
          return Fail(ErrorKind::kInvalidInput, value_where + ": invalid RE2 pattern: " + node.regex->error());
      }
      break;
    }
    case T::kContainsAny:
    case T::kContainsAll:
    case T::kIContainsAny:
    case T::kIContainsAll: {
      if (value->is_string()) {
        auto text = Render(value->get<std::string>(), vars, value_where);
        if (!text) return tl::unexpected(text.error());
        auto parts = SplitCommaSeparated(*text);
        if (!parts) return Fail(ErrorKind::kInvalidInput, value_where + ": " + parts.error().message);
        node.texts = std::move(*parts);
      } else {
        auto texts = RenderList(*value, vars, value_where);
        if (!texts) return tl::unexpected(texts.error());
        node.texts = std::move(*texts);
      }
      if (node.texts.empty()) return Fail(ErrorKind::kInvalidInput, value_where + ": no values after rendering");
      node.texts_lower = LowerAll(node.texts);
      break;
    }
    case T::kBleu:
    case T::kSimilar:
    case T::kSimilarDot:
    case T::kSimilarEuclidean:
      if (value->is_string()) {
        auto text = Render(value->get<std::string>(), vars, value_where);
        if (!text) return tl::unexpected(text.error());
        node.texts.push_back(std::move(*text));
      } else {
        auto texts = RenderList(*value, vars, value_where);
        if (!texts) return tl::unexpected(texts.error());
        node.texts = std::move(*texts);
      }
      if (node.info->type == T::kBleu) node.bleu.emplace(node.texts);
      break;
    case T::kIsJson:
    case T::kContainsJson:
      if (value != nullptr) {
        json schema = *value;
        if (value->is_string()) {
          auto text = Render(value->get<std::string>(), vars, value_where);
          if (!text) return tl::unexpected(text.error());
          auto parsed = ParseJson(*text);
          if (!parsed)
            return Fail(ErrorKind::kInvalidInput, value_where + ": the rendered JSON schema is not valid JSON");
          schema = std::move(*parsed);
        }
        auto compiled = JsonSchema::Compile(schema);
        if (!compiled) return Fail(ErrorKind::kInvalidInput, value_where + ": " + compiled.error().message);
        node.schema = std::move(*compiled);
      }
      break;
    case T::kWordCount:
    case T::kCharacterCount:
      if (value->is_number()) {
        node.count_exact = value->get<double>();
      } else {
        if (value->contains("min")) node.count_min = (*value)["min"].get<double>();
        if (value->contains("max")) node.count_max = (*value)["max"].get<double>();
      }
      break;
    case T::kLlmRubric:
      if (value->is_string()) {
        auto text = Render(value->get<std::string>(), vars, value_where);
        if (!text) return tl::unexpected(text.error());
        node.text = std::move(*text);
      } else {
        node.text = value->dump();
      }
      break;
    case T::kAssertSet: {
      const json& children = a["assert"];
      for (size_t j = 0; j < children.size(); ++j) {
        auto child = CompileNode(children[j], vars, path + "." + std::to_string(j),
                                 where + ".assert[" + std::to_string(j) + "]");
        if (!child) return child;
        node.children.push_back(std::move(*child));
      }
      break;
    }
    case T::kLatency:
    case T::kCost:
    case T::kIsRefusal:
      break;
  }
  return node;
}

// Sum and weight of one named metric.
struct MetricSum {
  double sum = 0.0;
  double weight = 0.0;
};
using MetricSums = std::map<std::string, MetricSum>;

// promptfoo's AssertionsResult: weighted totals, named metrics, first failure.
class Aggregate {
 public:
  explicit Aggregate(std::optional<double> threshold) : threshold_(threshold) {}

  void Add(const ComponentScore& c, const MetricSums* nested) {
    ++count_;
    total_score_ += c.score * c.weight;
    total_weight_ += c.weight;
    const double metric_weight = c.weight == 0.0 ? 1.0 : c.weight;
    if (!c.metric.empty()) {
      named_[c.metric].sum += c.score * metric_weight;
      named_[c.metric].weight += metric_weight;
    }
    if (nested != nullptr) {
      for (const auto& [name, m] : *nested) {
        if (name == c.metric) continue;
        named_[name].sum += m.sum * metric_weight;
        named_[name].weight += m.weight * metric_weight;
      }
    }
    if (!c.pass && !failure_) failure_ = c.reason;
    if (c.error && !error_)
      error_ = c.type == "assert-set" ? *c.error : "assert path " + c.path + " (" + c.type + "): " + *c.error;
  }

  // Writes the aggregate verdict; `error` is set only if a component errored.
  void Finish(bool* pass, double* score, std::string* reason, std::optional<std::string>* error) const {
    if (count_ == 0) {
      *pass = true;
      *score = 1.0;
      *reason = "No assertions";
      return;
    }
    *score = total_weight_ > 0.0 ? total_score_ / total_weight_ : 0.0;
    *pass = !failure_.has_value();
    *reason = failure_.value_or("All assertions passed");
    if (threshold_) {
      *pass = *score >= *threshold_;
      *reason = "Aggregate score " + Fixed(*score, 2) + (*pass ? " \xE2\x89\xA5 " : " < ") + Num(*threshold_) +
                " threshold";
    }
    if (error_) {
      *pass = false;
      *reason = "Could not evaluate " + *error_;
      *error = error_;
    }
  }

  const MetricSums& named() const { return named_; }

 private:
  std::optional<double> threshold_;
  int count_ = 0;
  double total_score_ = 0.0;
  double total_weight_ = 0.0;
  MetricSums named_;
  std::optional<std::string> failure_;
  std::optional<std::string> error_;
};

// A single assertion's verdict before weight handling.
struct Verdict {
  bool pass = false;
  double score = 0.0;
  std::string reason;
  std::optional<std::string> error;
};

Verdict Binary(bool pass, std::string failure_reason) {
  return Verdict{pass, pass ? 1.0 : 0.0, pass ? "Assertion passed" : std::move(failure_reason), std::nullopt};
}

Verdict ErrorVerdict(std::string message) {
  return Verdict{false, 0.0, "Error: " + message, std::move(message)};
}

}  // namespace

struct CompiledAssertions::Impl {
  std::vector<Node> nodes;
  json vars;
  std::optional<double> threshold;
  bool needs_judge = false;
  bool needs_embeddings = false;

  mutable std::mutex embedding_mu;
  mutable std::unordered_map<std::string, std::vector<double>> embedding_cache;

  // Per-Evaluate scratch shared by the assertions of one output.
  struct Context {
    const ScoreInput& input;
    CaseScore& result;
    std::optional<std::string> output_lower;
    std::optional<Result<std::vector<double>>> output_embedding;

    const std::string& OutputLower() {
      if (!output_lower) output_lower = AsciiLower(input.output);
      return *output_lower;
    }
  };

  void Scan(const Node& node) {
    needs_judge = needs_judge || node.info->needs_judge;
    needs_embeddings = needs_embeddings || node.info->needs_embeddings;
    for (const Node& child : node.children) Scan(child);
  }

  Result<std::vector<double>> ReferenceEmbedding(ModelGrader& grader, const std::string& text) const {
    std::string key = grader.Id();
    key.push_back('\0');
    key.append(text);
    {
      std::lock_guard<std::mutex> lock(embedding_mu);
      auto it = embedding_cache.find(key);
      if (it != embedding_cache.end()) return it->second;
    }
    auto embedding = grader.Embed(text);
    if (!embedding) return embedding;
    std::lock_guard<std::mutex> lock(embedding_mu);
    embedding_cache.emplace(std::move(key), *embedding);
    return embedding;
  }

  void RecordGrader(ComponentScore& c, Context& ctx, const ModelGrader& grader, const GraderReply& reply) const {
    c.metadata["grader_id"] = grader.Id();
    c.metadata["grader_model"] = reply.model;
    c.metadata["prompt_tokens"] = reply.prompt_tokens;
    c.metadata["completion_tokens"] = reply.completion_tokens;
    ctx.result.grader_prompt_tokens += reply.prompt_tokens;
    ctx.result.grader_completion_tokens += reply.completion_tokens;
  }

  Verdict EvalCount(const Node& n, size_t count, std::string_view what) const {
    const std::string noun(what);
    const std::string c = std::to_string(count);
    const double v = static_cast<double>(count);
    bool matches = false;
    std::string failure;
    std::string inverse_failure;
    if (n.count_exact) {
      matches = v == *n.count_exact;
      failure = noun + " count " + c + " does not equal expected " + Num(*n.count_exact);
      inverse_failure = "Expected " + AsciiLower(noun) + " count to not equal " + Num(*n.count_exact) + ", but got " + c;
    } else if (n.count_min && n.count_max) {
      matches = v >= *n.count_min && v <= *n.count_max;
      failure = noun + " count " + c + " is not between " + Num(*n.count_min) + " and " + Num(*n.count_max);
      inverse_failure = "Expected " + AsciiLower(noun) + " count to not be between " + Num(*n.count_min) + " and " +
                        Num(*n.count_max) + ", but got " + c;
    } else if (n.count_max) {
      matches = v <= *n.count_max;
      failure = noun + " count " + c + " is greater than maximum " + Num(*n.count_max);
      inverse_failure =
          "Expected " + AsciiLower(noun) + " count to be greater than " + Num(*n.count_max) + ", but got " + c;
    } else {
      matches = v >= *n.count_min;
      failure = noun + " count " + c + " is less than minimum " + Num(*n.count_min);
      inverse_failure =
          "Expected " + AsciiLower(noun) + " count to be less than " + Num(*n.count_min) + ", but got " + c;
    }
    return Binary(matches != n.inverse, n.inverse ? inverse_failure : failure);
  }

  // One similarity comparison, promptfoo's buildSimilarityResult.
  Verdict SimilarityVerdict(const Node& n, double measure) const {
    const double t = *n.threshold;
    const double eps = 2.220446049250313e-16;
    Verdict v;
    if (n.info->type == T::kSimilarEuclidean) {
      v.pass = n.inverse ? measure >= t - eps : measure <= t + eps;
      const double normalized = 1.0 / (1.0 + measure);
      v.score = n.inverse ? 1.0 - normalized : normalized;
      const std::string below = "Distance " + Fixed(measure, 2) + " is less than or equal to threshold " + Num(t);
      const std::string above = "Distance " + Fixed(measure, 2) + " is greater than threshold " + Num(t);
      v.reason = (v.pass != n.inverse) ? below : above;
      return v;
    }
    v.pass = n.inverse ? measure <= t + eps : measure >= t - eps;
    v.score = n.inverse ? 1.0 - measure : measure;
    const std::string at_least =
        "Similarity " + Fixed(measure, 2) + " is greater than or equal to threshold " + Num(t);
    const std::string below = "Similarity " + Fixed(measure, 2) + " is less than threshold " + Num(t);
    v.reason = (v.pass != n.inverse) ? at_least : below;
    return v;
  }

  Verdict EvalSimilar(const Node& n, Context& ctx, ComponentScore& c) const {
    ModelGrader* grader = ctx.input.grader;
    if (grader == nullptr) return ErrorVerdict(n.type + " needs an embeddings grader but none was supplied");
    if (!ctx.output_embedding) ctx.output_embedding = grader->Embed(ctx.input.output);
    if (!*ctx.output_embedding)
      return ErrorVerdict("embedding the output failed: " + ctx.output_embedding->error().message);
    c.metadata["grader_id"] = grader->Id();
    const std::vector<double>& output = **ctx.output_embedding;

    std::optional<Verdict> best;
    for (const std::string& reference : n.texts) {
      auto expected = ReferenceEmbedding(*grader, reference);
      if (!expected) return ErrorVerdict("embedding the reference failed: " + expected.error().message);
      Result<double> measure = n.info->type == T::kSimilarDot         ? DotProduct(*expected, output)
                               : n.info->type == T::kSimilarEuclidean ? EuclideanDistance(*expected, output)
                                                                      : CosineSimilarity(*expected, output);
      if (!measure) return ErrorVerdict(measure.error().message);
      Verdict v = SimilarityVerdict(n, *measure);
      if (n.texts.size() == 1) return v;
      if (n.inverse) {
        if (!v.pass) return v;
        if (!best || v.score < best->score) best = v;
      } else {
        if (v.pass) return v;
        if (!best || v.score > best->score) best = v;
      }
    }
    if (!n.inverse) best->reason = "None of the provided values met the similarity threshold";
    return *best;
  }

  Verdict EvalLlmRubric(const Node& n, Context& ctx, ComponentScore& c) const {
    ModelGrader* grader = ctx.input.grader;
    if (grader == nullptr) return ErrorVerdict("llm-rubric needs a judge grader but none was supplied");
    GradingPrompt prompt;
    if (!n.rubric_prompt.empty()) {
      json scope = vars;
      scope["output"] = std::string(ctx.input.output);
      scope["rubric"] = n.text;
      auto rendered = RenderTemplate(n.rubric_prompt, scope);
      if (!rendered) return ErrorVerdict("rubricPrompt: " + rendered.error().message);
      prompt.user = std::move(*rendered);
    } else {
      prompt = LlmRubricPrompt(n.text, ctx.input.output);
    }
    auto reply = grader->Grade(prompt);
    if (!reply) return ErrorVerdict("the judge call failed: " + reply.error().message);
    RecordGrader(c, ctx, *grader, *reply);
    auto verdict = ParseLlmRubricReply(reply->text);
    if (!verdict) return ErrorVerdict(verdict.error().message);
    Verdict v{verdict->pass, verdict->score, verdict->reason, std::nullopt};
    if (n.threshold) v.pass = v.pass && v.score >= *n.threshold;
    if (n.threshold && !v.pass && !n.inverse && verdict->pass)
      v.reason = "Score " + Num(v.score) + " below threshold " + Num(*n.threshold) + ": " + verdict->reason;
    if (n.inverse) {
      v.pass = !v.pass;
      v.score = std::clamp(1.0 - (std::isfinite(v.score) ? v.score : 0.0), 0.0, 1.0);
    }
    return v;
  }

  Verdict EvalFactuality(const Node& n, Context& ctx, ComponentScore& c) const {
    ModelGrader* grader = ctx.input.grader;
    if (grader == nullptr) return ErrorVerdict("factuality needs a judge grader but none was supplied");
    if (ctx.input.prompt.empty())
      return ErrorVerdict("factuality needs the rendered prompt (the question) but it is empty");
    GradingPrompt prompt;
    if (!n.rubric_prompt.empty()) {
      json scope = vars;
      scope["input"] = std::string(ctx.input.prompt);
      scope["ideal"] = n.text;
      scope["completion"] = std::string(ctx.input.output);
      auto rendered = RenderTemplate(n.rubric_prompt, scope);
      if (!rendered) return ErrorVerdict("rubricPrompt: " + rendered.error().message);
      prompt.user = std::move(*rendered);
    } else {
      prompt = FactualityPrompt(ctx.input.prompt, n.text, ctx.input.output);
    }
    auto reply = grader->Grade(prompt);
    if (!reply) return ErrorVerdict("the judge call failed: " + reply.error().message);
    RecordGrader(c, ctx, *grader, *reply);
    auto verdict = ParseFactualityReply(reply->text);
    if (!verdict) return ErrorVerdict(verdict.error().message);
    c.metadata["category"] = std::string(1, verdict->category);
    const bool pass = FactualityCategoryPasses(verdict->category) != n.inverse;
    return Verdict{pass, pass ? 1.0 : 0.0, verdict->reason, std::nullopt};
  }

  Verdict EvalLeaf(const Node& n, Context& ctx, ComponentScore& c) const {
    const std::string_view output = ctx.input.output;
    const bool inv = n.inverse;
    switch (n.info->type) {
      case T::kEquals: {
        if (!n.has_structured)
          return Binary((output == n.text) != inv,
                        "Expected output \"" + std::string(output) + "\" to " + Not(inv) + "equal \"" + n.text + "\"");
        auto parsed = ParseJson(output);
        const bool equal = parsed && *parsed == n.structured;
        return Binary(equal != inv, "Expected output \"" + std::string(output) + "\" to " + Not(inv) + "equal \"" +
                                        n.structured.dump() + "\"");
      }
      case T::kContains:
        return Binary((output.find(n.text) != std::string_view::npos) != inv,
                      "Expected output to " + Not(inv) + "contain \"" + n.text + "\"");
      case T::kIContains:
        return Binary((ctx.OutputLower().find(n.text_lower) != std::string::npos) != inv,
                      "Expected output to " + Not(inv) + "contain \"" + n.text + "\"");
      case T::kContainsAny:
      case T::kIContainsAny: {
        const bool fold = n.info->type == T::kIContainsAny;
        const std::string_view haystack = fold ? std::string_view(ctx.OutputLower()) : output;
        const auto& needles = fold ? n.texts_lower : n.texts;
        const bool any = std::any_of(needles.begin(), needles.end(),
                                     [&](const std::string& s) { return haystack.find(s) != std::string_view::npos; });
        return Binary(any != inv,
                      "Expected output to " + Not(inv) + "contain one of \"" + JoinTexts(n.texts) + "\"");
      }
      case T::kContainsAll:
      case T::kIContainsAll: {
        const bool fold = n.info->type == T::kIContainsAll;
        const std::string_view haystack = fold ? std::string_view(ctx.OutputLower()) : output;
        const auto& needles = fold ? n.texts_lower : n.texts;
        std::vector<std::string> missing;
        for (size_t i = 0; i < needles.size(); ++i)
          if (haystack.find(needles[i]) == std::string_view::npos) missing.push_back(n.texts[i]);
        return Binary(missing.empty() != inv, "Expected output to " + Not(inv) + "contain all of [" +
                                                  JoinTexts(n.texts) + "]. Missing: [" + JoinTexts(missing) + "]");
      }
      case T::kStartsWith:
        return Binary((output.substr(0, n.text.size()) == n.text) != inv,
                      "Expected output to " + Not(inv) + "start with \"" + n.text + "\"");
      case T::kRegex:
        return Binary(RE2::PartialMatch(output, *n.regex) != inv,
                      "Expected output to " + Not(inv) + "match regex \"" + n.text + "\"");
      case T::kIsJson: {
        auto parsed = ParseJson(output);
        if (!parsed) return Binary(inv, "Expected output to be valid JSON");
        if (!n.schema) return Binary(!inv, "Expected output to not be valid JSON");
        Status valid = n.schema->Validate(*parsed);
        if (valid) return Binary(!inv, "Output is JSON that conforms to the provided schema");
        return Binary(inv, "JSON does not conform to the provided schema. Errors: " + valid.error().message);
      }
      case T::kContainsJson: {
        std::vector<json> objects = ExtractJsonObjects(output);
        if (objects.empty()) return Binary(inv, "Expected output to contain valid JSON");
        if (!n.schema) return Binary(!inv, "Expected output to not contain JSON");
        std::string last_error;
        for (const json& object : objects) {
          Status valid = n.schema->Validate(object);
          if (valid) return Binary(!inv, "Output contains JSON conforming to the provided schema");
          last_error = valid.error().message;
        }
        return Binary(inv, "JSON does not conform to the provided schema. Errors: " + last_error);
      }
      case T::kLevenshtein: {
        const double t = *n.threshold;  // validated non-negative and finite at compile time
        // The distance never exceeds the longer text, so a larger threshold
        // is that length (and never converted out of size_t's range).
        const size_t longest = std::max(output.size(), n.text.size());
        const size_t bound = t >= static_cast<double>(longest) ? longest : static_cast<size_t>(std::floor(t));
        const size_t distance = BoundedLevenshteinDistance(output, n.text, bound);
        const bool within = distance <= bound;
        std::string shown = within ? std::to_string(distance) : "> " + std::to_string(bound);
        if (!within && output.size() * n.text.size() <= kExactDistanceCellLimit)
          shown = std::to_string(LevenshteinDistance(output, n.text));
        return Binary(within != inv, inv ? "Levenshtein distance " + shown + " is within threshold " + Num(t)
                                         : "Levenshtein distance " + shown + " is greater than threshold " + Num(t));
      }
      case T::kRougeN: {
        const double score = n.rouge->Recall(output);
        const double t = *n.threshold;
        const bool pass = (score >= t) != inv;
        const std::string ge = "ROUGE-N score " + Fixed(score, 2) + " is greater than or equal to threshold " + Num(t);
        const std::string lt = "ROUGE-N score " + Fixed(score, 2) + " is less than threshold " + Num(t);
        return Verdict{pass, inv ? 1.0 - score : score, (score >= t) ? ge : lt, std::nullopt};
      }
      case T::kBleu: {
        const double score = n.bleu->Score(output);
        const double t = *n.threshold;
        const bool pass = (score >= t) != inv;
        std::string reason = pass ? "Assertion passed"
                                  : "BLEU score " + Fixed(score, 4) + " is " + (inv ? "greater" : "less") +
                                        " than threshold " + Num(t);
        return Verdict{pass, inv ? 1.0 - score : score, std::move(reason), std::nullopt};
      }
      case T::kSimilar:
      case T::kSimilarDot:
      case T::kSimilarEuclidean:
        return EvalSimilar(n, ctx, c);
      case T::kWordCount:
        return EvalCount(n, CountWords(output), "Word");
      case T::kCharacterCount:
        return EvalCount(n, CountCharacters(output), "Character");
      case T::kLatency: {
        if (!ctx.input.latency_ms) return ErrorVerdict("latency is unknown for this output (cached result?)");
        const double l = *ctx.input.latency_ms;
        const double t = *n.threshold;
        const bool pass = inv ? l > t : l <= t;
        return Binary(pass, inv ? "Latency " + Num(l) + "ms is less than or equal to threshold " + Num(t) + "ms"
                                : "Latency " + Num(l) + "ms is greater than threshold " + Num(t) + "ms");
      }
      case T::kCost: {
        if (!ctx.input.cost_usd) return ErrorVerdict("cost is unknown: the provider did not report one");
        const double cost = *ctx.input.cost_usd;
        const double t = *n.threshold;
        const bool pass = inv ? cost > t : cost <= t;
        return Binary(pass, inv ? "Cost " + Num(cost) + " is less than or equal to threshold " + Num(t)
                                : "Cost " + Num(cost) + " is greater than threshold " + Num(t));
      }
      case T::kFinishReason: {
        if (!ctx.input.finish_reason || ctx.input.finish_reason->empty())
          return Binary(false, "Provider did not supply stop/finish reason");
        const bool same = AsciiLower(*ctx.input.finish_reason) == n.text_lower;
        return Binary(same != inv, "Expected finish reason " + std::string(inv ? "not " : "") + "\"" + n.text +
                                       "\" but got \"" + *ctx.input.finish_reason + "\"");
      }
      case T::kIsRefusal:
        return Binary(LooksLikeRefusal(output) != inv, "Expected output to " + Not(inv) + "be a refusal");
      case T::kLlmRubric:
        return EvalLlmRubric(n, ctx, c);
      case T::kFactuality:
        return EvalFactuality(n, ctx, c);
      case T::kAssertSet:
        break;
    }
    return ErrorVerdict("internal: unhandled assertion type " + n.type);
  }

  // Completes `c` (which may already carry metadata) from the node and verdict.
  ComponentScore Finish(const Node& n, Verdict v, ComponentScore c) const {
    c.path = n.path;
    c.type = n.type;
    c.metric = n.metric;
    c.weight = n.weight;
    c.pass = v.pass;
    c.score = v.score;
    c.reason = std::move(v.reason);
    c.error = std::move(v.error);
    if (n.weight == 0.0 && !c.error) c.pass = true;
    return c;
  }
};

CompiledAssertions::CompiledAssertions(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CompiledAssertions::CompiledAssertions(CompiledAssertions&&) noexcept = default;
CompiledAssertions& CompiledAssertions::operator=(CompiledAssertions&&) noexcept = default;
CompiledAssertions::~CompiledAssertions() = default;

Result<CompiledAssertions> CompiledAssertions::Compile(const json& asserts, const json& vars,
                                                       std::optional<double> threshold) {
  auto normalized = NormalizeAssertions(asserts);
  if (!normalized) return tl::unexpected(normalized.error());
  if (threshold && !std::isfinite(*threshold))
    return Fail(ErrorKind::kInvalidInput, "threshold: must be a finite number");
  auto impl = std::make_unique<Impl>();
  impl->vars = vars.is_object() ? vars : json::object();
  impl->threshold = threshold;
  for (size_t i = 0; i < normalized->size(); ++i) {
    auto node = CompileNode((*normalized)[i], impl->vars, std::to_string(i), "assert[" + std::to_string(i) + "]");
    if (!node) return tl::unexpected(node.error());
    impl->Scan(*node);
    impl->nodes.push_back(std::move(*node));
  }
  return CompiledAssertions(std::move(impl));
}

Result<CompiledAssertions> CompiledAssertions::Compile(const GoldenCase& c) {
  auto compiled = Compile(c.asserts, c.vars, c.threshold);
  if (!compiled) return Fail(compiled.error().kind, "case " + c.id + ": " + compiled.error().message);
  return compiled;
}

CaseScore CompiledAssertions::Evaluate(const ScoreInput& input) const {
  CaseScore result;
  Impl::Context ctx{input, result, std::nullopt, std::nullopt};
  Aggregate top(impl_->threshold);
  auto score_leaf = [&](const Node& leaf) {
    ComponentScore c;
    Verdict v = impl_->EvalLeaf(leaf, ctx, c);
    return impl_->Finish(leaf, std::move(v), std::move(c));
  };
  for (const Node& node : impl_->nodes) {
    if (node.info->type != T::kAssertSet) {
      ComponentScore scored = score_leaf(node);
      top.Add(scored, nullptr);
      result.components.push_back(std::move(scored));
      continue;
    }
    Aggregate set(node.threshold);
    std::vector<ComponentScore> children;
    for (const Node& child : node.children) {
      children.push_back(score_leaf(child));
      set.Add(children.back(), nullptr);
    }
    Verdict v;
    set.Finish(&v.pass, &v.score, &v.reason, &v.error);
    ComponentScore set_score = impl_->Finish(node, std::move(v), ComponentScore{});
    set_score.metadata["assertion_count"] = node.children.size();
    top.Add(set_score, &set.named());
    result.components.push_back(std::move(set_score));
    for (auto& child : children) result.components.push_back(std::move(child));
  }
  top.Finish(&result.pass, &result.score, &result.reason, &result.error);
  for (const auto& [name, m] : top.named()) result.named_scores[name] = m.weight > 0.0 ? m.sum / m.weight : 0.0;
  return result;
}

bool CompiledAssertions::NeedsGrader() const { return impl_->needs_judge || impl_->needs_embeddings; }
bool CompiledAssertions::NeedsJudge() const { return impl_->needs_judge; }
bool CompiledAssertions::NeedsEmbeddings() const { return impl_->needs_embeddings; }
size_t CompiledAssertions::size() const { return impl_->nodes.size(); }

}  // namespace dw::scoring
