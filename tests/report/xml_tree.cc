#include "report/xml_tree.h"

#include <cctype>

namespace dw::report::testing {

std::string XmlElement::Attr(const std::string& attribute) const {
  auto it = attributes.find(attribute);
  return it == attributes.end() ? "" : it->second;
}

std::vector<const XmlElement*> XmlElement::Children(const std::string& child) const {
  std::vector<const XmlElement*> found;
  for (const auto& c : children)
    if (c->name == child) found.push_back(c.get());
  return found;
}

namespace {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<std::unique_ptr<XmlElement>> Document() {
    if (auto e = CheckCharacters(); !e.empty()) return Fail(ErrorKind::kInvalidInput, e);
    if (s_.substr(0, 5) == "<?xml") {
      size_t end = s_.find("?>");
      if (end == std::string_view::npos) return Error("unterminated XML declaration");
      i_ = end + 2;
    }
    SkipMisc();
    if (i_ >= s_.size() || s_[i_] != '<') return Error("no root element");
    auto root = Element();
    if (!root) return root;
    SkipMisc();
    if (i_ != s_.size()) return Error("content after the root element");
    return root;
  }

 private:
  Result<std::unique_ptr<XmlElement>> Error(const std::string& what) const {
    return Fail(ErrorKind::kInvalidInput, what + " at byte " + std::to_string(i_));
  }

  // Every code point must be valid UTF-8 and an XML 1.0 Char.
  std::string CheckCharacters() const {
    for (size_t k = 0; k < s_.size();) {
      auto c = static_cast<unsigned char>(s_[k]);
      size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
      if (n == 0 || k + n > s_.size()) return "invalid UTF-8 at byte " + std::to_string(k);
      unsigned cp = n == 1 ? c : c & (0x7F >> n);
      for (size_t j = 1; j < n; ++j) {
        auto cc = static_cast<unsigned char>(s_[k + j]);
        if ((cc & 0xC0) != 0x80) return "invalid UTF-8 at byte " + std::to_string(k);
        cp = (cp << 6) | (cc & 0x3F);
      }
      bool ok = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
                (cp >= 0x10000 && cp <= 0x10FFFF);
      if (!ok) return "character U+" + std::to_string(cp) + " not allowed in XML at byte " + std::to_string(k);
      k += n;
    }
    return "";
  }

  void SkipMisc() {
    while (true) {
      while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
      if (s_.substr(i_, 4) != "<!--") return;
      size_t end = s_.find("-->", i_);
      if (end == std::string_view::npos) return;
      i_ = end + 3;
    }
  }

  static bool NameChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' || c == '.';
  }

  std::string Name() {
    size_t start = i_;
    if (i_ < s_.size() && (std::isalpha(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_'))
      while (i_ < s_.size() && NameChar(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }

  // Decodes s_[begin, end); false on a bare '&', an unknown entity or '<'.
  bool Decode(size_t begin, size_t end, std::string& out) {
    for (size_t k = begin; k < end; ++k) {
      if (s_[k] == '<') {
        i_ = k;
        return false;
      }
      if (s_[k] != '&') {
        out += s_[k];
        continue;
      }
      size_t semi = s_.find(';', k);
      if (semi == std::string_view::npos || semi >= end) {
        i_ = k;
        return false;
      }
      std::string_view entity = s_.substr(k + 1, semi - k - 1);
      if (entity == "amp")
        out += '&';
      else if (entity == "lt")
        out += '<';
      else if (entity == "gt")
        out += '>';
      else if (entity == "quot")
        out += '"';
      else if (entity == "apos")
        out += '\'';
      else if (entity.size() > 1 && entity[0] == '#') {
        bool hex = entity[1] == 'x';
        std::string digits(entity.substr(hex ? 2 : 1));
        if (digits.empty() ||
            digits.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789") != std::string::npos) {
          i_ = k;
          return false;
        }
        unsigned long cp = std::stoul(digits, nullptr, hex ? 16 : 10);
        if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF ||
            (cp < 0x20 && cp != 0x9 && cp != 0xA && cp != 0xD)) {
          i_ = k;
          return false;
        }
        if (cp < 0x80) {
          out += static_cast<char>(cp);
        } else if (cp < 0x800) {
          out += static_cast<char>(0xC0 | (cp >> 6));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
          out += static_cast<char>(0xE0 | (cp >> 12));
          out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
          out += static_cast<char>(0xF0 | (cp >> 18));
          out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
          out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        }
      } else {
        i_ = k;
        return false;
      }
      k = semi;
    }
    return true;
  }

  Result<std::unique_ptr<XmlElement>> Element() {
    ++i_;  // '<'
    auto element = std::make_unique<XmlElement>();
    element->name = Name();
    if (element->name.empty()) return Error("missing element name");
    while (true) {
      size_t before = i_;
      while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
      if (i_ >= s_.size()) return Error("unterminated start tag <" + element->name + ">");
      if (s_.substr(i_, 2) == "/>") {
        i_ += 2;
        return element;
      }
      if (s_[i_] == '>') {
        ++i_;
        break;
      }
      if (i_ == before) return Error("attributes must be separated by white space");
      std::string attribute = Name();
      if (attribute.empty() || i_ + 1 >= s_.size() || s_[i_] != '=' || (s_[i_ + 1] != '"' && s_[i_ + 1] != '\''))
        return Error("malformed attribute in <" + element->name + ">");
      char quote = s_[i_ + 1];
      size_t close = s_.find(quote, i_ + 2);
      if (close == std::string_view::npos) return Error("unterminated attribute value");
      std::string value;
      if (!Decode(i_ + 2, close, value)) return Error("'<', bare '&' or bad entity in an attribute value");
      if (!element->attributes.emplace(attribute, value).second) return Error("duplicate attribute " + attribute);
      i_ = close + 1;
    }
    while (true) {
      size_t lt = s_.find('<', i_);
      if (lt == std::string_view::npos) return Error("unclosed <" + element->name + ">");
      if (!Decode(i_, lt, element->text)) return Error("bare '&' or bad entity in text");
      i_ = lt;
      if (s_.substr(i_, 4) == "<!--") {
        size_t end = s_.find("-->", i_);
        if (end == std::string_view::npos) return Error("unterminated comment");
        i_ = end + 3;
        continue;
      }
      if (s_.substr(i_, 2) == "</") {
        i_ += 2;
        std::string closing = Name();
        if (closing != element->name) return Error("</" + closing + "> closes <" + element->name + ">");
        while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
        if (i_ >= s_.size() || s_[i_] != '>') return Error("malformed end tag");
        ++i_;
        return element;
      }
      auto child = Element();
      if (!child) return child;
      element->children.push_back(std::move(*child));
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

Result<std::unique_ptr<XmlElement>> ParseXml(std::string_view document) { return Parser(document).Document(); }

}  // namespace dw::report::testing
