#include "providers/json_template.h"

#include <string_view>

#include "core/template.h"

namespace dw::providers {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The var name if `text` is exactly one placeholder, else empty.
std::string_view SolePlaceholder(std::string_view text) {
  if (text.size() < 5 || text.substr(0, 2) != "{{" || text.substr(text.size() - 2) != "}}") return {};
  std::string_view inner = text.substr(2, text.size() - 4);
  if (inner.find("{{") != std::string_view::npos || inner.find("}}") != std::string_view::npos) return {};
  return Trim(inner);
}

Status RenderInPlace(nlohmann::json& node, const nlohmann::json& vars) {
  if (node.is_string()) {
    const auto& text = node.get_ref<const std::string&>();
    if (!HasTemplate(text)) return Ok();
    std::string_view sole = SolePlaceholder(text);
    if (!sole.empty()) {
      const nlohmann::json* value = LookupVar(vars, sole);
      if (value != nullptr && !value->is_string()) {
        node = *value;
        return Ok();
      }
    }
    auto rendered = RenderTemplate(text, vars);
    if (!rendered) return Fail(std::move(rendered.error()));
    node = std::move(*rendered);
  } else if (node.is_structured()) {
    for (auto& child : node) {
      if (auto status = RenderInPlace(child, vars); !status) return status;
    }
  }
  return Ok();
}

}  // namespace

Result<nlohmann::json> RenderJsonTemplate(const nlohmann::json& tmpl, const nlohmann::json& vars) {
  nlohmann::json out = tmpl;
  if (auto status = RenderInPlace(out, vars); !status) return Fail(std::move(status.error()));
  return out;
}

bool JsonHasTemplate(const nlohmann::json& tmpl) {
  if (tmpl.is_string()) return HasTemplate(tmpl.get_ref<const std::string&>());
  if (tmpl.is_structured()) {
    for (const auto& child : tmpl)
      if (JsonHasTemplate(child)) return true;
  }
  return false;
}

std::string JsonToText(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return {};
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace dw::providers
