#include "support/processes.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/temp_dir.h"

extern char** environ;

namespace dw::testing {
namespace {

// Starts `argv` with stdin from `in` and stdout+stderr to `out`; -1 on failure.
pid_t Spawn(const std::vector<std::string>& argv, const std::filesystem::path& in, const std::filesystem::path& out) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Waits for `pid` up to `timeout`; true if it was reaped.
bool WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::size_t Append(char* data, std::size_t size, std::size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

}  // namespace

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input,
                         const std::filesystem::path& work_dir) {
  auto in = work_dir / "command.stdin";
  auto out = work_dir / "command.out";
  std::ofstream(in, std::ios::binary) << input;
  CommandResult result;
  pid_t pid = Spawn(argv, in, out);
  if (pid < 0) return result;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  result.output = ReadFile(out);
  return result;
}

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

HttpResponse HttpGet(const std::string& url) {
  HttpResponse response;
  CURL* curl = curl_easy_init();
  if (!curl) return response;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    char* content_type = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type);
    if (content_type) response.content_type = content_type;
  }
  curl_easy_cleanup(curl);
  return response;
}

bool WaitUntilReady(const std::string& url, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (HttpGet(url).status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string UrlEncode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

nlohmann::json GetJson(const std::string& url) {
  return nlohmann::json::parse(HttpGet(url).body, nullptr, /*allow_exceptions=*/false);
}

std::unique_ptr<ChildProcess> StartServer(const std::function<std::vector<std::string>(int)>& argv_for,
                                          const std::string& ready_path, const std::filesystem::path& log, int* port) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    *port = FreeLoopbackPort();
    auto process = std::make_unique<ChildProcess>(argv_for(*port), log);
    if (process->running() &&
        WaitUntilReady("http://127.0.0.1:" + std::to_string(*port) + ready_path, std::chrono::seconds(20)))
      return process;
  }
  return nullptr;
}

Prometheus::Prometheus(const std::filesystem::path& dir, const std::string& config_yaml)
    : log_path_(dir / "prometheus.log") {
  const auto config = dir / "prometheus.yml";
  std::ofstream(config) << config_yaml;
  std::filesystem::create_directories(dir / "prometheus");
  process_ = StartServer(
      [&](int port) {
        return std::vector<std::string>{"prometheus", "--config.file=" + config.string(),
                                        "--storage.tsdb.path=" + (dir / "prometheus").string(),
                                        "--web.listen-address=127.0.0.1:" + std::to_string(port)};
      },
      "/-/ready", log_path_, &port_);
}

std::string Prometheus::log() const { return ReadFile(log_path_); }

nlohmann::json Prometheus::Query(const std::string& expr) const {
  nlohmann::json reply = GetJson(url() + "/api/v1/query?query=" + UrlEncode(expr));
  if (reply.is_discarded() || reply.value("status", "") != "success") return nlohmann::json();
  return reply["data"]["result"];
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log)
    : pid_(Spawn(argv, "/dev/null", log)) {}

ChildProcess::~ChildProcess() { Stop(); }

void ChildProcess::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  if (!WaitFor(pid_, std::chrono::seconds(5))) {
    kill(pid_, SIGKILL);
    WaitFor(pid_, std::chrono::seconds(5));
  }
  pid_ = -1;
}

Pushgateway::Pushgateway(const std::filesystem::path& dir) : log_path_(dir / "pushgateway.log") {
  // The free port can be taken between probing and binding; try a few.
  for (int attempt = 0; attempt < 3 && !ready_; ++attempt) {
    port_ = FreeLoopbackPort();
    process_ = std::make_unique<ChildProcess>(
        // Debian's build persists to /var/lib/prometheus by default: keep it in memory.
        std::vector<std::string>{"prometheus-pushgateway", "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                 "--persistence.file="},
        log_path_);
    ready_ = process_->running() && WaitUntilReady(url() + "/-/ready", std::chrono::seconds(10));
    if (!ready_) process_->Stop();
  }
}

std::string Pushgateway::log() const { return ReadFile(log_path_); }

std::vector<std::string> Pushgateway::Samples(const std::string& prefix) const {
  std::vector<std::string> samples;
  std::istringstream in(HttpGet(url() + "/metrics").body);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(prefix)) samples.push_back(line);
  return samples;
}

}  // namespace dw::testing
