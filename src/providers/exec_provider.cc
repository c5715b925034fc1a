#include "providers/exec_provider.h"

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "core/hash.h"
#include "core/template.h"
#include "providers/call_controller.h"
#include "providers/classify.h"

extern char** environ;

namespace dw::providers {
namespace {

namespace asio = boost::asio;
using Socket = asio::local::stream_protocol::socket;

constexpr std::size_t kMaxOutputBytes = 16u << 20;
constexpr std::size_t kStderrTailBytes = 2048;
constexpr int kMaxReapPollMs = 50;

struct ExecShared {
  std::vector<std::string> argv;
  std::string program;  // argv[0] resolved to a path
  std::string prompt;
  int timeout_ms = 0;
};

std::string OneLineTail(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  if (text.size() > 500) text = "..." + text.substr(text.size() - 500);
  for (char& c : text)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return text;
}

// One run of the command: spawn, feed stdin, collect stdout/stderr, reap.
class ExecRun : public std::enable_shared_from_this<ExecRun> {
 public:
  ExecRun(asio::io_context& io, std::shared_ptr<const ExecShared> shared, std::string input, SteadyTime deadline,
          CallController::AttemptDone done)
      : io_(io),
        shared_(std::move(shared)),
        input_(std::move(input)),
        deadline_(deadline),
        done_(std::move(done)),
        stdin_(io),
        stdout_(io),
        stderr_(io),
        deadline_timer_(io),
        reap_timer_(io) {}

  void Start() {
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out) != 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, err) != 0) {
      const int error = errno;
      for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]})
        if (fd >= 0) close(fd);
      return FailLater("cannot create pipes: " + std::string(std::strerror(error)));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[1], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> argv;
    for (const auto& arg : shared_->argv) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, shared_->program.c_str(), &actions, &attributes, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(in[1]);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
      close(in[0]);
      close(out[0]);
      close(err[0]);
      return FailLater("cannot start '" + shared_->argv[0] + "': " + std::strerror(rc));
    }
    boost::system::error_code assign_error;
    for (auto [socket, fd] : {std::pair{&stdin_, in[0]}, std::pair{&stdout_, out[0]}, std::pair{&stderr_, err[0]}}) {
      if (!assign_error) socket->assign(asio::local::stream_protocol(), fd, assign_error);
      if (assign_error && !socket->is_open()) close(fd);
    }
    if (assign_error) {
      kill(-pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      return FailLater("cannot watch the pipes of '" + shared_->argv[0] + "': " + assign_error.message());
    }

    deadline_timer_.expires_at(deadline_);
    deadline_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->finished_) return;
      self->timed_out_ = true;
      kill(-self->pid_, SIGKILL);
    });
    WriteInput();
    ReadStdout();
    ReadStderr();
  }

 private:
  void FailLater(std::string detail) {
    asio::post(io_, [self = shared_from_this(), detail = std::move(detail)]() mutable {
      AttemptResult attempt;
      attempt.result.outcome = Outcome::kProviderError;
      attempt.result.error_detail = std::move(detail);
      self->done_(std::move(attempt));
    });
  }

  void WriteInput() {
    asio::async_write(stdin_, asio::buffer(input_), [self = shared_from_this()](boost::system::error_code, std::size_t) {
      boost::system::error_code ignored;
      self->stdin_.shutdown(Socket::shutdown_send, ignored);
      self->stdin_.close(ignored);
    });
  }

  void ReadStdout() {
    stdout_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](boost::system::error_code ec,
                                                                               std::size_t n) {
      const std::size_t room = kMaxOutputBytes - std::min(kMaxOutputBytes, self->output_.size());
      if (n > room) self->output_overflow_ = true;
      self->output_.append(self->chunk_.data(), std::min(n, room));
      if (ec) return self->StreamClosed();
      self->ReadStdout();
    });
  }

  void ReadStderr() {
    stderr_.async_read_some(asio::buffer(err_chunk_), [self = shared_from_this()](boost::system::error_code ec,
                                                                                   std::size_t n) {
      self->errors_.append(self->err_chunk_.data(), n);
      if (self->errors_.size() > 2 * kStderrTailBytes) self->errors_.erase(0, self->errors_.size() - kStderrTailBytes);
      if (ec) return self->StreamClosed();
      self->ReadStderr();
    });
  }

  void StreamClosed() {
    if (--open_streams_ == 0) Reap();
  }

  void Reap() {
    int status = 0;
    const pid_t reaped = waitpid(pid_, &status, WNOHANG);
    if (reaped == pid_) return Complete(status, true);
    if (reaped < 0) return Complete(0, false);
    reap_timer_.expires_after(std::chrono::milliseconds(reap_poll_ms_));
    reap_poll_ms_ = std::min(kMaxReapPollMs, reap_poll_ms_ * 2);
    reap_timer_.async_wait([self = shared_from_this()](const boost::system::error_code&) { self->Reap(); });
  }

  void Complete(int status, bool have_status) {
    finished_ = true;
    deadline_timer_.cancel();
    boost::system::error_code ignored;
    stdin_.close(ignored);
    stdout_.close(ignored);
    stderr_.close(ignored);
    AttemptResult attempt;
    CallResult& result = attempt.result;
    const std::string& name = shared_->argv[0];
    if (timed_out_) {
      result.outcome = Outcome::kTimeout;
      result.error_detail =
          "command '" + name + "' did not finish within " + std::to_string(shared_->timeout_ms) + " ms and was killed";
      attempt.retryable = true;
    } else if (!have_status) {
      result.outcome = Outcome::kProviderError;
      result.error_detail = "cannot get the exit status of '" + name + "'";
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      if (output_overflow_) {
        result.outcome = Outcome::kProviderError;
        result.error_detail = "command '" + name + "' wrote more than " + std::to_string(kMaxOutputBytes) + " bytes";
      } else {
        while (!output_.empty() && (output_.back() == '\n' || output_.back() == '\r')) output_.pop_back();
        ChatChoice choice;
        choice.content = output_;
        result.outcome = ClassifyChatChoice(choice, false);
        if (result.outcome == Outcome::kEmpty) result.error_detail = "command '" + name + "' printed nothing";
        if (result.outcome == Outcome::kRefusal) result.error_detail = "the model refused";
        result.output = std::move(output_);
        result.input_tokens = static_cast<std::int64_t>(input_.size() / 4);
        result.output_tokens = static_cast<std::int64_t>((result.output.size() + 3) / 4);
      }
    } else {
      result.outcome = Outcome::kProviderError;
      result.error_detail = WIFEXITED(status)
                                ? "command '" + name + "' exited with status " + std::to_string(WEXITSTATUS(status))
                                : "command '" + name + "' was killed by signal " + std::to_string(WTERMSIG(status));
      std::string tail = OneLineTail(std::move(errors_));
      if (!tail.empty()) result.error_detail += ": " + tail;
    }
    auto done = std::move(done_);
    done(std::move(attempt));
  }

  asio::io_context& io_;
  std::shared_ptr<const ExecShared> shared_;
  std::string input_;
  SteadyTime deadline_;
  CallController::AttemptDone done_;
  Socket stdin_;
  Socket stdout_;
  Socket stderr_;
  asio::steady_timer deadline_timer_;
  asio::steady_timer reap_timer_;
  pid_t pid_ = -1;
  std::string output_;
  std::string errors_;
  std::array<char, 65536> chunk_{};
  std::array<char, 4096> err_chunk_{};
  bool output_overflow_ = false;
  bool timed_out_ = false;
  bool finished_ = false;
  int open_streams_ = 2;
  int reap_poll_ms_ = 1;
};

