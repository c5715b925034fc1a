// A blocking HTTP/1.1 client over raw sockets for the server tests: it can
// send well-formed requests and arbitrary bytes.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace dw::server::testing {

struct RawResponse {
  int status = 0;                              // 0 when no HTTP response came back
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  // The body parsed as JSON (discarded value when it is not JSON).
  nlohmann::json json() const;
  // error.code of a JSON error body, or "".
  std::string error_code() const;
};

// Connects to 127.0.0.1:port, sends `bytes`, reads until the server closes
// the connection or `timeout` passes, and parses the first response.
RawResponse SendRaw(int port, const std::string& bytes,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

// One request with Connection: close. `token` adds "Authorization: Bearer
// <token>"; a non-empty `body` is sent with `content_type`.
RawResponse Request(int port, const std::string& method, const std::string& target, const std::string& token = "",
                    const std::string& body = "", const std::string& content_type = "application/json");

}  // namespace dw::server::testing
