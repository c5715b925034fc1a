// Helpers for tests that talk to real programs: promtool, Prometheus and the
// Pushgateway, always on 127.0.0.1.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dw::testing {

// Exit status and combined stdout+stderr of a finished command.
struct CommandResult {
  int exit_code = -1;  // -1 if it could not be run or was killed by a signal
  std::string output;
};

// Runs `argv` with `input` on stdin and waits for it to finish.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input,
                         const std::filesystem::path& work_dir);

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreeLoopbackPort();

// Status (0 on a transport failure) and body of an HTTP request.
struct HttpResponse {
  long status = 0;
  std::string content_type;
  std::string body;
};
HttpResponse HttpGet(const std::string& url);

// A background process with stdout/stderr in `log`; SIGTERM and reap on
// destruction.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool running() const { return pid_ > 0; }
  // Sends SIGTERM and waits (at most 5 s, then SIGKILL).
  void Stop();

 private:
  pid_t pid_ = -1;
};

// A Pushgateway on a free loopback port in `dir`, ready when constructed
// (or `ready()` is false and `log()` says why).
class Pushgateway {
 public:
  explicit Pushgateway(const std::filesystem::path& dir);

  bool ready() const { return ready_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const;
  // The samples on the gateway's own /metrics that start with `prefix`.
  std::vector<std::string> Samples(const std::string& prefix) const;
  void Stop() { process_->Stop(); }

 private:
  std::filesystem::path log_path_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
  bool ready_ = false;
};

// Polls `url` until it answers HTTP 200 or `timeout` passes.
bool WaitUntilReady(const std::string& url, std::chrono::milliseconds timeout);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string UrlEncode(const std::string& text);

// The body of GET `url` parsed as JSON; discarded (is_discarded()) when the
// request failed or the body is not JSON.
nlohmann::json GetJson(const std::string& url);

// Starts `argv_for(port)` on free loopback ports until `ready_path` answers
// HTTP 200 (three attempts: a probed port can be taken before the server
// binds it), with stdout/stderr in `log`. Null when it never became ready;
// `*port` is the port it listens on.
std::unique_ptr<ChildProcess> StartServer(const std::function<std::vector<std::string>(int)>& argv_for,
                                          const std::string& ready_path, const std::filesystem::path& log, int* port);

// A Prometheus (Debian's `prometheus`) on a free loopback port with
// `config_yaml` as its configuration and its TSDB under `dir`; ready when
// constructed (or `ready()` is false and `log()` says why). Stopped on
// destruction.
class Prometheus {
 public:
  Prometheus(const std::filesystem::path& dir, const std::string& config_yaml);

  bool ready() const { return process_ != nullptr; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const;
  // The result vector of the instant query `expr`; null when the query
  // failed.
  nlohmann::json Query(const std::string& expr) const;

 private:
  std::filesystem::path log_path_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace dw::testing
