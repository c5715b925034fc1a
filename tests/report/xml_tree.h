// A small strict XML 1.0 reader for tests of generated XML (JUnit reports):
// it checks well-formedness and gives back the element tree, so tests can
// assert on structure and decoded values instead of substrings.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace dw::report::testing {

struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;  // values entity-decoded
  std::string text;                               // decoded character data directly inside
  std::vector<std::unique_ptr<XmlElement>> children;

  // The value of `attribute`, or "" when absent.
  std::string Attr(const std::string& attribute) const;
  // Direct children named `child`, in document order.
  std::vector<const XmlElement*> Children(const std::string& child) const;
};

// Parses a document: an optional <?xml ...?> declaration, comments, and one
// root element. kInvalidInput with the byte offset on anything not
// well-formed: mismatched or unclosed tags, unquoted or duplicate
// attributes, a raw '<' in an attribute, a bare '&' or unknown entity, a
// character XML 1.0 forbids, invalid UTF-8, content after the root.
Result<std::unique_ptr<XmlElement>> ParseXml(std::string_view document);

}  // namespace dw::report::testing
