// Pull mode: a small HTTP server for /metrics.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/status.h"

class CivetServer;

namespace dw::metrics {

// Serves the text exposition produced by a renderer on one path (e.g.
// `driftwatch serve`'s /metrics) from a civetweb server with two worker
// threads. It writes the renderer's text as is (Content-Type
// kTextContentType, no compression), so a scrape costs one render: use
// DriftMetrics::text_renderer(). Other paths answer 404. Destroying the
// MetricsExposer stops the server (civetweb takes up to about 2 s to stop).
class MetricsExposer {
 public:
  // Produces the body of one scrape; called from the server's threads.
  using Renderer = std::function<std::string()>;

  // Binds `listen_address` ("127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464";
  // port 0 picks a free port) and starts serving `render` on `path`.
  // kInvalidInput for an empty address, a path not starting with '/' or no
  // renderer; kUnavailable when the address cannot be bound (in use, no
  // permission, unknown host).
  static Result<std::unique_ptr<MetricsExposer>> Start(const std::string& listen_address,
                                                       Renderer render,
                                                       const std::string& path = "/metrics");

  ~MetricsExposer();
  MetricsExposer(const MetricsExposer&) = delete;
  MetricsExposer& operator=(const MetricsExposer&) = delete;

  // The TCP port actually bound (useful after binding port 0).
  int port() const { return port_; }

 private:
  class Handler;
  MetricsExposer(std::unique_ptr<Handler> handler, std::unique_ptr<CivetServer> server, int port);

  std::unique_ptr<Handler> handler_;
  std::unique_ptr<CivetServer> server_;  // declared after handler_: stops first
  int port_;
};

}  // namespace dw::metrics
