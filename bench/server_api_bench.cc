// Load benchmark of the serve process on loopback:
//   1. API requests/s and latency percentiles over keep-alive connections,
//      per endpoint (no database, token + list query, token + report);
//   2. jobs/s the PostgreSQL queue sustains with N workers and a runner that
//      does nothing (claim, lease, fence, finish: the queue's own cost).
// Real replays against the fake OpenAI server: bench/api_load.sh.
//
// Database: $DRIFTWATCH_BENCH_PG (libpq key=value without dbname), else an
// embedded cluster under ./bench-pg. A scratch database is created and
// dropped.
//
// Usage: server_api_bench [--requests N] [--connections C] [--jobs M] [--workers W]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "core/golden_case.h"
#include "core/ids.h"
#include "sched/job_queue.h"
#include "sched/worker.h"
#include "server/api.h"
#include "server/http_server.h"
#include "server/tokens.h"
#include "store/embedded_postgres.h"
#include "store/goldenset_repo.h"
#include "store/migrations.h"
#include "store/run_repo.h"

namespace {

using Clock = std::chrono::steady_clock;

int IntFlag(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  return fallback;
}

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "server_api_bench: " << message << "\n";
  std::exit(1);
}

// One keep-alive HTTP/1.1 connection to 127.0.0.1.
class Connection {
 public:
  explicit Connection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Die("cannot connect");
  }
  ~Connection() { close(fd_); }

  // Sends one request and reads its response; returns the status.
  int Get(const std::string& request) {
    if (send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) return 0;
    buffer_.clear();
    size_t header_end = std::string::npos;
    char chunk[65536];
    for (int i = 0; i < 100000 && header_end == std::string::npos; ++i) {
      ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return 0;
      buffer_.append(chunk, static_cast<size_t>(n));
      header_end = buffer_.find("\r\n\r\n");
    }
    if (header_end == std::string::npos) return 0;
    size_t length = 0;
    size_t cl = buffer_.find("Content-Length: ");
    if (cl != std::string::npos && cl < header_end) length = std::strtoul(buffer_.c_str() + cl + 16, nullptr, 10);
    for (int i = 0; i < 100000 && buffer_.size() < header_end + 4 + length; ++i) {
      ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return 0;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
    return std::atoi(buffer_.c_str() + 9);
  }

 private:
  int fd_;
  std::string buffer_;
};

struct LoadResult {
  double seconds = 0;
  std::vector<double> latencies_ms;
  int failures = 0;
};

