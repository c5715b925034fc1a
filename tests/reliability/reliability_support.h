// Shared set-up of the reliability suite: driftwatch.yaml and golden-set
// files pointing at a fault-injecting server, and small query helpers.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "support/test_database.h"

namespace dw::testing {

// The environment variable an openai-chat target reads its key from, and the
// planted key (a value no output may ever contain).
inline constexpr char kReliabilityKeyEnv[] = "DW_RELIABILITY_KEY";
inline constexpr char kReliabilityKey[] = "sk-planted-4e1f0a9c7d2b86e3";

// A `targets:` entry for an openai-chat target at `base_url` whose prompt is
// the case's `question` var; `extra` is appended (indented YAML lines).
std::string ChatTargetYaml(const std::string& name, const std::string& base_url, const std::string& extra = "");

// A golden set named `name` with one case per (id, question); every case
// passes when the answer contains "ok".
std::string GoldenSetYaml(const std::string& name, const std::vector<std::pair<std::string, std::string>>& cases);

// A loopback TCP port nothing listens on (bound, then released).
std::uint16_t ClosedLoopbackPort();

// `sql`'s single value as an integer (-1 when it is not one).
long long QueryInt(const TestDatabase& db, const std::string& sql);

}  // namespace dw::testing
