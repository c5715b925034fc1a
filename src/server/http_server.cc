#include "server/http_server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <unordered_map>

namespace dw::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

HttpReply JsonError(int status, const std::string& code, const std::string& message) {
  HttpReply reply;
  reply.status = status;
  nlohmann::json body = {{"error", {{"status", status}, {"code", code}, {"message", message}}}};
  reply.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return reply;
}

namespace {

using RequestParser = http::request_parser<http::string_body>;

void ApplyLimits(RequestParser& parser, const HttpServerOptions& options) {
  parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
  parser.body_limit(options.max_body_bytes);
}

// The reply for a request that could not be read, or nullopt when the
// connection should just close (timeout, peer gone, nothing received).
std::optional<HttpReply> ReadErrorReply(beast::error_code ec, bool got_some, const HttpServerOptions& options) {
  if (ec == http::error::body_limit)
    return JsonError(413, "payload_too_large",
                     "the request body exceeds " + std::to_string(options.max_body_bytes) + " bytes");
  if (ec == http::error::header_limit)
    return JsonError(431, "headers_too_large",
                     "the request headers exceed " + std::to_string(options.max_header_bytes) + " bytes");
  if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
      !got_some)
    return std::nullopt;
  return JsonError(400, "bad_request", "malformed HTTP request: " + ec.message());
}

HttpRequestData ToRequestData(const RequestParser::value_type& req) {
  HttpRequestData data;
  data.method = std::string(req.method_string());
  data.target = std::string(req.target());
  for (const auto& field : req) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto [it, inserted] = data.headers.emplace(name, std::string(field.value()));
    if (!inserted) it->second += ", " + std::string(field.value());
  }
  data.body = req.body();
  return data;
}

}  // namespace

ParsedHttpRequest ParseHttpRequest(std::string_view bytes, const HttpServerOptions& options) {
  ParsedHttpRequest parsed;
  RequestParser parser;
  ApplyLimits(parser, options);
  parser.eager(true);
  beast::error_code ec;
  while (!ec && !parser.is_done()) {
    if (bytes.empty()) {
      // Beast requires some bytes before an end of file (it asserts).
      if (!parser.got_some()) {
        ec = http::error::end_of_stream;
        break;
      }
      parser.put_eof(ec);
      if (!ec) ec = http::error::partial_message;
      break;
    }
    const std::size_t used = parser.put(net::buffer(bytes.data(), bytes.size()), ec);
    bytes.remove_prefix(used);
    if (ec == http::error::need_more) {
      ec = {};
      if (used == 0) bytes = {};  // the rest is an incomplete header
    }
  }
  if (ec) {
    parsed.error = ReadErrorReply(ec, true, options)
                       .value_or(JsonError(400, "bad_request", "malformed HTTP request: " + ec.message()));
    return parsed;
  }
  parsed.request = ToRequestData(parser.get());
  parsed.keep_alive = parser.get().keep_alive();
  return parsed;
}

class Session;

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions o, HttpHandler h) : options(std::move(o)), handler(std::move(h)), ioc(options.threads) {}

  void Register(Session* s, std::weak_ptr<Session> w) {
    std::lock_guard<std::mutex> lock(mu);
    sessions.emplace(s, std::move(w));
  }
  void Unregister(Session* s) {
    {
      std::lock_guard<std::mutex> lock(mu);
      sessions.erase(s);
    }
    cv.notify_all();
  }
  int connections() {
    std::lock_guard<std::mutex> lock(mu);
    return static_cast<int>(sessions.size());
  }

  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);

  // Declared before ioc: pending handlers destroyed with ioc still use them.
  HttpServerOptions options;
  HttpHandler handler;
  std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> requests{0};
  std::uint16_t port = 0;
  std::mutex stop_mu;
  bool joined = false;

  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, HttpServer::Impl& server) : stream_(std::move(socket)), server_(server) {
    beast::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = endpoint.address().to_string();
  }
  ~Session() { server_.Unregister(this); }

  void Run() { net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::Read, shared_from_this())); }

  void CloseIfIdle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_) self->Shutdown();
    });
  }

 private:
  void Read() {
    busy_ = false;
    if (server_.stopping) return Shutdown();
    parser_.emplace();
    ApplyLimits(*parser_, server_.options);
    stream_.expires_after(server_.options.idle_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    busy_ = true;
    if (ec) {
      if (auto reply = ReadErrorReply(ec, parser_->got_some(), server_.options)) return Reply(std::move(*reply), false);
      return Shutdown();
    }
    HttpRequestData data = ToRequestData(parser_->get());
    data.remote_address = remote_;
    const bool keep_alive = parser_->get().keep_alive();
    HttpReply reply;
    try {
      reply = server_.handler(data);
    } catch (...) {
      reply = JsonError(500, "internal", "internal error");
    }
    ++server_.requests;
    Reply(std::move(reply), keep_alive && !server_.stopping);
  }

  void Reply(HttpReply reply, bool keep_alive) {
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(reply.status));
    response_.set(http::field::server, "driftwatch");
    response_.set(http::field::content_type, reply.content_type);
    response_.set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : reply.headers) response_.set(name, value);
    response_.body() = std::move(reply.body);
    response_.keep_alive(keep_alive);
    response_.prepare_payload();
    stream_.expires_after(server_.options.idle_timeout);
    http::async_write(stream_, response_, beast::bind_front_handler(&Session::OnWrite, shared_from_this(), keep_alive));
  }

  void OnWrite(bool keep_alive, beast::error_code ec, std::size_t) {
    if (ec || !keep_alive) return Shutdown();
    Read();
  }

  void Shutdown() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::string remote_;
  bool busy_ = false;
};

