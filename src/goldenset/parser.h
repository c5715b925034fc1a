// Reading golden sets from files: native YAML, JSONL, and promptfoo configs
// or test files, all normalised to dw::GoldenSet.
#pragma once

#include <string>
#include <vector>

#include "core/golden_case.h"
#include "core/status.h"

namespace dw::goldenset {

enum class Format { kAuto, kNative, kJsonl, kPromptfoo };

// A parsed golden set plus non-fatal remarks (e.g. derived case ids).
struct ParsedGoldenSet {
  GoldenSet set;
  std::vector<std::string> warnings;
  std::string format;  // "native", "jsonl" or "promptfoo"
};

// Upper bound on cases in one golden set.
inline constexpr size_t kMaxCases = 1'000'000;
// Upper bound on one case: the bytes of its canonical JSON (vars, asserts,
// tags, metadata...), or of its line in a JSONL file.
inline constexpr size_t kMaxCaseBytes = 4u << 20;
// Upper bound on promptfoo `file://` test files read for one golden set.
inline constexpr int kMaxIncludedFiles = 1000;

// Size limits applied while parsing; inputs over a limit are refused with
// an error naming the file, the case (or line) and the limit.
struct ParseLimits {
  size_t max_cases = kMaxCases;
  size_t max_case_bytes = kMaxCaseBytes;
};

// Parses `text` as the given format; kAuto picks JSONL for *.jsonl files,
// promptfoo when the YAML has `tests:` (or is a list of tests), native
// otherwise. `file` is used for messages and relative `file://` references.
// Errors carry file:line:column and the offending field. Validation done
// here: unique case ids, object vars, list asserts, known keys, thresholds
// in [0, 1], `limits`. promptfoo `file://` references must name regular
// files (at most kMaxIncludedFiles of them, nested at most 4 deep).
// Assertion types are validated by the caller (scoring) before publishing.
Result<ParsedGoldenSet> ParseGoldenSet(const std::string& text, const std::string& file, Format format = Format::kAuto,
                                       const ParseLimits& limits = {});

// Reads `path` and parses it.
Result<ParsedGoldenSet> LoadGoldenSet(const std::string& path, Format format = Format::kAuto,
                                      const ParseLimits& limits = {});

// The default golden-set name for a file: its stem ("faq" for dir/faq.yaml).
std::string NameFromPath(const std::string& path);

}  // namespace dw::goldenset
