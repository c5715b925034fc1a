// {{var}} substitution inside JSON documents (chat messages, HTTP bodies).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace dw::providers {

// Returns `tmpl` with every string rendered by dw::RenderTemplate against
// `vars`. A string that is exactly one placeholder ("{{ x }}") whose value is
// not a string is replaced by that JSON value itself, so numbers, arrays and
// objects keep their type. Object keys are not rendered. Errors are those of
// RenderTemplate (kInvalidInput naming the missing var). Thread-safe, pure.
Result<nlohmann::json> RenderJsonTemplate(const nlohmann::json& tmpl, const nlohmann::json& vars);

// True if any string inside `tmpl` contains "{{".
bool JsonHasTemplate(const nlohmann::json& tmpl);

// A JSON value as answer text: strings verbatim, null as "", anything else
// as compact JSON.
std::string JsonToText(const nlohmann::json& value);

}  // namespace dw::providers
