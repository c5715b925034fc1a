#include "support/cli_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string_view>
#include <thread>

#include "support/temp_dir.h"

namespace dw::testing {

ExecArgs::ExecArgs(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                   const std::set<std::string>& unset) {
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    const std::string name(text.substr(0, text.find('=')));
    if (!env.count(name) && !unset.count(name)) env_text_.emplace_back(text);
  }
  for (const auto& [name, value] : env) env_text_.push_back(name + "=" + value);
  for (auto& entry : env_text_) envp_.push_back(entry.data());
  envp_.push_back(nullptr);
  argv_text_ = {DRIFTWATCH_EXE};
  argv_text_.insert(argv_text_.end(), args.begin(), args.end());
  for (auto& a : argv_text_) argv_.push_back(a.data());
  argv_.push_back(nullptr);
}

DriftwatchCli::DriftwatchCli(std::filesystem::path dir, std::string database_url) : dir_(std::move(dir)) {
  env_["DRIFTWATCH_DATABASE_URL"] = std::move(database_url);
}

CliOutcome DriftwatchCli::Run(const std::vector<std::string>& args, std::chrono::milliseconds limit) const {
  return Wait(Start(args), limit);
}

CliProcess DriftwatchCli::Start(const std::vector<std::string>& args) const {
  static std::atomic<int> counter{0};
  const std::string stem = "driftwatch-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  CliProcess process;
  process.out_path = dir_ / (stem + ".out");
  process.err_path = dir_ / (stem + ".err");
  const ExecArgs exec(args, env_, unset_);
  const std::string out_path = process.out_path.string(), err_path = process.err_path.string();
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir_.c_str()) != 0) _exit(126);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) _exit(126);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    execve(exec.argv()[0], exec.argv(), exec.envp());
    _exit(127);
  }
  process.pid = pid;
  return process;
}

CliOutcome DriftwatchCli::Wait(const CliProcess& process, std::chrono::milliseconds limit) {
  CliOutcome outcome;
  if (process.pid <= 0) return outcome;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (waitpid(process.pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      outcome.timed_out = true;
      kill(process.pid, SIGKILL);
      waitpid(process.pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!outcome.timed_out && WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (!outcome.timed_out && WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
  outcome.out = ReadFile(process.out_path);
  outcome.err = ReadFile(process.err_path);
  return outcome;
}

}  // namespace dw::testing
