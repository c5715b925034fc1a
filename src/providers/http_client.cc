#include "providers/http_client.h"

#include <map>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

namespace dw::providers {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

bool EqualsNoCase(std::string_view a, std::string_view b) { return a.size() == b.size() && StartsWithNoCase(a, b); }

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string BracketHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

std::string Url::Origin() const {
  return std::string(tls ? "https://" : "http://") + BracketHost(host) + ":" + std::to_string(port);
}

Result<Url> ParseUrl(std::string_view text) {
  auto fail = [&](const std::string& why) {
    return Fail(ErrorKind::kInvalidInput, "invalid URL '" + std::string(text) + "': " + why);
  };
  Url url;
  std::string_view rest;
  if (StartsWithNoCase(text, "https://")) {
    url.tls = true;
    rest = text.substr(8);
  } else if (StartsWithNoCase(text, "http://")) {
    rest = text.substr(7);
  } else {
    return fail("expected http:// or https://");
  }
  size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return fail("user info is not supported");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("unterminated IPv6 literal");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected text after IPv6 literal");
      port_text = after.substr(1);
      if (port_text.empty()) return fail("empty port");
    }
  } else {
    size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return fail("empty port");
    }
  }
  if (url.host.empty()) return fail("missing host");
  for (char c : url.host)
    if (static_cast<unsigned char>(c) <= ' ') return fail("invalid host");
  if (!port_text.empty()) {
    unsigned long port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) return fail("invalid port");
      port = port * 10 + static_cast<unsigned long>(c - '0');
    }
    if (port == 0 || port > 65535) return fail("invalid port");
    url.port = static_cast<std::uint16_t>(port);
  } else {
    url.port = url.tls ? 443 : 80;
  }
  if (target.find('#') != std::string_view::npos) return fail("fragments are not supported");
  for (char c : target)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return fail("the path contains a space or control character");
  if (target.empty()) {
    url.target = "/";
  } else if (target.front() == '?') {
    url.target = "/" + std::string(target);
  } else {
    url.target = std::string(target);
  }
  return url;
}

std::string_view HttpResponse::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return value;
  return {};
}

namespace {

// One kept-alive connection, plain or TLS.
class Connection {
 public:
  explicit Connection(asio::io_context& io) { plain_.emplace(io); }
  Connection(asio::io_context& io, ssl::context& tls_context) { tls_.emplace(io, tls_context); }

  beast::tcp_stream& Lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }
  beast::ssl_stream<beast::tcp_stream>* Tls() { return tls_ ? &*tls_ : nullptr; }

  template <class F>
  void Visit(F&& f) {
    if (tls_)
      f(*tls_);
    else
      f(*plain_);
  }

  void Close() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().close();
  }

  beast::flat_buffer read_buffer;
  std::string write_buffer;

 private:
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
};

}  // namespace

struct HttpClient::OriginState {
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string host_header;
  std::string label;  // scheme://host:port, for messages
  bool host_is_ip = false;
  std::vector<tcp::endpoint> endpoints;  // cached resolution
  std::vector<std::shared_ptr<Connection>> idle;
};

class HttpClient::Impl : public std::enable_shared_from_this<HttpClient::Impl> {
 public:
  Impl(asio::io_context& io, HttpClientOptions options)
      : io_(io), options_(std::move(options)), tls_context_(ssl::context::tls_client) {}

  Status Init() {
    tls_context_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                             ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (!options_.verify_tls) {
      tls_context_.set_verify_mode(ssl::verify_none);
      return Ok();
    }
    tls_context_.set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    if (!options_.ca_file.empty()) {
      tls_context_.load_verify_file(options_.ca_file, ec);
      if (ec)
        return Fail(ErrorKind::kInvalidInput, "cannot load CA file '" + options_.ca_file + "': " + ec.message());
    }
    return Ok();
  }

  OriginHandle Origin(const Url& url) {
    std::string key = url.Origin();
    auto it = origins_.find(key);
    if (it != origins_.end()) return it->second;
    if (url.tls && options_.verify_tls && !system_cas_loaded_) {
      // Parsing the system bundle costs tens of milliseconds of CPU, so it
      // waits for the first HTTPS origin. A failure leaves only ca_file
      // trusted, which surfaces as a certificate verification error.
      beast::error_code ec;
      tls_context_.set_default_verify_paths(ec);
      system_cas_loaded_ = true;
    }
    auto origin = std::make_shared<OriginState>();
    origin->tls = url.tls;
    origin->host = url.host;
    origin->port = url.port;
    origin->label = key;
    origin->host_header = BracketHost(url.host);
    if (url.port != (url.tls ? 443 : 80)) origin->host_header += ":" + std::to_string(url.port);
    beast::error_code ec;
    auto address = asio::ip::make_address(url.host, ec);
    if (!ec) {
      origin->host_is_ip = true;
      origin->endpoints.emplace_back(address, url.port);
    }
    origins_.emplace(std::move(key), origin);
    return origin;
  }

