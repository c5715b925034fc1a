#include "config/yaml_util.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "core/utf8.h"

namespace dw::config {
namespace {

std::string Position(const YAML::Mark& mark) {
  if (mark.line < 0) return "";
  return std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Scalar: return "'" + node.Scalar() + "'";
    default: return "nothing";
  }
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string JoinAllowed(std::initializer_list<std::string_view> allowed) {
  std::string out;
  for (auto a : allowed) {
    if (!out.empty()) out += ", ";
    out += a;
  }
  return out;
}

// Parses a plain scalar as a number: integers (decimal) and floats.
std::optional<double> ParseNumber(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || std::isnan(v) || std::isinf(v)) return std::nullopt;
  return v;
}

bool LooksLikeInteger(const std::string& s) {
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i >= s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

// Control characters quoted from the input (a newline in a value, a YAML
// escape) are written as \n, \t or \xNN, so each problem stays on one line.
std::string EscapeControls(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (unsigned char c : message) {
    if (c >= 0x20 && c != 0x7f) {
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace

void Diagnostics::Add(const YAML::Mark& mark, const std::string& message) {
  std::string pos = Position(mark);
  errors_.push_back(file_ + ":" + (pos.empty() ? "" : pos + ": ") + EscapeControls(message));
}

void Diagnostics::AddGlobal(const std::string& message) { errors_.push_back(file_ + ": " + EscapeControls(message)); }

std::string Diagnostics::Where(const YAML::Mark& mark) const {
  std::string pos = Position(mark);
  return pos.empty() ? file_ : file_ + ":" + pos;
}

Status Diagnostics::ToStatus() const {
  if (errors_.empty()) return Ok();
  std::string joined;
  for (const auto& e : errors_) {
    if (!joined.empty()) joined += "\n";
    joined += e;
  }
  return Fail(ErrorKind::kInvalidInput, joined);
}

Result<YAML::Node> ParseYaml(const std::string& text, const std::string& file) {
  if (auto bad = FindInvalidUtf8(text)) {
    const std::string_view before(text.data(), *bad);
    const size_t line = static_cast<size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
    const size_t newline = before.rfind('\n');
    const size_t column = newline == std::string_view::npos ? *bad + 1 : *bad - newline;
    static constexpr char kHex[] = "0123456789ABCDEF";
    const auto byte = static_cast<unsigned char>(text[*bad]);
    return Fail(ErrorKind::kInvalidInput, file + ":" + std::to_string(line) + ":" + std::to_string(column) +
                                              ": not valid UTF-8 (byte 0x" + kHex[byte >> 4] + kHex[byte & 0xf] +
                                              "); save the file as UTF-8");
  }
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Fail(ErrorKind::kInvalidInput, file + ":" + Position(e.mark) + ": " + EscapeControls(e.msg));
  }
}

Result<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorKind::kNotFound, path + ": cannot open file");
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Fail(ErrorKind::kUnavailable, path + ": read error");
  return ss.str();
}

Result<YAML::Node> LoadYamlFile(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text) return Fail(text.error());
  return ParseYaml(*text, path);
}

std::string ClosestMatch(std::string_view word, std::initializer_list<std::string_view> candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (auto c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(c);
    }
  }
  return best;
}

void CheckKeys(const YAML::Node& map, std::initializer_list<std::string_view> allowed, std::string_view what,
               Diagnostics& diag) {
  if (!map.IsMap()) return;
  std::map<std::string, YAML::Mark> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    std::string key = it->first.Scalar();
    if (auto prev = seen.find(key); prev != seen.end()) {
      diag.Add(it->first, "duplicate key '" + key + "' in " + std::string(what) + " (first defined at " +
                              diag.Where(prev->second) + ")");
      continue;
    }
    seen.emplace(key, it->first.Mark());
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string hint = ClosestMatch(key, allowed);
      diag.Add(it->first, "unknown key '" + key + "' in " + std::string(what) +
                              (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                              "; allowed keys: " + JoinAllowed(allowed));
    }
  }
}

void CheckNoDuplicateKeys(const YAML::Node& node, Diagnostics& diag) {
  if (node.IsMap()) {
    std::map<std::string, YAML::Mark> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string key = it->first.Scalar();
      if (auto prev = seen.find(key); prev != seen.end())
        diag.Add(it->first, "duplicate key '" + key + "' (first defined at " + diag.Where(prev->second) + ")");
      else
        seen.emplace(key, it->first.Mark());
      CheckNoDuplicateKeys(it->second, diag);
    }
  } else if (node.IsSequence()) {
    for (const auto& child : node) CheckNoDuplicateKeys(child, diag);
  }
}

bool IsQuoted(const YAML::Node& scalar) { return scalar.Tag() == "!"; }

