// {{var}} substitution shared by prompts, request bodies and assertion values
// (the subset of promptfoo's Nunjucks syntax that golden sets use).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace dw {

// Replaces each `{{ name }}` or `{{ name.field.0 }}` in `text` with the value
// of that path in `vars` (strings verbatim, other JSON values as compact
// JSON). An unknown name or an unclosed `{{` is kInvalidInput naming it.
// Thread-safe, pure.
Result<std::string> RenderTemplate(std::string_view text, const nlohmann::json& vars);

// The value at a dotted path ("a.b.0") in `vars`, or nullptr when any step
// is missing. Objects are indexed by key, arrays by decimal index.
const nlohmann::json* LookupVar(const nlohmann::json& vars, std::string_view path);

// The variable names a template references, in order of first use.
std::vector<std::string> TemplateVariables(std::string_view text);

// True if `text` contains a `{{`.
inline bool HasTemplate(std::string_view text) { return text.find("{{") != std::string_view::npos; }

}  // namespace dw
