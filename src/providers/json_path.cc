#include "providers/json_path.h"

namespace dw::providers {
namespace {

bool IsNameChar(char c) { return c != '.' && c != '['; }

}  // namespace

Result<JsonPath> JsonPath::Parse(std::string_view text) {
  JsonPath path;
  path.text_ = std::string(text);
  auto fail = [&](size_t pos, const char* what) {
    return Fail(ErrorKind::kInvalidInput,
                "JSON path '" + path.text_ + "': " + what + " at offset " + std::to_string(pos));
  };
  size_t i = 0;
  if (!text.empty() && text[0] == '$') {
    i = 1;
  } else if (!text.empty() && text[0] != '.' && text[0] != '[') {
    size_t end = i;
    while (end < text.size() && IsNameChar(text[end])) ++end;
    path.steps_.emplace_back(std::string(text.substr(i, end - i)));
    i = end;
  }
  while (i < text.size()) {
    if (text[i] == '.') {
      size_t end = ++i;
      while (end < text.size() && IsNameChar(text[end])) ++end;
      if (end == i) return fail(i, "empty name");
      path.steps_.emplace_back(std::string(text.substr(i, end - i)));
      i = end;
    } else if (text[i] == '[') {
      ++i;
      if (i < text.size() && (text[i] == '\'' || text[i] == '"')) {
        char quote = text[i++];
        size_t close = text.find(quote, i);
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ']')
          return fail(i, "unterminated quoted name");
        path.steps_.emplace_back(std::string(text.substr(i, close - i)));
        i = close + 2;
      } else {
        bool negative = i < text.size() && text[i] == '-';
        if (negative) ++i;
        size_t start = i;
        long long index = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 18) {
          index = index * 10 + (text[i] - '0');
          ++i;
        }
        if (i == start || i >= text.size() || text[i] != ']') return fail(start, "expected an index");
        path.steps_.emplace_back(negative ? -index : index);
        ++i;
      }
    } else {
      return fail(i, "expected '.' or '['");
    }
  }
  return path;
}

const nlohmann::json* JsonPath::Find(const nlohmann::json& root) const {
  const nlohmann::json* node = &root;
  for (const Step& step : steps_) {
    if (const auto* name = std::get_if<std::string>(&step)) {
      if (!node->is_object()) return nullptr;
      auto it = node->find(*name);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else {
      if (!node->is_array()) return nullptr;
      long long index = std::get<long long>(step);
      const auto size = static_cast<long long>(node->size());
      if (index < 0) index += size;
      if (index < 0 || index >= size) return nullptr;
      node = &(*node)[static_cast<size_t>(index)];
    }
  }
  return node;
}

std::optional<std::int64_t> TokenCount(const nlohmann::json& value) {
  constexpr std::int64_t kMax = std::int64_t{1} << 53;  // every integer up to it is exact in a double
  if (value.is_number_unsigned()) {
    const auto n = value.get<std::uint64_t>();
    return n <= static_cast<std::uint64_t>(kMax) ? std::optional<std::int64_t>(static_cast<std::int64_t>(n))
                                                 : std::nullopt;
  }
  if (value.is_number_integer()) {
    const auto n = value.get<std::int64_t>();
    return n >= 0 && n <= kMax ? std::optional<std::int64_t>(n) : std::nullopt;
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    return d >= 0 && d <= static_cast<double>(kMax) ? std::optional<std::int64_t>(static_cast<std::int64_t>(d))
                                                    : std::nullopt;
  }
  return std::nullopt;
}

}  // namespace dw::providers
