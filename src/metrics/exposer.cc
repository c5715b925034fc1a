#include "metrics/exposer.h"

#include <CivetServer.h>

#include <exception>
#include <utility>
#include <vector>

#include "metrics/exposition.h"

namespace dw::metrics {

class MetricsExposer::Handler : public CivetHandler {
 public:
  explicit Handler(Renderer render) : render_(std::move(render)) {}

  bool handleGet(CivetServer*, mg_connection* connection) override {
    std::string body;
    try {
      body = render_();
    } catch (const std::exception& e) {
      mg_send_http_error(connection, 500, "cannot render metrics: %s", e.what());
      return true;
    }
    mg_send_http_ok(connection, std::string(kTextContentType).c_str(),
                    static_cast<long long>(body.size()));
    mg_write(connection, body.data(), body.size());
    return true;
  }

 private:
  Renderer render_;
};

Result<std::unique_ptr<MetricsExposer>> MetricsExposer::Start(const std::string& listen_address,
                                                              Renderer render,
                                                              const std::string& path) {
  if (listen_address.empty())
    return Fail(ErrorKind::kInvalidInput, "metrics listen address is empty");
  if (path.empty() || path.front() != '/')
    return Fail(ErrorKind::kInvalidInput, "metrics path '" + path + "' must start with '/'");
  if (!render) return Fail(ErrorKind::kInvalidInput, "no metrics renderer");
  auto handler = std::make_unique<Handler>(std::move(render));
  std::unique_ptr<CivetServer> server;
  try {
    // Throws CivetException (a std::runtime_error) when binding fails.
    server = std::make_unique<CivetServer>(
        std::vector<std::string>{"listening_ports", listen_address, "num_threads", "2"});
  } catch (const std::exception& e) {
    return Fail(ErrorKind::kUnavailable,
                "cannot serve metrics on " + listen_address + ": " + e.what());
  }
  std::vector<int> ports = server->getListeningPorts();
  if (ports.empty())
    return Fail(ErrorKind::kUnavailable,
                "cannot serve metrics on " + listen_address + ": no listening port");
  server->addHandler(path, handler.get());
  return std::unique_ptr<MetricsExposer>(
      new MetricsExposer(std::move(handler), std::move(server), ports.front()));
}

MetricsExposer::MetricsExposer(std::unique_ptr<Handler> handler,
                               std::unique_ptr<CivetServer> server, int port)
    : handler_(std::move(handler)), server_(std::move(server)), port_(port) {}

MetricsExposer::~MetricsExposer() {
  server_.reset();  // stop serving before the handler goes away
}

}  // namespace dw::metrics
