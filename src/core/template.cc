#include "core/template.h"

namespace dw {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

const nlohmann::json* LookupVar(const nlohmann::json& vars, std::string_view path) {
  const nlohmann::json* node = &vars;
  while (!path.empty()) {
    size_t dot = path.find('.');
    std::string_view part = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
    if (node->is_object()) {
      auto it = node->find(std::string(part));
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array()) {
      size_t index = 0;
      for (char c : part) {
        if (c < '0' || c > '9') return nullptr;
        index = index * 10 + static_cast<size_t>(c - '0');
      }
      if (part.empty() || index >= node->size()) return nullptr;
      node = &(*node)[index];
    } else {
      return nullptr;
    }
  }
  return node;
}

Result<std::string> RenderTemplate(std::string_view text, const nlohmann::json& vars) {
  std::string out;
  out.reserve(text.size() + 32);
  size_t pos = 0;
  while (true) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      out.append(text.substr(pos));
      return out;
    }
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos)
      return Fail(ErrorKind::kInvalidInput, "unclosed '{{' in template at offset " + std::to_string(open));
    out.append(text.substr(pos, open - pos));
    std::string_view name = Trim(text.substr(open + 2, close - open - 2));
    const nlohmann::json* value = LookupVar(vars, name);
    if (value == nullptr)
      return Fail(ErrorKind::kInvalidInput, "template references {{" + std::string(name) + "}} but no such var is set");
    if (value->is_string())
      out.append(value->get_ref<const std::string&>());
    else
      out.append(value->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    pos = close + 2;
  }
}

std::vector<std::string> TemplateVariables(std::string_view text) {
  std::vector<std::string> names;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    std::string name(Trim(text.substr(open + 2, close - open - 2)));
    bool seen = false;
    for (const auto& n : names) seen = seen || n == name;
    if (!seen) names.push_back(name);
    pos = close + 2;
  }
  return names;
}

}  // namespace dw