class ExecProvider final : public Provider {
 public:
  ExecProvider(asio::io_context& io, std::shared_ptr<const ExecShared> shared,
               std::shared_ptr<CallController> controller)
      : io_(io), shared_(std::move(shared)), controller_(std::move(controller)) {}

  void Call(const CallRequest& request, std::function<void(CallResult)> done) override {
    static const nlohmann::json kNoVars = nlohmann::json::object();
    const nlohmann::json& vars = request.vars != nullptr ? *request.vars : kNoVars;
    std::string input;
    if (shared_->prompt.empty()) {
      input = CanonicalJson(vars);
    } else {
      auto rendered = RenderTemplate(shared_->prompt, vars);
      if (!rendered) {
        CallResult failed;
        failed.outcome = Outcome::kProviderError;
        failed.error_detail =
            "cannot render the prompt for case '" + std::string(request.case_id) + "': " + rendered.error().message;
        controller_->FailEarly(std::move(failed), std::move(done));
        return;
      }
      input = std::move(*rendered);
    }
    CallResult prepared;
    prepared.request = CanonicalJson(nlohmann::json{{"command", shared_->argv}, {"stdin", input}});
    prepared.request_hash = Sha256Hex(prepared.request);
    const double estimate = static_cast<double>(input.size()) / 4.0;
    controller_->Run(
        std::move(prepared), estimate,
        [io = &io_, shared = shared_, input = std::move(input)](int, SteadyTime deadline, const std::string&,
                                                                 CallController::AttemptDone attempt_done) {
          std::make_shared<ExecRun>(*io, shared, input, deadline, std::move(attempt_done))->Start();
        },
        std::move(done));
  }

  ProviderStats Stats() const override { return controller_->Stats(); }

 private:
  asio::io_context& io_;
  std::shared_ptr<const ExecShared> shared_;
  std::shared_ptr<CallController> controller_;
};

bool IsExecutable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

Result<std::string> ResolveProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (IsExecutable(name)) return name;
    return Fail(ErrorKind::kInvalidInput, "command '" + name + "' is not an executable file");
  }
  const char* path_env = std::getenv("PATH");
  std::string path = path_env != nullptr && *path_env != '\0' ? path_env : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (IsExecutable(candidate)) return candidate;
    start = end + 1;
  }
  return Fail(ErrorKind::kInvalidInput, "command '" + name + "' is not found in PATH");
}

}  // namespace

Result<std::unique_ptr<Provider>> MakeExecProvider(const config::TargetConfig& target, asio::io_context& io) {
  if (target.exec.command.empty() || target.exec.command[0].empty())
    return Fail(ErrorKind::kInvalidInput, "provider exec needs exec.command");
  auto shared = std::make_shared<ExecShared>();
  auto program = ResolveProgram(target.exec.command[0]);
  if (!program) return Fail(std::move(program.error()));
  shared->program = std::move(*program);
  shared->argv = target.exec.command;
  shared->prompt = target.prompt;
  shared->timeout_ms = target.timeout_ms;
  auto controller = CallController::Create(io, ControlOptions::From(target));
  return std::unique_ptr<Provider>(new ExecProvider(io, std::move(shared), std::move(controller)));
}

}  // namespace dw::providers
