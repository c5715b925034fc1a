#include "goldenset/validate.h"

#include "core/template.h"
#include "scoring/assertion.h"
#include "scoring/scorer.h"

namespace dw::goldenset {

bool IsValidName(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (!alnum(name[0])) return false;
  for (char c : name)
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

Status NormalizeForPublish(GoldenSet& set, const std::string& file) {
  if (!IsValidName(set.name))
    return Fail(ErrorKind::kInvalidInput, file + ": golden-set name '" + set.name +
                                              "' is invalid: use 1-128 letters, digits, '_', '.', '-' (use --name)");
  std::string errors;
  size_t error_count = 0;
  for (auto& c : set.cases) {
    auto normalized = scoring::NormalizeAssertions(c.asserts);
    if (!normalized) {
      if (++error_count <= 20) errors += "\n" + file + ": case '" + c.id + "': " + normalized.error().message;
      continue;
    }
    c.asserts = std::move(*normalized);
    // Compiling renders templates against the vars and builds regexes, so a
    // {{var}} the case lacks or a pattern that only breaks once rendered is
    // caught now rather than during a run.
    if (auto compiled = scoring::CompiledAssertions::Compile(c); !compiled) {
      if (++error_count <= 20) errors += "\n" + file + ": case '" + c.id + "': " + compiled.error().message;
    }
  }
  if (error_count > 20) errors += "\n... and " + std::to_string(error_count - 20) + " more case(s) with errors";
  if (error_count > 0)
    return Fail(ErrorKind::kInvalidInput,
                std::to_string(error_count) + " case(s) have invalid assertions; nothing was published:" + errors);
  return Ok();
}

}  // namespace dw::goldenset
