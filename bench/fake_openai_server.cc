// A fake OpenAI-compatible chat-completions server for benchmarks, on
// 127.0.0.1 only: the same answers as shared/bench/fake_openai.js ("echo: "
// + the last user message, usage counts, fingerprint fp_fake1), but cheap
// enough (one thread, Beast) that it does not compete with the program being
// measured for the machine's two cores.
//
//   PORT=0 LATENCY_MS=50 fake_openai_server      # prints "port N" on stdout
//
// GET /stats answers {"served": N, "open_connections": N, "accepted": N,
// "call_connections": N} (call_connections: connections that carried at least
// one completion request, so not the /stats requests), so a soak can check
// from the server's side that connections are reused and do not leak. Exits
// on SIGINT/SIGTERM, or by itself after MAX_SECONDS (default 7200).
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Counters {
  unsigned long long served = 0;
  unsigned long long accepted = 0;
  unsigned long long call_connections = 0;
  long long open = 0;
};

long EnvNumber(const char* name, long fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::strtol(value, nullptr, 10) : fallback;
}

// The completion body for a request body, or nullopt when it is not JSON.
std::optional<std::string> Completion(const std::string& request_body, unsigned long long id) {
  auto request = nlohmann::json::parse(request_body.empty() ? "{}" : request_body, nullptr, false);
  if (request.is_discarded()) return std::nullopt;
  std::string message;
  if (request.is_object() && request.contains("messages") && request["messages"].is_array()) {
    for (const auto& m : request["messages"]) {
      if (!m.is_object() || m.value("role", "") != "user" || !m.contains("content")) continue;
      message = m["content"].is_string() ? m["content"].get<std::string>() : m["content"].dump();
    }
  }
  auto quarter = static_cast<long long>(message.size() >> 2);
  nlohmann::json out = {{"id", "cmpl-" + std::to_string(id)},
                        {"object", "chat.completion"},
                        {"created", 1700000000},
                        {"model", "fake-model-1"},
                        {"system_fingerprint", "fp_fake1"},
                        {"choices",
                         {{{"index", 0},
                           {"message", {{"role", "assistant"}, {"content", "echo: " + message}}},
                           {"finish_reason", "stop"}}}},
                        {"usage",
                         {{"prompt_tokens", quarter},
                          {"completion_tokens", quarter + 2},
                          {"total_tokens", static_cast<long long>(message.size() >> 1) + 2}}}};
  return out.dump();
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Counters& counters, std::chrono::milliseconds latency)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), counters_(counters), latency_(latency) {
    ++counters_.accepted;
    ++counters_.open;
  }
  ~Session() { --counters_.open; }

  void Read() {
    parser_.emplace();
    parser_->body_limit(16u << 20);
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec) return Close();
    auto& request = parser_->get();
    response_ = {};
    response_.version(11);
    response_.keep_alive(request.keep_alive());
    response_.set(http::field::content_type, "application/json");
    if (request.method() == http::verb::get && request.target() == "/stats") {
      response_.body() = nlohmann::json({{"served", counters_.served},
                                         {"open_connections", counters_.open},
                                         {"accepted", counters_.accepted},
                                         {"call_connections", counters_.call_connections}})
                             .dump();
      return Write(false);
    }
    if (!carried_call_) {
      carried_call_ = true;
      ++counters_.call_connections;
    }
    auto body = Completion(request.body(), counters_.served);
    if (!body) {
      response_.result(http::status::bad_request);
      response_.body() = R"({"error":{"message":"bad json"}})";
      return Write(false);
    }
    response_.result(http::status::ok);
    response_.body() = std::move(*body);
    if (latency_.count() <= 0) return Write(true);
    timer_.expires_after(latency_);
    timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (wait_ec) return self->Close();
      self->Write(true);
    });
  }

  void Write(bool completion) {
    if (completion) ++counters_.served;
    response_.prepare_payload();
    http::async_write(socket_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec || !self->response_.keep_alive()) return self->Close();
      self->Read();
    });
  }

  void Close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  Counters& counters_;
  std::chrono::milliseconds latency_;
  bool carried_call_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
};

void Accept(tcp::acceptor& acceptor, Counters& counters, std::chrono::milliseconds latency) {
  acceptor.async_accept([&acceptor, &counters, latency](beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Session>(std::move(socket), counters, latency)->Read();
    }
    if (acceptor.is_open()) Accept(acceptor, counters, latency);
  });
}

}  // namespace

int main() {
  asio::io_context io(1);
  Counters counters;
  const auto latency = std::chrono::milliseconds(EnvNumber("LATENCY_MS", 0));
  tcp::acceptor acceptor(io);
  try {
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(EnvNumber("PORT", 0)));
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    std::cerr << "fake_openai_server: cannot listen: " << e.what() << "\n";
    return 1;
  }
  std::cout << "port " << acceptor.local_endpoint().port() << std::endl;
  Accept(acceptor, counters, latency);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](beast::error_code, int) { io.stop(); });
  asio::steady_timer lifetime(io, std::chrono::seconds(EnvNumber("MAX_SECONDS", 7200)));
  lifetime.async_wait([&io](beast::error_code ec) {
    if (!ec) io.stop();
  });
  io.run();
  return 0;
}
