// Test helpers for generated markup: an XML well-formedness check (tags
// nest and close, attributes are quoted, every & starts an entity, no raw <
// in text) and a UTF-8 validity check.
#pragma once

#include <string>
#include <string_view>

namespace dw::report::testing {

// "" when `markup` (after an optional <!DOCTYPE ...>) is well-formed;
// otherwise what is wrong and the byte offset where.
std::string WellFormednessError(std::string_view markup);

// True when `text` is valid UTF-8.
bool IsValidUtf8(std::string_view text);

// How many times `needle` occurs in `haystack` (non-overlapping).
size_t CountOf(std::string_view haystack, std::string_view needle);

}  // namespace dw::report::testing
