// Publish-time checks and normalisation of a parsed golden set.
#pragma once

#include <string>

#include "core/golden_case.h"
#include "core/status.h"

namespace dw::goldenset {

// Validates the set name and every case's assertions (scoring's vocabulary:
// unsupported promptfoo types such as javascript are refused with the list
// of supported types) and rewrites the assertions in their canonical form so
// equal content hashes equally. Errors name the file, the case id and the
// assertion path. Pure.
Status NormalizeForPublish(GoldenSet& set, const std::string& file);

// True if `name` is a valid golden-set or target name: 1-128 characters of
// letters, digits, '_', '.', '-', starting with a letter or digit.
bool IsValidName(const std::string& name);

}  // namespace dw::goldenset
