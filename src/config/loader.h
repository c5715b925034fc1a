// Loading and validating driftwatch.yaml.
#pragma once

#include <string>

#include "config/config.h"
#include "core/status.h"

namespace dw::config {

// Parses and validates config text. `file` is used in messages only. Every
// problem is reported (not just the first), each as "file:line:col: ...":
// unknown or duplicate keys, wrong types, out-of-range values, unknown
// provider kinds, missing ${ENV} variables, dangling target references.
// API keys are never read here: targets name the variable (api_key_env).
Result<Config> ParseConfig(const std::string& text, const std::string& file);

// Reads and parses a config file.
Result<Config> LoadConfig(const std::string& path);

// The config used when no file exists: the embedded database, and a `sim`
// target named "sim" so the demo runs with no network and no set-up.
Config DefaultConfig();

}  // namespace dw::config
