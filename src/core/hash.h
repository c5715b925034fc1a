// Content hashing and canonical JSON: the basis of golden-set, target and
// evidence identity. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dw {

// Lower-case hex SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);

// Raw 32-byte SHA-256 of `bytes`.
std::string Sha256Raw(std::string_view bytes);

// Canonical JSON text: object keys sorted by code point, no insignificant
// white space, integers without exponent, strings UTF-8 with minimal escapes.
// Equal values always give equal bytes (the hash input for every content hash).
std::string CanonicalJson(const nlohmann::json& value);

// Sha256Hex(CanonicalJson(value)).
std::string ContentHash(const nlohmann::json& value);

// Lower-case hex of arbitrary bytes.
std::string HexEncode(std::string_view bytes);

}  // namespace dw
