// provider: http, a generic JSON endpoint for in-house services.
//
// The request: `http.method` to `http.url`, both of which may use {{var}};
// `http.headers` verbatim (plus "Authorization: Bearer <key>" when
// api_key_env is set and no Authorization header is configured); and
// `http.body` rendered as a JSON template (json_template.h). A JSON string
// body is sent verbatim as text; a null body sends nothing. The vars are the
// case vars plus `prompt`, the target's rendered prompt (when set and the
// case has no var of that name).
//
// The response: on 2xx, `http.output_path` (a JSON path, json_path.h) picks
// the answer from the JSON body; "$" takes the whole body, which then need
// not be JSON. Missing path or non-JSON body → provider_error; empty answer
// → empty; a stock refusal → refusal. `input_tokens_path` and
// `output_tokens_path` pick usage counts when set. Non-2xx statuses and
// transport failures are classified as for openai-chat (classify.h).
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "core/status.h"
#include "providers/provider.h"

namespace dw::providers {

Result<std::unique_ptr<Provider>> MakeHttpProvider(const config::TargetConfig& target, std::string api_key,
                                                   boost::asio::io_context& io);

}  // namespace dw::providers
