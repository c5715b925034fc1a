// Parsing JSON text that comes from outside: request bodies, provider
// responses, model outputs, golden-set lines, files. nlohmann::json copies,
// compares and serialises nested values recursively, so a document nested a
// few hundred thousand levels deep (a few hundred kilobytes of "[[[[...")
// would overflow the stack; these parsers refuse anything nested deeper
// than kMaxJsonDepth instead. Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "core/status.h"

namespace dw {

inline constexpr int kMaxJsonDepth = 512;

// A callback for nlohmann::json::parse that drops every value nested deeper
// than kMaxJsonDepth and sets `too_deep` when it does; `too_deep` must
// outlive the parse.
nlohmann::json::parser_callback_t DepthLimit(bool& too_deep);

// The parsed document. kInvalidInput when `text` is not JSON (the message
// says where: "syntax error while parsing value - ... at line 1, column 5")
// or is nested deeper than kMaxJsonDepth. Never throws.
Result<nlohmann::json> ParseJsonText(std::string_view text);

}  // namespace dw
