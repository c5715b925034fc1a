// Strict YAML reading with file:line:column diagnostics, shared by the config
// loader and the golden-set parsers. yaml-cpp 0.7 silently accepts duplicate
// keys and gives no mark for missing keys; these helpers close both gaps.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "core/status.h"

namespace dw::config {

// Collects every problem found in one file so the user sees them all at once.
// Not thread-safe; one instance per load.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  // Records "file:line:col: message" using the node's mark (1-based output).
  void Add(const YAML::Mark& mark, const std::string& message);
  // A node that does not exist (a missing key) has no position: "file: message".
  void Add(const YAML::Node& node, const std::string& message) {
    Add(node.IsDefined() ? node.Mark() : YAML::Mark::null_mark(), message);
  }
  // Records "file: message" for problems without a position.
  void AddGlobal(const std::string& message);

  bool ok() const { return errors_.empty(); }
  const std::vector<std::string>& errors() const { return errors_; }
  const std::string& file() const { return file_; }
  std::string Where(const YAML::Mark& mark) const;

  // kInvalidInput with all messages joined by newlines; Ok() when none.
  Status ToStatus() const;

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

// Parses YAML text; syntax errors and bytes that are not UTF-8 become
// "file:line:col: message".
Result<YAML::Node> ParseYaml(const std::string& text, const std::string& file);

// Reads and parses a YAML file.
Result<YAML::Node> LoadYamlFile(const std::string& path);

// Reads a whole file into a string; kNotFound / kUnavailable on failure.
Result<std::string> ReadTextFile(const std::string& path);

// Reports keys of `map` not in `allowed` (with a "did you mean" suggestion and
// the allowed list) and keys that occur twice. `what` names the map in
// messages, e.g. "target 'bot'".
void CheckKeys(const YAML::Node& map, std::initializer_list<std::string_view> allowed, std::string_view what,
               Diagnostics& diag);

// Reports duplicate keys anywhere below `node` (recursively).
void CheckNoDuplicateKeys(const YAML::Node& node, Diagnostics& diag);

// True if the scalar was written with quotes (so "1" is a string, not a number).
bool IsQuoted(const YAML::Node& scalar);

// Typed accessors: absent key → std::nullopt (or an error if `required`);
// wrong type → an error naming the key, the expected type and the value.
std::optional<std::string> GetString(const YAML::Node& map, std::string_view key, Diagnostics& diag,
                                     bool required = false);
std::optional<double> GetNumber(const YAML::Node& map, std::string_view key, Diagnostics& diag,
                                bool required = false, std::optional<double> min = std::nullopt,
                                std::optional<double> max = std::nullopt);
std::optional<long long> GetInt(const YAML::Node& map, std::string_view key, Diagnostics& diag, bool required = false,
                                std::optional<long long> min = std::nullopt,
                                std::optional<long long> max = std::nullopt);
std::optional<bool> GetBool(const YAML::Node& map, std::string_view key, Diagnostics& diag);
std::optional<std::vector<std::string>> GetStringList(const YAML::Node& map, std::string_view key,
                                                      Diagnostics& diag);
// A string that must be one of `allowed`; the error lists the allowed values.
std::optional<std::string> GetEnum(const YAML::Node& map, std::string_view key,
                                   std::initializer_list<std::string_view> allowed, Diagnostics& diag,
                                   bool required = false);

// Converts a YAML subtree to JSON. Plain scalars become null, true/false,
// integers or floats when they look like them; quoted scalars stay strings
// (YAML 1.1 yes/no/on/off stay strings, unlike yaml-cpp's as<bool>).
nlohmann::json YamlToJson(const YAML::Node& node);

// Replaces ${NAME} in `text` with the environment variable NAME. A missing
// variable is an error naming it (its value never appears in messages).
Result<std::string> ExpandEnv(const std::string& text);

// Edit distance based suggestion among `candidates`, or "" when none is close.
std::string ClosestMatch(std::string_view word, std::initializer_list<std::string_view> candidates);

}  // namespace dw::config
