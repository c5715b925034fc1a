#include "report/markup_check.h"

#include <cctype>
#include <vector>

namespace dw::report::testing {
namespace {

bool NameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':'; }

// Checks text from `begin` to `end` for raw '<' and bare '&'.
std::string CheckText(std::string_view s, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) {
    if (s[i] == '<') return "raw < at " + std::to_string(i);
    if (s[i] != '&') continue;
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi > end || semi - i < 2 || semi - i > 10)
      return "bare & at " + std::to_string(i);
    std::string_view entity = s.substr(i + 1, semi - i - 1);
    bool ok = entity[0] == '#' ? entity.size() > 1 : true;
    for (char c : entity.substr(entity[0] == '#' ? 1 : 0)) ok = ok && std::isalnum(static_cast<unsigned char>(c));
    if (!ok) return "bad entity at " + std::to_string(i);
    i = semi;
  }
  return "";
}

}  // namespace

std::string WellFormednessError(std::string_view s) {
  size_t i = 0;
  if (s.rfind("<!DOCTYPE", 0) == 0) i = s.find('>') + 1;
  std::vector<std::string> open;
  while (i < s.size()) {
    size_t lt = s.find('<', i);
    if (lt == std::string_view::npos) lt = s.size();
    if (auto e = CheckText(s, i, lt); !e.empty()) return e;
    if (lt == s.size()) break;
    if (s.substr(lt, 4) == "<!--") {
      size_t end = s.find("-->", lt);
      if (end == std::string_view::npos) return "unclosed comment at " + std::to_string(lt);
      i = end + 3;
      continue;
    }
    bool closing = lt + 1 < s.size() && s[lt + 1] == '/';
    size_t p = lt + (closing ? 2 : 1);
    size_t name_start = p;
    while (p < s.size() && NameChar(s[p])) ++p;
    std::string name(s.substr(name_start, p - name_start));
    if (name.empty()) return "raw < at " + std::to_string(lt);
    if (closing) {
      if (p >= s.size() || s[p] != '>') return "malformed end tag at " + std::to_string(lt);
      if (open.empty() || open.back() != name)
        return "</" + name + "> at " + std::to_string(lt) + " closes <" + (open.empty() ? "" : open.back()) + ">";
      open.pop_back();
      i = p + 1;
      continue;
    }
    // Attributes: name="value" pairs up to > or />.
    bool self_closing = false;
    while (true) {
      while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p;
      if (p >= s.size()) return "unterminated tag <" + name + ">";
      if (s[p] == '>') break;
      if (s.substr(p, 2) == "/>") {
        self_closing = true;
        ++p;
        break;
      }
      size_t attr = p;
      while (p < s.size() && NameChar(s[p])) ++p;
      if (p == attr || p >= s.size() || s[p] != '=' || p + 1 >= s.size() || (s[p + 1] != '"' && s[p + 1] != '\''))
        return "unquoted or malformed attribute in <" + name + "> at " + std::to_string(attr);
      char quote = s[p + 1];
      size_t close = s.find(quote, p + 2);
      if (close == std::string_view::npos) return "unterminated attribute at " + std::to_string(attr);
      if (auto e = CheckText(s, p + 2, close); !e.empty()) return e + " (in an attribute)";
      p = close + 1;
    }
    i = p + 1;
    if (self_closing) continue;
    if (name == "style") {  // raw text up to </style>; CSS has no '<'
      size_t end = s.find("</style>", i);
      if (end == std::string_view::npos) return "unclosed <style>";
      if (s.substr(i, end - i).find('<') != std::string_view::npos) return "< inside <style>";
      i = end + 8;
      continue;
    }
    open.push_back(name);
  }
  if (!open.empty()) return "unclosed <" + open.back() + ">";
  return "";
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t extra = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : 99;
    if (extra == 99 || i + extra >= text.size() + (extra == 0 ? 1 : 0)) return false;
    for (size_t k = 1; k <= extra; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    i += extra + 1;
  }
  return true;
}

size_t CountOf(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string_view::npos; at = haystack.find(needle, at + needle.size()))
    ++n;
  return n;
}

}  // namespace dw::report::testing