std::optional<std::string> GetString(const YAML::Node& map, std::string_view key, Diagnostics& diag,
                                     bool required) {
  const YAML::Node node = map[std::string(key)];
  if (!node) {
    if (required) diag.Add(map, "missing required key '" + std::string(key) + "'");
    return std::nullopt;
  }
  if (!node.IsScalar()) {
    diag.Add(node, "'" + std::string(key) + "' must be a string, got " + Describe(node));
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<double> GetNumber(const YAML::Node& map, std::string_view key, Diagnostics& diag, bool required,
                                std::optional<double> min, std::optional<double> max) {
  const YAML::Node node = map[std::string(key)];
  if (!node) {
    if (required) diag.Add(map, "missing required key '" + std::string(key) + "'");
    return std::nullopt;
  }
  std::optional<double> value;
  if (node.IsScalar() && !IsQuoted(node)) value = ParseNumber(node.Scalar());
  if (!value) {
    diag.Add(node, "'" + std::string(key) + "' must be a number, got " + Describe(node));
    return std::nullopt;
  }
  if ((min && *value < *min) || (max && *value > *max)) {
    std::ostringstream range;
    range << (min ? std::to_string(*min) : "-inf") << " .. " << (max ? std::to_string(*max) : "inf");
    diag.Add(node, "'" + std::string(key) + "' = " + node.Scalar() + " is out of range " + range.str());
    return std::nullopt;
  }
  return value;
}

std::optional<long long> GetInt(const YAML::Node& map, std::string_view key, Diagnostics& diag, bool required,
                                std::optional<long long> min, std::optional<long long> max) {
  const YAML::Node node = map[std::string(key)];
  if (!node) {
    if (required) diag.Add(map, "missing required key '" + std::string(key) + "'");
    return std::nullopt;
  }
  if (!node.IsScalar() || IsQuoted(node) || !LooksLikeInteger(node.Scalar())) {
    diag.Add(node, "'" + std::string(key) + "' must be an integer, got " + Describe(node));
    return std::nullopt;
  }
  long long value = std::strtoll(node.Scalar().c_str(), nullptr, 10);
  if ((min && value < *min) || (max && value > *max)) {
    diag.Add(node, "'" + std::string(key) + "' = " + node.Scalar() + " is out of range " +
                       (min ? std::to_string(*min) : "-inf") + " .. " + (max ? std::to_string(*max) : "inf"));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> GetBool(const YAML::Node& map, std::string_view key, Diagnostics& diag) {
  const YAML::Node node = map[std::string(key)];
  if (!node) return std::nullopt;
  if (node.IsScalar() && !IsQuoted(node)) {
    if (node.Scalar() == "true") return true;
    if (node.Scalar() == "false") return false;
  }
  diag.Add(node, "'" + std::string(key) + "' must be true or false, got " + Describe(node));
  return std::nullopt;
}

std::optional<std::vector<std::string>> GetStringList(const YAML::Node& map, std::string_view key,
                                                      Diagnostics& diag) {
  const YAML::Node node = map[std::string(key)];
  if (!node) return std::nullopt;
  if (node.IsScalar()) return std::vector<std::string>{node.Scalar()};
  if (!node.IsSequence()) {
    diag.Add(node, "'" + std::string(key) + "' must be a list of strings, got " + Describe(node));
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& item : node) {
    if (!item.IsScalar()) {
      diag.Add(item, "'" + std::string(key) + "' items must be strings, got " + Describe(item));
      return std::nullopt;
    }
    out.push_back(item.Scalar());
  }
  return out;
}

std::optional<std::string> GetEnum(const YAML::Node& map, std::string_view key,
                                   std::initializer_list<std::string_view> allowed, Diagnostics& diag,
                                   bool required) {
  auto value = GetString(map, key, diag, required);
  if (!value) return std::nullopt;
  if (std::find(allowed.begin(), allowed.end(), *value) == allowed.end()) {
    std::string hint = ClosestMatch(*value, allowed);
    diag.Add(map[std::string(key)], "'" + std::string(key) + "' has invalid value '" + *value + "'" +
                                        (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                                        "; allowed values: " + JoinAllowed(allowed));
    return std::nullopt;
  }
  return value;
}

nlohmann::json YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& item : node) arr.push_back(YamlToJson(item));
      return arr;
    }
    case YAML::NodeType::Map: {
      nlohmann::json obj = nlohmann::json::object();
      for (auto it = node.begin(); it != node.end(); ++it) {
        std::string key = it->first.Scalar();
        if (!obj.contains(key)) obj[key] = YamlToJson(it->second);
      }
      return obj;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (IsQuoted(node) || node.Tag() == "tag:yaml.org,2002:str") return s;
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
      if (s == "null" || s == "~" || s == "Null" || s == "NULL") return nullptr;
      if (!s.empty() && LooksLikeInteger(s) && s.size() < 19) return std::strtoll(s.c_str(), nullptr, 10);
      if (!s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '+' || s[0] == '.')) {
        if (auto v = ParseNumber(s)) return *v;
      }
      return s;
    }
  }
  return nullptr;
}

Result<std::string> ExpandEnv(const std::string& text) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("${", pos);
    if (open == std::string::npos) {
      out.append(text, pos);
      return out;
    }
    size_t close = text.find('}', open + 2);
    if (close == std::string::npos)
      return Fail(ErrorKind::kInvalidInput, "unclosed '${' in \"" + text + "\"");
    std::string name = text.substr(open + 2, close - open - 2);
    out.append(text, pos, open - pos);
    const char* value = std::getenv(name.c_str());
    if (value == nullptr)
      return Fail(ErrorKind::kInvalidInput, "environment variable ${" + name + "} is not set");
    out.append(value);
    pos = close + 1;
  }
}

}  // namespace dw::config