  void CloseIdle() {
    for (auto& [key, origin] : origins_) {
      for (auto& connection : origin->idle) connection->Close();
      origin->idle.clear();
    }
  }

  HttpClientStats Stats() const {
    HttpClientStats stats = stats_;
    for (const auto& [key, origin] : origins_) stats.idle_connections += origin->idle.size();
    return stats;
  }

  asio::io_context& io() { return io_; }
  const HttpClientOptions& options() const { return options_; }
  ssl::context& tls_context() { return tls_context_; }
  HttpClientStats& mutable_stats() { return stats_; }

 private:
  asio::io_context& io_;
  HttpClientOptions options_;
  ssl::context tls_context_;
  std::map<std::string, OriginHandle> origins_;
  HttpClientStats stats_;
  bool system_cas_loaded_ = false;
};

namespace {

// One request/response exchange: take or open a connection, write, read,
// give the connection back.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(std::shared_ptr<HttpClient::Impl> client, HttpClient::OriginHandle origin, HttpRequest request,
           Clock::time_point deadline, std::function<void(HttpResponse)> done)
      : client_(std::move(client)),
        origin_(std::move(origin)),
        request_(std::move(request)),
        deadline_(deadline),
        done_(std::move(done)) {}

  void Start() {
    std::string invalid = ValidateRequest();
    if (!invalid.empty() || Clock::now() >= deadline_) {
      HttpFailure failure = invalid.empty() ? HttpFailure::kTimeout : HttpFailure::kProtocol;
      if (invalid.empty()) invalid = "deadline passed before the request to " + origin_->label + " was sent";
      asio::post(client_->io(), [self = shared_from_this(), failure, invalid] { self->Finish(failure, invalid); });
      return;
    }
    if (!origin_->idle.empty()) {
      connection_ = std::move(origin_->idle.back());
      origin_->idle.pop_back();
      reused_ = true;
      Write();
      return;
    }
    Connect();
  }

 private:
  std::string ValidateRequest() const {
    if (request_.method.empty() || HasLineBreak(request_.method) || request_.method.find(' ') != std::string::npos)
      return "invalid HTTP method";
    if (request_.target.empty() || request_.target.front() != '/' || HasLineBreak(request_.target) ||
        request_.target.find(' ') != std::string::npos)
      return "invalid request target";
    for (const auto& [name, value] : request_.headers) {
      if (name.empty() || HasLineBreak(name) || HasLineBreak(value) || name.find(':') != std::string::npos)
        return "invalid header field '" + (HasLineBreak(name) ? std::string("?") : name) + "'";
    }
    return {};
  }

  void Connect() {
    auto& io = client_->io();
    connection_ = origin_->tls ? std::make_shared<Connection>(io, client_->tls_context())
                               : std::make_shared<Connection>(io);
    ++client_->mutable_stats().connections_opened;
    if (!origin_->endpoints.empty()) {
      TcpConnect();
      return;
    }
    resolver_.emplace(io);
    resolve_timer_.emplace(io, deadline_);
    resolve_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->resolve_timed_out_ = true;
      self->resolver_->cancel();
    });
    resolver_->async_resolve(origin_->host, std::to_string(origin_->port),
                             beast::bind_front_handler(&Exchange::OnResolved, shared_from_this()));
  }

  void OnResolved(beast::error_code ec, tcp::resolver::results_type results) {
    resolve_timer_->cancel();
    if (resolve_timed_out_) return Finish(HttpFailure::kTimeout, "timed out resolving " + origin_->host);
    if (ec) return Finish(HttpFailure::kConnect, "cannot resolve " + origin_->host + ": " + ec.message());
    origin_->endpoints.clear();
    for (const auto& entry : results) origin_->endpoints.push_back(entry.endpoint());
    if (origin_->endpoints.empty()) return Finish(HttpFailure::kConnect, "no address for " + origin_->host);
    TcpConnect();
  }

  void TcpConnect() {
    connection_->Lowest().expires_at(deadline_);
    connection_->Lowest().async_connect(origin_->endpoints,
                                        beast::bind_front_handler(&Exchange::OnConnected, shared_from_this()));
  }

  void OnConnected(beast::error_code ec, const tcp::endpoint&) {
    if (ec == beast::error::timeout) return Finish(HttpFailure::kTimeout, "timed out connecting to " + origin_->label);
    if (ec) {
      if (!origin_->host_is_ip) origin_->endpoints.clear();
      return Finish(HttpFailure::kConnect, "cannot connect to " + origin_->label + ": " + ec.message());
    }
    beast::error_code ignored;
    connection_->Lowest().socket().set_option(tcp::no_delay(true), ignored);
    auto* tls = connection_->Tls();
    if (tls == nullptr) return Write();
    SSL* native = tls->native_handle();
    if (!origin_->host_is_ip) SSL_set_tlsext_host_name(native, origin_->host.c_str());
    if (client_->options().verify_tls) {
      int set = origin_->host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(native), origin_->host.c_str())
                                    : SSL_set1_host(native, origin_->host.c_str());
      if (set != 1) return Finish(HttpFailure::kTls, "cannot set up host verification for " + origin_->label);
    }
    connection_->Lowest().expires_at(deadline_);
    tls->async_handshake(ssl::stream_base::client,
                         beast::bind_front_handler(&Exchange::OnHandshake, shared_from_this()));
  }

  void OnHandshake(beast::error_code ec) {
    if (ec == beast::error::timeout)
      return Finish(HttpFailure::kTimeout, "timed out in the TLS handshake with " + origin_->label);
    if (ec) {
      long verify = SSL_get_verify_result(connection_->Tls()->native_handle());
      if (verify != X509_V_OK)
        return Finish(HttpFailure::kTlsVerify, "TLS certificate verification failed for " + origin_->label + ": " +
                                                   X509_verify_cert_error_string(verify));
      return Finish(HttpFailure::kTls, "TLS handshake with " + origin_->label + " failed: " + ec.message());
    }
    Write();
  }

  void Serialize() {
    std::string& out = connection_->write_buffer;
    out.clear();
    out.reserve(256 + request_.body.size());
    out.append(request_.method).append(" ").append(request_.target).append(" HTTP/1.1\r\nHost: ");
    out.append(origin_->host_header).append("\r\nUser-Agent: ").append(client_->options().user_agent);
    out.append("\r\n");
    for (const auto& [name, value] : request_.headers) {
      if (EqualsNoCase(name, "host") || EqualsNoCase(name, "content-length") || EqualsNoCase(name, "connection") ||
          EqualsNoCase(name, "user-agent") || EqualsNoCase(name, "transfer-encoding"))
        continue;
      out.append(name).append(": ").append(value).append("\r\n");
    }
    if (!request_.body.empty() || request_.method == "POST" || request_.method == "PUT" ||
        request_.method == "PATCH") {
      out.append("Content-Length: ").append(std::to_string(request_.body.size())).append("\r\n");
    }
    out.append("\r\n").append(request_.body);
  }

  void Write() {
    Serialize();
    ++client_->mutable_stats().requests_sent;
    connection_->Lowest().expires_at(deadline_);
    connection_->Visit([&](auto& stream) {
      asio::async_write(stream, asio::buffer(connection_->write_buffer),
                        beast::bind_front_handler(&Exchange::OnWritten, shared_from_this()));
    });
  }

  void OnWritten(beast::error_code ec, std::size_t) {
    if (ec == beast::error::timeout)
      return Finish(HttpFailure::kTimeout, "timed out sending the request to " + origin_->label);
    if (ec) {
      if (CanResend()) return Resend();
      return Finish(HttpFailure::kIo, "sending the request to " + origin_->label + " failed: " + ec.message());
    }
    Read();
  }

  // The header first, then the body: a body declared larger than the limit
  // is refused before any of it is read.
  void Read() {
    parser_.emplace();
    parser_->body_limit(client_->options().max_response_bytes);
    if (request_.method == "HEAD") parser_->skip(true);
    connection_->Lowest().expires_at(deadline_);
    connection_->Visit([&](auto& stream) {
      http::async_read_header(stream, connection_->read_buffer, *parser_,
                              beast::bind_front_handler(&Exchange::OnHeader, shared_from_this()));
    });
  }

  void OnHeader(beast::error_code ec, std::size_t bytes) {
    if (ec) return OnRead(ec, bytes);
    // Beast 1.74 skips its own Content-Length check when the header arrived
    // in more than one piece.
    if (auto length = parser_->content_length(); length && *length > client_->options().max_response_bytes)
      return FinishTooLarge();
    if (parser_->is_done()) return OnRead(ec, bytes);
    connection_->Visit([&](auto& stream) {
      http::async_read(stream, connection_->read_buffer, *parser_,
                       beast::bind_front_handler(&Exchange::OnRead, shared_from_this()));
    });
  }

  void FinishTooLarge() {
    Finish(HttpFailure::kTooLarge, "the response from " + origin_->label + " exceeds the limit of " +
                                       std::to_string(client_->options().max_response_bytes) +
                                       " bytes (max_response_bytes)");
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec == beast::error::timeout)
      return Finish(HttpFailure::kTimeout, "timed out waiting for the response from " + origin_->label);
    if (ec) {
      if (!parser_->got_some() && CanResend()) return Resend();
      if (ec == http::error::body_limit) return FinishTooLarge();
      static const auto& http_category = http::make_error_code(http::error::need_more).category();
      const bool closed = ec == http::error::end_of_stream || ec == asio::error::eof ||
                          ec == asio::ssl::error::stream_truncated;
      if (ec.category() == http_category && !closed) {
        return Finish(HttpFailure::kProtocol, "invalid HTTP response from " + origin_->label + ": " + ec.message());
      }
      return Finish(HttpFailure::kIo, "reading the response from " + origin_->label + " failed: " + ec.message());
    }
    auto& message = parser_->get();
    HttpResponse response;
    response.status = static_cast<int>(message.result_int());
    response.headers.reserve(8);
    for (const auto& field : message) {
      auto name = field.name_string();
      auto value = field.value();
      response.headers.emplace_back(Lower(std::string_view(name.data(), name.size())),
                                    std::string(value.data(), value.size()));
    }
    response.body = std::move(message.body());
    response.reused_connection = reused_;
    if (message.keep_alive() && origin_->idle.size() < client_->options().max_idle_per_origin) {
      connection_->Lowest().expires_never();
      origin_->idle.push_back(std::move(connection_));
    } else {
      connection_->Close();
    }
    connection_.reset();
    parser_.reset();
    auto done = std::move(done_);
    done(std::move(response));
  }

  bool CanResend() const { return reused_ && !resent_; }

  void Resend() {
    resent_ = true;
    reused_ = false;
    connection_->Close();
    connection_.reset();
    Connect();
  }

  void Finish(HttpFailure failure, std::string detail) {
    if (connection_) {
      connection_->Close();
      connection_.reset();
    }
    HttpResponse response;
    response.failure = failure;
    response.failure_detail = std::move(detail);
    response.reused_connection = reused_;
    auto done = std::move(done_);
    done(std::move(response));
  }

  std::shared_ptr<HttpClient::Impl> client_;
  HttpClient::OriginHandle origin_;
  HttpRequest request_;
  Clock::time_point deadline_;
  std::function<void(HttpResponse)> done_;
  std::shared_ptr<Connection> connection_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::optional<tcp::resolver> resolver_;
  std::optional<asio::steady_timer> resolve_timer_;
  bool resolve_timed_out_ = false;
  bool reused_ = false;
  bool resent_ = false;
};

}  // namespace

Result<std::unique_ptr<HttpClient>> HttpClient::Create(asio::io_context& io, HttpClientOptions options) {
  auto impl = std::make_shared<Impl>(io, std::move(options));
  if (auto status = impl->Init(); !status) return Fail(std::move(status.error()));
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

HttpClient::HttpClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpClient::~HttpClient() { impl_->CloseIdle(); }

HttpClient::OriginHandle HttpClient::Origin(const Url& url) { return impl_->Origin(url); }

void HttpClient::Send(const OriginHandle& origin, HttpRequest request, Clock::time_point deadline,
                      std::function<void(HttpResponse)> done) {
  std::make_shared<Exchange>(impl_, origin, std::move(request), deadline, std::move(done))->Start();
}

HttpClientStats HttpClient::Stats() const { return impl_->Stats(); }

void HttpClient::CloseIdle() { impl_->CloseIdle(); }

}  // namespace dw::providers
