// A loopback HTTP/1.1 (optionally HTTPS) server for tests, and a throwaway
// PKI to give it certificates.
//
// The server listens on 127.0.0.1 on an ephemeral port and runs its own
// io_context on its own thread, so the code under test can run its
// io_context on the test's thread. Every request goes to a handler callback
// that decides the reply: any status, headers and body, a delay (served by a
// timer: other connections keep being served), raw bytes instead of HTTP, or
// dropping or resetting the connection, or a response sent a few bytes at a
// time. It counts connections and requests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dw::testing {

// A request as the server saw it.
struct TestHttpRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  int connection = 0;         // 0-based index of the accepting connection
  int index_on_connection = 0;  // 0 for the first request on a connection
  std::chrono::steady_clock::time_point received_at;  // when the whole request had been read
};

// What the server does with a request.
struct TestHttpResponse {
  enum class Action {
    kRespond,           // send the response; keep the connection if keep_alive
    kRespondThenClose,  // send it (still advertising keep-alive), then close
    kDrop,              // close the connection without answering
    kRaw,               // send `raw` verbatim, then close
    kReset,             // abort the connection with a TCP reset, without answering
    kDrip,              // send the response (or `raw`, if set) `drip_bytes` at a time,
                        // one piece every `drip_interval`, then close
  };
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json";
  std::chrono::milliseconds delay{0};
  Action action = Action::kRespond;
  bool keep_alive = true;
  std::string raw;
  std::size_t drip_bytes = 1;
  std::chrono::milliseconds drip_interval{10};

  static TestHttpResponse Json(std::string body, int status = 200) {
    TestHttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
};

using TestHttpHandler = std::function<TestHttpResponse(const TestHttpRequest&)>;

struct TestHttpServerOptions {
  // PEM certificate chain and private key: when both are set the server
  // speaks TLS only.
  std::string cert_pem;
  std::string key_pem;
};

// Not copyable. The handler runs on the server thread; the accessors are
// thread-safe. The destructor stops the server and joins its thread.
class TestHttpServer {
 public:
  explicit TestHttpServer(TestHttpHandler handler, TestHttpServerOptions options = {});
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  std::uint16_t port() const;
  // "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT".
  std::string BaseUrl() const;

  int connections() const;
  int requests() const;
  // Copies of every request received so far, in arrival order.
  std::vector<TestHttpRequest> Requests() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// A certificate and its private key, PEM encoded.
struct TestCertificate {
  std::string cert_pem;
  std::string key_pem;
};

// A throwaway certificate authority (ECDSA P-256, valid for a day).
struct TestPki {
  TestCertificate ca;

  // A server certificate signed by this CA for the given DNS names and IP
  // addresses (subjectAltName).
  TestCertificate Issue(const std::vector<std::string>& dns_names, const std::vector<std::string>& ip_addresses) const;
};

// Generates a new CA; throws std::runtime_error if OpenSSL fails.
TestPki MakeTestPki(const std::string& common_name = "driftwatch test CA");

}  // namespace dw::testing