void HttpServer::Impl::Accept() {
  acceptor->async_accept(net::make_strand(ioc),
                         [this](beast::error_code ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping || !acceptor->is_open()) return;
  if (!ec) {
    if (connections() >= options.max_connections) {
      static const std::string kBusy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
          "Content-Length: 92\r\n\r\n"
          "{\"error\":{\"status\":503,\"code\":\"too_many_connections\",\"message\":\"too many open connections\"}}";
      beast::error_code ignored;
      net::write(socket, net::buffer(kBusy), ignored);
      socket.close(ignored);
    } else {
      auto session = std::make_shared<Session>(std::move(socket), *this);
      Register(session.get(), session);
      session->Run();
    }
  }
  Accept();
}

HttpServer::HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(std::chrono::milliseconds(5000)); }

std::uint16_t HttpServer::port() const { return impl_->port; }

std::uint64_t HttpServer::requests() const { return impl_->requests; }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options, HttpHandler handler) {
  if (!handler) return Fail(ErrorKind::kInvalidInput, "the HTTP server needs a handler");
  if (options.threads < 1 || options.threads > 64)
    return Fail(ErrorKind::kInvalidInput, "HTTP threads must be between 1 and 64");
  if (options.max_connections < 1) return Fail(ErrorKind::kInvalidInput, "max_connections must be positive");
  const std::string& listen = options.listen;
  std::string host, port_text;
  if (!listen.empty() && listen.front() == '[') {
    size_t close = listen.find("]:");
    if (close == std::string::npos)
      return Fail(ErrorKind::kInvalidInput, "listen address '" + listen + "' is not [v6-address]:port");
    host = listen.substr(1, close - 1);
    port_text = listen.substr(close + 2);
  } else {
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0)
      return Fail(ErrorKind::kInvalidInput, "listen address '" + listen + "' is not host:port");
    host = listen.substr(0, colon);
    port_text = listen.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(port_text) > 65535)
    return Fail(ErrorKind::kInvalidInput, "listen address '" + listen + "' has an invalid port");
  auto impl = std::make_shared<Impl>(options, std::move(handler));
  beast::error_code ec;
  net::ip::address address = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return Fail(ErrorKind::kInvalidInput, "listen address '" + listen + "': '" + host + "' is not an IP address");
  tcp::endpoint endpoint(address, static_cast<std::uint16_t>(std::stoi(port_text)));
  impl->acceptor.emplace(net::make_strand(impl->ioc));
  auto fail = [&](const std::string& what) {
    return Fail(ErrorKind::kUnavailable, "cannot " + what + " " + listen + ": " + ec.message());
  };
  impl->acceptor->open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  impl->acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("configure");
  impl->acceptor->bind(endpoint, ec);
  if (ec) return fail("bind");
  impl->acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  impl->port = impl->acceptor->local_endpoint(ec).port();
  impl->Accept();
  for (int i = 0; i < options.threads; ++i) impl->threads.emplace_back([raw = impl.get()] { raw->ioc.run(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::Stop(std::chrono::milliseconds deadline) {
  Impl& impl = *impl_;
  std::lock_guard<std::mutex> stop_lock(impl.stop_mu);
  if (impl.joined) return;
  impl.stopping = true;
  net::post(impl.acceptor->get_executor(), [&impl] {
    beast::error_code ec;
    impl.acceptor->close(ec);
  });
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard<std::mutex> lock(impl.mu);
    for (auto& [raw, weak] : impl.sessions)
      if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open) s->CloseIfIdle();
  open.clear();
  {
    std::unique_lock<std::mutex> lock(impl.mu);
    impl.cv.wait_for(lock, deadline, [&] { return impl.sessions.empty(); });
  }
  impl.ioc.stop();
  for (auto& t : impl.threads)
    if (t.joinable()) t.join();
  impl.joined = true;
}

}  // namespace dw::server
