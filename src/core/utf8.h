// UTF-8 validation: what PostgreSQL text columns, JSON output and the
// YAML/JSON parsers require of every string. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace dw {

// Length (1 to 4) of the well-formed UTF-8 sequence starting at text[i], or
// 0 when the bytes there are not one: a stray continuation byte, a
// truncated sequence, an overlong form, a surrogate or a code point above
// U+10FFFF. `i` must be less than text.size().
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i);

// Offset of the first byte of `text` that is not part of well-formed UTF-8,
// or std::nullopt when all of it is.
std::optional<std::size_t> FindInvalidUtf8(std::string_view text);

}  // namespace dw
