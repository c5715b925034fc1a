// A small HTTP/1.1 server (Boost.Beast, plain TCP) that hands each request
// to a handler function. Beast lives only in http_server.cc; everything else
// sees these plain types.
//
// Limits: request headers above max_header_bytes get 431, bodies above
// max_body_bytes 413, unparseable requests 400 (each a JSON error, then the
// connection is closed); a connection idle or stalled for longer than
// idle_timeout is closed. Above max_connections, new connections get 503.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace dw::server {

struct HttpRequestData {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // path and query, as sent
  std::map<std::string, std::string> headers;  // names lower-cased; repeated fields joined with ", "
  std::string body;
  std::string remote_address;  // peer IP
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// {"error":{"status":S,"code":CODE,"message":MESSAGE}} with that status.
HttpReply JsonError(int status, const std::string& code, const std::string& message);

// Called on a server thread for every request; may block (database calls).
// Must not throw: an exception becomes a 500 reply.
using HttpHandler = std::function<HttpReply(const HttpRequestData&)>;

struct HttpServerOptions {
  std::string listen = "127.0.0.1:9464";  // host:port, [v6]:port; port 0 picks a free one
  int threads = 4;                        // handler threads (1..64)
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds idle_timeout{30000};
  int max_connections = 256;
};

// One request parsed from bytes as a connection reads it, or the error reply
// the server sends instead (400 malformed or incomplete, 413 body above
// max_body_bytes, 431 headers above max_header_bytes).
struct ParsedHttpRequest {
  std::optional<HttpRequestData> request;  // remote_address left empty
  HttpReply error;                         // when !request
  bool keep_alive = false;
};

// Parses the first HTTP/1.1 request in `bytes` with `options`' size limits.
// Pure; the server's connections convert and refuse requests the same way.
ParsedHttpRequest ParseHttpRequest(std::string_view bytes, const HttpServerOptions& options);

// Thread-safe. Destruction stops the server (Stop with a 5 s deadline).
class HttpServer {
 public:
  // Binds and starts serving. kInvalidInput for a malformed address or
  // option, kUnavailable when the address cannot be bound.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound TCP port.
  std::uint16_t port() const;

  // Stops accepting, lets requests being handled finish (their replies say
  // Connection: close), closes idle connections, and returns once all
  // connections are gone or `deadline` passed. Idempotent.
  void Stop(std::chrono::milliseconds deadline);

  // Requests handled so far.
  std::uint64_t requests() const;

  class Impl;

 private:
  explicit HttpServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace dw::server
