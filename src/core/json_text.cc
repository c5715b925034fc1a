#include "core/json_text.h"

#include <string>

namespace dw {

nlohmann::json::parser_callback_t DepthLimit(bool& too_deep) {
  return [&too_deep](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > kMaxJsonDepth) too_deep = true;
    return !too_deep;
  };
}

Result<nlohmann::json> ParseJsonText(std::string_view text) {
  bool too_deep = false;
  try {
    nlohmann::json json = nlohmann::json::parse(text, DepthLimit(too_deep));
    if (too_deep)
      return Fail(ErrorKind::kInvalidInput, "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    return json;
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();  // "[json.exception.parse_error.101] parse error at ..."
    if (size_t end = what.find("] "); end != std::string::npos) what.erase(0, end + 2);
    return Fail(ErrorKind::kInvalidInput, what);
  }
}

}  // namespace dw
