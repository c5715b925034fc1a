// Golden sets from hostile text, in the format chosen at compile time
// (DW_FUZZ_FORMAT: kNative, kJsonl or kPromptfoo): parsing, then the
// publish-time normalisation (assertion vocabulary, templates, RE2 patterns,
// JSON schemas) and scoring of an output against every accepted case.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "core/utf8.h"
#include "fuzz_check.h"
#include "goldenset/parser.h"
#include "goldenset/validate.h"
#include "scoring/scorer.h"

namespace {

using dw::goldenset::Format;

constexpr Format kFormat = Format::DW_FUZZ_FORMAT;

// promptfoo `tests: file://...` references resolve next to the parsed file:
// a private directory with one YAML and one JSONL test file.
std::string SandboxFile() {
  static const std::string file = [] {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / "dw-fuzz-goldenset";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "cases.yaml") << "- vars: {q: one}\n  assert: [{type: contains, value: one}]\n";
    std::ofstream(dir / "cases.jsonl") << "{\"id\":\"j1\",\"vars\":{\"q\":\"two\"}}\n";
    return (dir / (kFormat == Format::kJsonl ? "golden.jsonl" : "golden.yaml")).string();
  }();
  return file;
}

bool IsHex64(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

void CheckCase(const dw::GoldenCase& c) {
  DW_FUZZ_CHECK(!c.id.empty(), std::string("a case without an id"));
  DW_FUZZ_CHECK(!dw::FindInvalidUtf8(c.id), "case id is not UTF-8: " + c.id);
  DW_FUZZ_CHECK(c.vars.is_object(), "vars of '" + c.id + "' is " + c.vars.dump());
  DW_FUZZ_CHECK(c.asserts.is_array(), "asserts of '" + c.id + "' is not an array");
  for (const auto& a : c.asserts)
    DW_FUZZ_CHECK(a.is_object() && a.contains("type"), "assertion without a type in '" + c.id + "'");
  DW_FUZZ_CHECK(c.metadata.is_object(), "metadata of '" + c.id + "' is not an object");
  for (const auto& t : c.tags) DW_FUZZ_CHECK(!t.empty(), "empty tag in '" + c.id + "'");
  if (c.threshold)
    DW_FUZZ_CHECK(*c.threshold >= 0 && *c.threshold <= 1,
                  "threshold " + std::to_string(*c.threshold) + " of '" + c.id + "' is outside 0..1");
  auto back = dw::GoldenCaseFromJson(c.ToJson());
  DW_FUZZ_CHECK(back && back->ContentHash() == c.ContentHash(), "case '" + c.id + "' does not round-trip");
}

void CheckScoring(const dw::GoldenCase& c) {
  auto compiled = dw::scoring::CompiledAssertions::Compile(c);
  DW_FUZZ_CHECK(compiled.has_value(), "published case '" + c.id + "' does not compile: " +
                                          (compiled ? std::string() : compiled.error().message));
  for (const std::string& output : {c.description, std::string("{\"answer\": 42}"), std::string()}) {
    dw::scoring::ScoreInput input;
    input.output = output;
    input.prompt = c.id;
    const dw::scoring::CaseScore score = compiled->Evaluate(input);
    DW_FUZZ_CHECK(std::isfinite(score.score) && score.score >= 0 && score.score <= 1,
                  "case '" + c.id + "' scored " + std::to_string(score.score));
    DW_FUZZ_CHECK(score.components.size() >= compiled->size(), "fewer components than assertions in " + c.id);
    if (score.error) DW_FUZZ_CHECK(!score.pass, "case '" + c.id + "' passed although scoring failed");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string& file = SandboxFile();
  auto parsed = dw::goldenset::ParseGoldenSet(text, file, kFormat);
  if (!parsed) {
    DW_FUZZ_CHECK(
        parsed.error().kind == dw::ErrorKind::kInvalidInput || parsed.error().kind == dw::ErrorKind::kNotFound,
        parsed.error().message);
    DW_FUZZ_CHECK(!parsed.error().message.empty(), std::string("empty error message"));
    return 0;
  }
  auto& set = parsed->set;
  DW_FUZZ_CHECK(!set.cases.empty() && set.cases.size() <= dw::goldenset::kMaxCases,
                std::to_string(set.cases.size()) + " cases accepted");
  std::set<std::string> ids;
  for (const auto& c : set.cases) {
    CheckCase(c);
    DW_FUZZ_CHECK(ids.insert(c.id).second, "duplicate case id '" + c.id + "' accepted");
  }
  const std::string manifest = set.ManifestHash();
  DW_FUZZ_CHECK(IsHex64(manifest), "manifest hash " + manifest);
  auto again = dw::goldenset::ParseGoldenSet(text, file, kFormat);
  DW_FUZZ_CHECK(again && again->set.ManifestHash() == manifest, std::string("parsing is not deterministic"));

  set.name = "fuzz";
  if (!dw::goldenset::NormalizeForPublish(set, file)) return 0;
  for (const auto& c : set.cases) CheckScoring(c);
  return 0;
}
