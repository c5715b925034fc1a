// Helpers shared by the provider tests: running calls to completion on an
// io_context, and canned OpenAI responses.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "core/golden_case.h"
#include "providers/provider.h"

namespace dw::providers::testing {

// Issues one call per case (all at once) and runs `io` until every `done`
// ran or `limit` passed; results are in case order. Cases missing a result
// are reported as test failures and left default.
std::vector<CallResult> RunCalls(Provider& provider, boost::asio::io_context& io, const std::vector<GoldenCase>& cases,
                                 int repeat = 0, const std::string& run_salt = "",
                                 std::chrono::seconds limit = std::chrono::seconds(30));

CallResult RunCall(Provider& provider, boost::asio::io_context& io, const GoldenCase& golden_case);

GoldenCase Case(const std::string& id, nlohmann::json vars);

// A chat.completion body with the given content (null when `content` is
// "<null>"), finish_reason and usage 10/5.
std::string ChatBody(const std::string& content, const std::string& finish_reason = "stop",
                     const nlohmann::json& message_extra = nlohmann::json::object());

// Milliseconds since `start`.
double MsSince(std::chrono::steady_clock::time_point start);

}  // namespace dw::providers::testing