LoadResult Load(int port, const std::string& request, int total, int connections) {
  LoadResult result;
  std::vector<std::vector<double>> per_thread(static_cast<size_t>(connections));
  std::atomic<int> failures{0};
  const int each = total / connections;
  auto started = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      Connection conn(port);
      auto& mine = per_thread[static_cast<size_t>(c)];
      mine.reserve(static_cast<size_t>(each));
      for (int i = 0; i < each; ++i) {
        auto t0 = Clock::now();
        int status = conn.Get(request);
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (status != 200) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  for (auto& v : per_thread) result.latencies_ms.insert(result.latencies_ms.end(), v.begin(), v.end());
  std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
  result.failures = failures;
  return result;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t index = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

class NoopRunner : public dw::sched::JobRunner {
 public:
  dw::Result<dw::sched::JobOutcome> Run(const dw::sched::Job&, const dw::sched::JobContext&) override {
    return dw::sched::JobOutcome{};
  }
};

}  // namespace

int main(int argc, char** argv) {
  const int requests = IntFlag(argc, argv, "--requests", 20000);
  const int connections = std::max(1, IntFlag(argc, argv, "--connections", 8));
  const int jobs = IntFlag(argc, argv, "--jobs", 2000);
  const int workers = std::max(1, IntFlag(argc, argv, "--workers", 4));

  std::string server;
  if (const char* env = std::getenv("DRIFTWATCH_BENCH_PG"); env && *env) {
    server = env;
  } else {
    auto cluster = dw::store::EnsureEmbeddedCluster("bench-pg", "postgres");
    if (!cluster) Die(cluster.error().message);
    server = cluster->url.substr(0, cluster->url.find(" dbname="));
  }
  const std::string name = "dw_bench_" + std::to_string(getpid());
  try {
    pqxx::connection admin(server + " dbname=postgres");
    pqxx::nontransaction tx(admin);
    tx.exec0("CREATE DATABASE " + name);
  } catch (const std::exception& e) {
    Die(e.what());
  }
  const std::string url = server + " dbname=" + name;
  auto db = dw::store::Database::Connect(url);
  if (!db) Die(db.error().message);
  if (auto m = dw::store::Migrate(**db); !m) Die(m.error().message);

  // Seed: a golden set of 20 cases and 20 finished runs of it.
  dw::store::PublishRequest publish;
  publish.set.name = "bench";
  for (int i = 0; i < 20; ++i) {
    dw::GoldenCase c;
    c.id = "case-" + std::to_string(i);
    c.vars = {{"question", "q" + std::to_string(i)}};
    publish.set.cases.push_back(c);
  }
  publish.source_format = "native";
  publish.published_by = "bench";
  auto version = dw::store::PublishGoldenSet(**db, publish);
  if (!version) Die(version.error().message);
  std::string run_id;
  for (int r = 0; r < 20; ++r) {
    dw::store::RunSpec spec;
    spec.run_id = dw::NewUuid();
    spec.golden_set_version_id = version->id;
    spec.target_name = "sim";
    spec.target_version_hash = std::string(64, 'd');
    spec.target_provider = "sim";
    spec.target_spec = {{"name", "sim"}};
    spec.scorer_name = "bench";
    spec.scorer_spec = {{"engine", "bench"}};
    spec.requested_by = "bench";
    spec.runner_build = "bench";
    spec.runner_host = "bench";
    auto run = dw::store::CreateRun(**db, spec);
    if (!run) Die(run.error().message);
    auto writer = dw::store::ResultWriter::Open(url, run->id);
    if (!writer) Die(writer.error().message);
    for (const auto& c : publish.set.cases) {
      dw::ReplayResult result;
      result.case_id = c.id;
      result.outcome = dw::Outcome::kPass;
      result.score = 1;
      result.output = "answer for " + c.id;
      (void)(*writer)->Add(result);
    }
    (void)(*writer)->Flush();
    (void)dw::store::FinishRun(**db, run->id, "done", {{"results", 20}}, "", "bench");
    run_id = run->id;
  }
  auto token = dw::server::CreateToken(**db, "bench", {dw::server::Scope::kRead}, "bench");
  if (!token) Die(token.error().message);

  dw::server::ApiOptions api_options;
  api_options.rate_per_second = 0;  // measure the server, not the limiter
  api_options.database_connections = 4;
  dw::server::Api api(url, api_options, {});
  dw::server::HttpServerOptions http;
  http.listen = "127.0.0.1:0";
  http.threads = 4;
  auto started = dw::server::HttpServer::Start(http, api.handler());
  if (!started) Die(started.error().message);
  const int port = (*started)->port();

  auto request = [&](const std::string& target, bool auth) {
    std::string r = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (auth) r += "Authorization: Bearer " + token->secret + "\r\n";
    return r + "\r\n";
  };
  struct Case {
    const char* label;
    std::string request;
  };
  const Case cases[] = {
      {"GET /healthz (no database)", request("/healthz", false)},
      {"GET /api/v1/runs?limit=20 (token + list)", request("/api/v1/runs?limit=20", true)},
      {"GET /api/v1/runs/{id}/report (token + 20 results)", request("/api/v1/runs/" + run_id + "/report", true)},
  };
  std::printf("API on loopback: %d requests per endpoint over %d keep-alive connections, 4 server threads\n", requests,
              connections);
  std::printf("%-52s %10s %9s %9s %9s %8s\n", "endpoint", "req/s", "p50 ms", "p99 ms", "max ms", "errors");
  for (const auto& c : cases) {
    (void)Load(port, c.request, std::min(requests, 400), connections);  // warm-up
    LoadResult r = Load(port, c.request, requests, connections);
    std::printf("%-52s %10.0f %9.3f %9.3f %9.3f %8d\n", c.label, static_cast<double>(r.latencies_ms.size()) / r.seconds,
                Percentile(r.latencies_ms, 0.5), Percentile(r.latencies_ms, 0.99),
                r.latencies_ms.empty() ? 0 : r.latencies_ms.back(), r.failures);
  }
  (*started)->Stop(std::chrono::milliseconds(2000));

  // Queue throughput: M jobs over 8 targets with 4 slots each, W workers.
  for (int t = 0; t < 8; ++t)
    if (auto s = dw::sched::SetTargetSlots(**db, "t" + std::to_string(t), 4, "bench"); !s) Die(s.error().message);
  for (int j = 0; j < jobs; ++j) {
    dw::sched::JobSpec spec;
    spec.goldenset = "bench@1";
    spec.target = "t" + std::to_string(j % 8);
    spec.requested_by = "bench";
    if (auto e = dw::sched::EnqueueJob(**db, spec, "bench"); !e) Die(e.error().message);
  }
  NoopRunner runner;
  dw::sched::WorkerPoolOptions options;
  options.database_url = url;
  options.workers = workers;
  options.poll_interval = std::chrono::milliseconds(5);
  options.exit_when_idle = true;
  auto queue_started = Clock::now();
  auto pool = dw::sched::WorkerPool::Start(options, runner);
  if (!pool) Die(pool.error().message);
  if (!(*pool)->Wait(std::chrono::minutes(10))) Die("the workers did not finish within 10 minutes");
  const double queue_seconds = std::chrono::duration<double>(Clock::now() - queue_started).count();
  auto counts = dw::sched::CountJobsByState(**db);
  const long long done = counts ? (*counts)["done"] : -1;
  std::printf("\nqueue: %d jobs, %d workers, no-op runner: %.2f s, %.0f jobs/s (done %lld)\n", jobs, workers,
              queue_seconds, static_cast<double>(done) / queue_seconds, done);
  pool->reset();
  db->reset();
  try {
    pqxx::connection admin(server + " dbname=postgres");
    pqxx::nontransaction tx(admin);
    tx.exec0("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::cerr << "server_api_bench: could not drop " << name << ": " << e.what() << "\n";
  }
  return done == jobs ? 0 : 1;
}
