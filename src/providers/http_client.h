// An asynchronous HTTP/1.1 client over Boost.Beast with a keep-alive
// connection pool per origin, for HTTP and HTTPS (OpenSSL, certificates
// verified against the system CAs plus an optional CA file, SNI, host name
// or IP address verification).
//
// Built for throughput on one thread: requests are serialised by hand into a
// per-connection buffer, responses are parsed by Beast into a string body,
// connections are reused LIFO (warmest first) and get TCP_NODELAY, and
// resolved addresses are cached per origin. A request sent on a pooled
// connection that turns out to be dead (the peer closed it while idle) is
// retried once on a fresh connection, transparently, as long as no byte of a
// response had arrived.
//
// Threading: an HttpClient and everything it hands out belong to one
// io_context run by one thread; call Send() on that thread (or before the
// io_context runs). Completion callbacks run on that thread, never inside
// Send(). In-flight requests keep the client's internals alive, so the
// HttpClient may be destroyed while they run (idle connections are closed at
// once).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace dw::providers {

// A parsed absolute http:// or https:// URL.
struct Url {
  bool tls = false;
  std::string host;  // IPv6 literals without brackets
  std::uint16_t port = 0;
  std::string target = "/";  // path and query

  // "scheme://host:port" without the target.
  std::string Origin() const;
};

// kInvalidInput for anything but http(s)://host[:port][/target]; user info
// and fragments are rejected.
Result<Url> ParseUrl(std::string_view text);

struct HttpRequest {
  std::string method = "POST";
  std::string target = "/";
  // Extra header fields. Host, Content-Length and Connection are set by the
  // client; names and values must not contain CR or LF.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Why no HTTP response was obtained.
enum class HttpFailure {
  kNone,       // a complete response was received (any status)
  kTimeout,    // the deadline passed (connect, TLS, write or read)
  kConnect,    // DNS failure, connection refused or unreachable
  kTls,        // TLS handshake failure other than certificate verification
  kTlsVerify,  // the server certificate was not trusted or did not match
  kProtocol,   // the response was not valid HTTP/1.1, or the request was invalid
  kIo,         // the connection was reset or closed mid-exchange
  kTooLarge,   // the response body exceeds max_response_bytes (reading stopped there)
};

struct HttpResponse {
  HttpFailure failure = HttpFailure::kNone;
  std::string failure_detail;  // human-readable, names the origin, no header values
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  bool reused_connection = false;  // served on a pooled connection

  // The first value of a header (name given in lower case), or empty.
  std::string_view Header(std::string_view lower_name) const;
};

struct HttpClientOptions {
  bool verify_tls = true;
  std::string ca_file;  // PEM bundle trusted in addition to the system CAs
  std::size_t max_idle_per_origin = 1024;
  std::size_t max_response_bytes = 8u << 20;
  std::string user_agent = "driftwatch/0.1";
};

struct HttpClientStats {
  std::uint64_t connections_opened = 0;
  std::uint64_t requests_sent = 0;  // includes transparent resends
  std::uint64_t idle_connections = 0;
};

class HttpClient {
 public:
  // The pool and cached addresses of one scheme+host+port.
  struct OriginState;
  using OriginHandle = std::shared_ptr<OriginState>;

  // kInvalidInput if `options.ca_file` cannot be loaded.
  static Result<std::unique_ptr<HttpClient>> Create(boost::asio::io_context& io, HttpClientOptions options);

  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // The pool for `url`'s origin, created on first use. Resolve it once and
  // reuse the handle for many requests.
  OriginHandle Origin(const Url& url);

  // Sends `request` to `origin` and calls `done` exactly once with the
  // response or the failure. `deadline` bounds the whole exchange (taking a
  // connection, DNS, connect, TLS, write, read).
  void Send(const OriginHandle& origin, HttpRequest request, std::chrono::steady_clock::time_point deadline,
            std::function<void(HttpResponse)> done);

  HttpClientStats Stats() const;

  // Closes every pooled idle connection.
  void CloseIdle();

  // The shared state behind the handle (defined in http_client.cc).
  class Impl;

 private:
  explicit HttpClient(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace dw::providers
