#include "goldenset/parser.h"

#include <filesystem>
#include <map>
#include <set>

#include "config/yaml_util.h"
#include "core/hash.h"
#include "core/json_text.h"

namespace dw::goldenset {
namespace {

using config::Diagnostics;

// Shared by all formats: defaults merged into each case, then checks.
struct Defaults {
  nlohmann::json vars = nlohmann::json::object();
  nlohmann::json asserts = nlohmann::json::array();
  std::vector<std::string> tags;
  nlohmann::json metadata = nlohmann::json::object();
  std::optional<double> threshold;
};

void ApplyDefaults(const Defaults& d, GoldenCase& c) {
  nlohmann::json vars = d.vars;
  for (auto& [k, v] : c.vars.items()) vars[k] = v;
  c.vars = std::move(vars);
  if (!d.asserts.empty()) {
    nlohmann::json merged = d.asserts;
    for (auto& a : c.asserts) merged.push_back(a);
    c.asserts = std::move(merged);
  }
  std::vector<std::string> tags = d.tags;
  for (auto& t : c.tags)
    if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
  c.tags = std::move(tags);
  nlohmann::json metadata = d.metadata;
  for (auto& [k, v] : c.metadata.items()) metadata[k] = v;
  c.metadata = std::move(metadata);
  if (!c.threshold) c.threshold = d.threshold;
}

// Assigns content-derived ids to cases without one; rejects duplicates.
Status FinishIds(std::vector<GoldenCase>& cases, const std::vector<std::string>& locations,
                 std::vector<std::string>& warnings) {
  std::map<std::string, size_t> seen;
  size_t derived = 0;
  std::string example;
  for (size_t i = 0; i < cases.size(); ++i) {
    if (!cases[i].id.empty()) {
      if (auto it = seen.find(cases[i].id); it != seen.end())
        return Fail(ErrorKind::kInvalidInput, locations[i] + ": duplicate case id '" + cases[i].id +
                                                  "' (first used at " + locations[it->second] + ")");
      seen.emplace(cases[i].id, i);
    }
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    if (!cases[i].id.empty()) continue;
    nlohmann::json content = cases[i].ToJson();
    content.erase("id");
    std::string base = "c-" + ContentHash(content).substr(0, 12);
    std::string id = base;
    for (int n = 2; seen.count(id); ++n) id = base + "-" + std::to_string(n);
    cases[i].id = id;
    seen.emplace(id, i);
    if (derived++ == 0) example = locations[i] + " -> " + id;
  }
  if (derived > 0)
    warnings.push_back(std::to_string(derived) + " case(s) have no 'id'; derived stable ids from their content (" +
                       example + "). Add explicit ids to keep history when a case is edited.");
  return Ok();
}

Status TooManyCases(const std::string& where, const ParseLimits& limits) {
  return Fail(ErrorKind::kInvalidInput, where + ": more than " + std::to_string(limits.max_cases) +
                                            " cases, the limit for one golden set; split it into several");
}

Status TooLargeCase(const std::string& where, size_t bytes, const ParseLimits& limits) {
  return Fail(ErrorKind::kInvalidInput, where + ": the case is " + std::to_string(bytes) +
                                            " bytes, above the limit of " + std::to_string(limits.max_case_bytes) +
                                            " bytes per case");
}

Status CheckCaseCount(const std::vector<GoldenCase>& cases, const std::string& file, const ParseLimits& limits) {
  if (cases.empty()) return Fail(ErrorKind::kInvalidInput, file + ": the golden set has no cases");
  if (cases.size() > limits.max_cases) return TooManyCases(file, limits);
  return Ok();
}

// ---- YAML (native and promptfoo) -------------------------------------------

void ReadTags(const YAML::Node& node, std::vector<std::string>& out, Diagnostics& diag) {
  if (!node) return;
  if (!node.IsSequence()) {
    diag.Add(node, "'tags' must be a list of strings");
    return;
  }
  for (const auto& t : node) {
    if (!t.IsScalar() || t.Scalar().empty())
      diag.Add(t, "each tag must be a non-empty string");
    else
      out.push_back(t.Scalar());
  }
}

// Reads the fields shared by native cases, native defaults and promptfoo tests.
void ReadCaseFields(const YAML::Node& node, GoldenCase& c, Diagnostics& diag) {
  if (const YAML::Node v = node["vars"]) {
    if (!v.IsMap())
      diag.Add(v, "'vars' must be a mapping of name: value");
    else
      c.vars = config::YamlToJson(v);
  }
  const YAML::Node asserts = node["assert"];
  if (asserts) {
    if (!asserts.IsSequence()) {
      diag.Add(asserts, "'assert' must be a list of assertions");
    } else {
      for (const auto& a : asserts) {
        if (!a.IsMap() || !a["type"]) {
          diag.Add(a, "each assertion must be a mapping with a 'type' (e.g. {type: contains, value: refund})");
          continue;
        }
        c.asserts.push_back(config::YamlToJson(a));
      }
    }
  }
  if (auto d = config::GetString(node, "description", diag)) c.description = *d;
  if (const YAML::Node m = node["metadata"]) {
    if (!m.IsMap())
      diag.Add(m, "'metadata' must be a mapping");
    else
      c.metadata = config::YamlToJson(m);
  }
  ReadTags(node["tags"], c.tags, diag);
  if (auto t = config::GetNumber(node, "threshold", diag, false, 0, 1)) c.threshold = *t;
}

Defaults ReadDefaults(const YAML::Node& node, Diagnostics& diag) {
  Defaults d;
  if (!node) return d;
  if (!node.IsMap()) {
    diag.Add(node, "defaults must be a mapping");
    return d;
  }
  GoldenCase tmp;
  ReadCaseFields(node, tmp, diag);
  d.vars = tmp.vars;
  d.asserts = tmp.asserts;
  d.tags = tmp.tags;
  d.metadata = tmp.metadata;
  d.threshold = tmp.threshold;
  return d;
}

// The group of a promptfoo test: `metadata.group` (promptfoo has no group
// field; metadata is where its users keep such keys), after defaultTest's
// metadata was merged in.
Status GroupFromMetadata(GoldenCase& c, const std::string& where) {
  auto it = c.metadata.find("group");
  if (it == c.metadata.end()) return Ok();
  if (!it->is_string() || it->get<std::string>().empty())
    return Fail(ErrorKind::kInvalidInput, where +
                                              ": 'metadata.group' must be a non-empty string (cases sharing it "
                                              "are compared as one cluster)");
  c.group = it->get<std::string>();
  return Ok();
}

Result<ParsedGoldenSet> FinishYamlCases(std::vector<GoldenCase> cases, std::vector<std::string> locations,
                                        const Defaults& defaults, ParsedGoldenSet parsed, const std::string& file,
                                        const ParseLimits& limits, bool group_from_metadata = false) {
  for (auto& c : cases) ApplyDefaults(defaults, c);
  if (group_from_metadata) {
    for (size_t i = 0; i < cases.size(); ++i)
      if (auto s = GroupFromMetadata(cases[i], locations[i]); !s) return Fail(s.error());
  }
  if (auto s = CheckCaseCount(cases, file, limits); !s) return Fail(s.error());
  for (size_t i = 0; i < cases.size(); ++i) {
    const size_t bytes = CanonicalJson(cases[i].ToJson()).size();
    if (bytes > limits.max_case_bytes) return Fail(TooLargeCase(locations[i], bytes, limits).error());
  }
  if (auto s = FinishIds(cases, locations, parsed.warnings); !s) return Fail(s.error());
  parsed.set.cases = std::move(cases);
  return parsed;
}

Result<ParsedGoldenSet> ParseNative(const YAML::Node& root, const std::string& file, const ParseLimits& limits) {
  Diagnostics diag(file);
  ParsedGoldenSet parsed;
  parsed.format = "native";
  config::CheckNoDuplicateKeys(root, diag);
  config::CheckKeys(root, {"name", "description", "defaults", "cases"}, "the golden set", diag);
  if (auto v = config::GetString(root, "name", diag)) parsed.set.name = *v;
  if (auto v = config::GetString(root, "description", diag)) parsed.set.description = *v;
  if (root["defaults"])
    config::CheckKeys(root["defaults"], {"vars", "assert", "tags", "metadata", "threshold"}, "defaults", diag);
  Defaults defaults = ReadDefaults(root["defaults"], diag);
  const YAML::Node list = root["cases"];
  std::vector<GoldenCase> cases;
  std::vector<std::string> locations;
  if (!list) {
    diag.Add(root, "missing required key 'cases' (a list of cases)");
  } else if (!list.IsSequence()) {
    diag.Add(list, "'cases' must be a list");
  } else if (list.size() > limits.max_cases) {
    return Fail(TooManyCases(diag.Where(list.Mark()), limits).error());
  } else {
    for (const auto& node : list) {
      if (!node.IsMap()) {
        diag.Add(node, "each case must be a mapping with id, vars and assert");
        continue;
      }
      config::CheckKeys(node, {"id", "description", "vars", "assert", "tags", "metadata", "threshold", "group"},
                        "a case", diag);
      GoldenCase c;
      if (auto id = config::GetString(node, "id", diag)) {
        if (id->empty()) diag.Add(node["id"], "'id' must not be empty");
        c.id = *id;
      }
      if (auto group = config::GetString(node, "group", diag)) {
        if (group->empty()) diag.Add(node["group"], "'group' must not be empty (omit it for a case on its own)");
        c.group = *group;
      }
      ReadCaseFields(node, c, diag);
      locations.push_back(diag.Where(node.Mark()));
      cases.push_back(std::move(c));
    }
  }
  if (!diag.ok()) return Fail(diag.ToStatus().error());
  return FinishYamlCases(std::move(cases), std::move(locations), defaults, std::move(parsed), file, limits);
}

// promptfoo tests may live in other files: `tests: file://cases.yaml`.
// `files_left` counts down the file:// references still allowed.
Status AppendPromptfooTests(const YAML::Node& tests, const std::string& file, std::vector<GoldenCase>& cases,
                            std::vector<std::string>& locations, Diagnostics& diag, int depth,
                            const ParseLimits& limits, int& files_left) {
  auto read_one = [&](const YAML::Node& node) {
    if (!node.IsMap()) {
      diag.Add(node, "each test must be a mapping with vars and assert");
      return;
    }
    config::CheckKeys(node,
                      {"description", "vars", "assert", "metadata", "threshold", "options", "id", "tags"},
                      "a promptfoo test (provider overrides, providerOutput and assertScoringFunction are not "
                      "supported)",
                      diag);
    GoldenCase c;
    if (auto id = config::GetString(node, "id", diag)) c.id = *id;
    ReadCaseFields(node, c, diag);
    if (const YAML::Node o = node["options"]) c.metadata["promptfoo_options"] = config::YamlToJson(o);
    if (c.tags.empty() && c.metadata.contains("tags") && c.metadata["tags"].is_array()) {
      for (const auto& t : c.metadata["tags"])
        if (t.is_string()) c.tags.push_back(t.get<std::string>());
    }
    locations.push_back(diag.Where(node.Mark()));
    cases.push_back(std::move(c));
  };
  auto include = [&](const YAML::Node& ref) -> Status {
    const std::string& target = ref.Scalar();
    if (target.rfind("file://", 0) != 0) {
      diag.Add(ref, "tests must be a list or a 'file://' reference, got '" + target + "'");
      return Ok();
    }
    if (depth > 4) {
      diag.Add(ref, "too many nested file:// references");
      return Ok();
    }
    if (--files_left < 0) {
      diag.Add(ref, "more than " + std::to_string(kMaxIncludedFiles) + " file:// references");
      return Ok();
    }
    std::filesystem::path path = target.substr(7);
    if (path.is_relative()) path = std::filesystem::path(file).parent_path() / path;
    std::error_code ec;
    if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
      diag.Add(ref, "'" + target + "' is not a regular file");
      return Ok();
    }
    auto text = config::ReadTextFile(path.string());
    if (!text) {
      diag.Add(ref, text.error().message);
      return Ok();
    }
    if (path.extension() == ".jsonl") {
      auto sub = ParseGoldenSet(*text, path.string(), Format::kJsonl, limits);
      if (!sub) return Fail(sub.error());
      for (auto& c : sub->set.cases) {
        locations.push_back(path.string());
        cases.push_back(std::move(c));
      }
      return Ok();
    }
    auto sub_root = config::ParseYaml(*text, path.string());  // JSON is YAML too
    if (!sub_root) return Fail(sub_root.error());
    if (sub_root->IsMap() && !(*sub_root)["tests"]) {
      diag.Add(ref, "'" + target + "' has no 'tests' (expected a list of tests, or a mapping with 'tests')");
      return Ok();
    }
    Diagnostics sub_diag(path.string());
    const YAML::Node sub_tests = sub_root->IsMap() ? (*sub_root)["tests"] : *sub_root;
    auto s = AppendPromptfooTests(sub_tests, path.string(), cases, locations, sub_diag, depth + 1, limits, files_left);
    for (const auto& e : sub_diag.errors()) diag.AddGlobal(e);
    return s;
  };
  if (tests.IsSequence()) {
    for (const auto& t : tests) {
      if (t.IsScalar()) {
        if (auto s = include(t); !s) return s;
      } else {
        read_one(t);
      }
    }
  } else if (tests.IsScalar()) {
    return include(tests);
  } else {
    diag.Add(tests, "'tests' must be a list of tests or a file:// reference");
  }
  return Ok();
}

Result<ParsedGoldenSet> ParsePromptfoo(const YAML::Node& root, const std::string& file, const ParseLimits& limits) {
  Diagnostics diag(file);
  ParsedGoldenSet parsed;
  parsed.format = "promptfoo";
  config::CheckNoDuplicateKeys(root, diag);
  // YAML::Node assignment writes through to the referenced node, so bind once.
  const YAML::Node tests = root.IsMap() ? root["tests"] : root;
  if (!tests) {
    diag.Add(root, "missing required key 'tests' (a list of promptfoo tests or a file:// reference)");
    return Fail(diag.ToStatus().error());
  }
  Defaults defaults;
  if (root.IsMap()) {
    if (auto v = config::GetString(root, "description", diag)) parsed.set.description = *v;
    if (const YAML::Node dt = root["defaultTest"]) {
      config::CheckKeys(dt, {"vars", "assert", "metadata", "threshold", "options", "tags"}, "defaultTest", diag);
      defaults = ReadDefaults(dt, diag);
    }
    for (const char* unsupported : {"scenarios", "derivedMetrics"}) {
      if (root[unsupported])
        diag.Add(root[unsupported], std::string("promptfoo '") + unsupported +
                                        "' is not supported; publish the tests without it");
    }
  }
  std::vector<GoldenCase> cases;
  std::vector<std::string> locations;
  int files_left = kMaxIncludedFiles;
  if (auto s = AppendPromptfooTests(tests, file, cases, locations, diag, 0, limits, files_left); !s)
    return Fail(s.error());
  if (!diag.ok()) return Fail(diag.ToStatus().error());
  return FinishYamlCases(std::move(cases), std::move(locations), defaults, std::move(parsed), file, limits,
                         /*group_from_metadata=*/true);
}

// ---- JSONL --------------------------------------------------------------

Result<ParsedGoldenSet> ParseJsonl(const std::string& text, const std::string& file, const ParseLimits& limits) {
  ParsedGoldenSet parsed;
  parsed.format = "jsonl";
  std::vector<GoldenCase> cases;
  std::vector<std::string> locations;
  static const std::set<std::string> kKeys = {"id",   "description", "vars",      "assert",
                                              "tags", "metadata",    "threshold", "group"};
  size_t line_no = 0, start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++line_no;
    std::string_view line(text.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string where = file + ":" + std::to_string(line_no);
    start = end + 1;
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (cases.size() == limits.max_cases) return Fail(TooManyCases(where, limits).error());
    if (line.size() > limits.max_case_bytes) return Fail(TooLargeCase(where, line.size(), limits).error());
    nlohmann::json obj;
    bool too_deep = false;
    try {
      obj = nlohmann::json::parse(line, DepthLimit(too_deep));
    } catch (const nlohmann::json::parse_error& e) {
      size_t column = e.byte == 0 ? 1 : e.byte;
      std::string what = e.what();
      if (auto p = what.find("syntax error"); p != std::string::npos) what = what.substr(p);
      return Fail(ErrorKind::kInvalidInput, where + ":" + std::to_string(column) + ": invalid JSON: " + what);
    } catch (const nlohmann::json::exception& e) {  // e.g. a number too large for a double
      std::string what = e.what();
      if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
      return Fail(ErrorKind::kInvalidInput, where + ":1: invalid JSON: " + what);
    }
    auto field_error = [&](const std::string& msg) {
      return Fail(ErrorKind::kInvalidInput, where + ":1: " + msg);
    };
    if (too_deep) return field_error("invalid JSON: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    if (!obj.is_object()) return field_error("each line must be a JSON object (a case)");
    for (auto& [k, v] : obj.items()) {
      if (!kKeys.count(k))
        return field_error("unknown key '" + k +
                           "'; allowed keys: id, description, vars, assert, tags, metadata, "
                           "threshold, group");
    }
    GoldenCase c;
    if (obj.contains("id")) {
      if (!obj["id"].is_string() || obj["id"].get<std::string>().empty())
        return field_error("'id' must be a non-empty string");
      c.id = obj["id"];
    }
    if (obj.contains("vars")) {
      if (!obj["vars"].is_object()) return field_error("'vars' must be an object");
      c.vars = obj["vars"];
    }
    if (obj.contains("assert")) {
      if (!obj["assert"].is_array()) return field_error("'assert' must be an array of assertions");
      for (const auto& a : obj["assert"])
        if (!a.is_object() || !a.contains("type")) return field_error("each assertion must be an object with 'type'");
      c.asserts = obj["assert"];
    }
    if (obj.contains("group")) {
      if (!obj["group"].is_string() || obj["group"].get<std::string>().empty())
        return field_error("'group' must be a non-empty string");
      c.group = obj["group"];
    }
    if (obj.contains("description")) {
      if (!obj["description"].is_string()) return field_error("'description' must be a string");
      c.description = obj["description"];
    }
    if (obj.contains("tags")) {
      if (!obj["tags"].is_array()) return field_error("'tags' must be an array of strings");
      for (const auto& t : obj["tags"]) {
        if (!t.is_string()) return field_error("'tags' must be an array of strings");
        c.tags.push_back(t);
      }
    }
    if (obj.contains("metadata")) {
      if (!obj["metadata"].is_object()) return field_error("'metadata' must be an object");
      c.metadata = obj["metadata"];
    }
    if (obj.contains("threshold")) {
      const auto& threshold = obj["threshold"];
      if (!threshold.is_number() || threshold.get<double>() < 0 || threshold.get<double>() > 1)
        return field_error("'threshold' must be a number between 0 and 1");
      c.threshold = threshold.get<double>();
    }
    locations.push_back(where);
    cases.push_back(std::move(c));
  }
  if (auto s = CheckCaseCount(cases, file, limits); !s) return Fail(s.error());
  if (auto s = FinishIds(cases, locations, parsed.warnings); !s) return Fail(s.error());
  parsed.set.cases = std::move(cases);
  return parsed;
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string NameFromPath(const std::string& path) {
  std::string stem = std::filesystem::path(path).stem().string();
  return stem.empty() ? "goldenset" : stem;
}

Result<ParsedGoldenSet> ParseGoldenSet(const std::string& text, const std::string& file, Format format,
                                       const ParseLimits& limits) {
  if (format == Format::kJsonl || (format == Format::kAuto && EndsWith(file, ".jsonl")))
    return ParseJsonl(text, file, limits);
  auto root = config::ParseYaml(text, file);
  if (!root) return Fail(root.error());
  if (format == Format::kAuto)
    format = (root->IsSequence() || (root->IsMap() && (*root)["tests"])) ? Format::kPromptfoo : Format::kNative;
  if (format == Format::kPromptfoo) return ParsePromptfoo(*root, file, limits);
  if (!root->IsMap())
    return Fail(ErrorKind::kInvalidInput, file + ": a golden set must be a mapping with 'cases' (or a promptfoo "
                                                 "config with 'tests')");
  return ParseNative(*root, file, limits);
}

Result<ParsedGoldenSet> LoadGoldenSet(const std::string& path, Format format, const ParseLimits& limits) {
  auto text = config::ReadTextFile(path);
  if (!text) return Fail(text.error());
  return ParseGoldenSet(*text, path, format, limits);
}

}  // namespace dw::goldenset
