// Escaping for HTML and XML output (the evidence pack, JUnit reports).
#pragma once

#include <string>
#include <string_view>

namespace dw::report {

// `text` made safe as element content and as a quoted attribute value in
// HTML and XML: & < > " ' become entities, control characters other than
// tab, newline and carriage return become U+FFFD (XML 1.0 forbids them).
// Bytes >= 0x80 pass through unchanged. Pure; thread-safe.
std::string EscapeMarkup(std::string_view text);

}  // namespace dw::report
