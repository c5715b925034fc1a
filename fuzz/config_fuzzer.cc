// driftwatch.yaml from hostile text: ParseConfig must return a Config or an
// error whose every line names the file, and a Config it accepts must be
// self-consistent.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/loader.h"
#include "fuzz_check.h"

namespace {

constexpr const char* kFile = "fuzz.yaml";

void CheckErrorNamesTheFile(const std::string& message) {
  DW_FUZZ_CHECK(!message.empty(), std::string("empty error message"));
  size_t start = 0;
  while (start <= message.size()) {
    size_t end = message.find('\n', start);
    if (end == std::string::npos) end = message.size();
    DW_FUZZ_CHECK(message.compare(start, 10, "fuzz.yaml:") == 0, "error line without file: " + message);
    start = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto config = dw::config::ParseConfig(text, kFile);
  if (!config) {
    DW_FUZZ_CHECK(config.error().kind == dw::ErrorKind::kInvalidInput, config.error().message);
    CheckErrorNamesTheFile(config.error().message);
    return 0;
  }
  for (const auto& [name, target] : config->targets) {
    DW_FUZZ_CHECK(target.name == name, "target '" + name + "' is named '" + target.name + "'");
    DW_FUZZ_CHECK(target.provider == "openai-chat" || target.provider == "http" || target.provider == "exec" ||
                      target.provider == "sim",
                  "target '" + name + "' has provider '" + target.provider + "'");
    DW_FUZZ_CHECK(target.VersionHash().size() == 64, "bad version hash for '" + name + "'");
  }
  for (const auto& [name, schedule] : config->schedules) {
    for (const auto& t : schedule.targets)
      DW_FUZZ_CHECK(config->targets.count(t) == 1, "schedule '" + name + "' names unknown target '" + t + "'");
  }
  for (const char* ref : {"judge", "embeddings"}) {
    const std::string& target =
        std::string(ref) == "judge" ? config->scorers.judge_target : config->scorers.embeddings_target;
    DW_FUZZ_CHECK(target.empty() || config->targets.count(target) == 1, "scorer names unknown target " + target);
  }
  // Loading is deterministic: the same text gives the same target versions.
  auto again = dw::config::ParseConfig(text, kFile);
  DW_FUZZ_CHECK(again.has_value(), std::string("second parse failed"));
  for (const auto& [name, target] : config->targets)
    DW_FUZZ_CHECK(again->targets.at(name).VersionHash() == target.VersionHash(), "unstable version of " + name);
  return 0;
}
