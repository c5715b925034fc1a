// Runs the built driftwatch binary (DRIFTWATCH_EXE) as a child process, for
// end-to-end tests: in a working directory, against a database URL, with
// extra environment variables, stdout and stderr captured separately, and
// every wait bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace dw::testing {

// How a driftwatch process ended.
struct CliOutcome {
  int exit_code = -1;      // -1 when it did not exit normally
  int signal = 0;          // the signal that ended it, else 0
  bool timed_out = false;  // still running at the deadline (then killed)
  std::string out;
  std::string err;

  // True when the process exited by itself (no signal, no timeout).
  bool exited() const { return exit_code >= 0; }
};

// A driftwatch process started in the background.
struct CliProcess {
  pid_t pid = -1;
  std::filesystem::path out_path;
  std::filesystem::path err_path;
};

// The argv and envp of one `driftwatch args...` child, built before fork():
// a test process runs server threads, so only async-signal-safe calls (such
// as execve with these arrays) are safe in the child. Not copyable: the
// arrays point into the strings it owns.
class ExecArgs {
 public:
  // `env` is set over the inherited environment, names in `unset` removed.
  ExecArgs(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
           const std::set<std::string>& unset = {});
  ExecArgs(const ExecArgs&) = delete;
  ExecArgs& operator=(const ExecArgs&) = delete;
  char* const* argv() const { return argv_.data(); }
  char* const* envp() const { return envp_.data(); }

 private:
  std::vector<std::string> argv_text_, env_text_;
  std::vector<char*> argv_, envp_;
};

// Not thread-safe; copyable settings only.
class DriftwatchCli {
 public:
  // `database_url` becomes DRIFTWATCH_DATABASE_URL; commands run in `dir`.
  DriftwatchCli(std::filesystem::path dir, std::string database_url);

  // Sets an environment variable for every later command.
  void SetEnv(const std::string& name, const std::string& value) { env_[name] = value; }
  // Removes an inherited environment variable from every later command.
  void UnsetEnv(const std::string& name) { unset_.insert(name); }

  // Runs `driftwatch args...` to completion; a process still running after
  // `limit` is killed and reported as timed_out.
  CliOutcome Run(const std::vector<std::string>& args,
                 std::chrono::milliseconds limit = std::chrono::seconds(120)) const;

  // Starts `driftwatch args...` without waiting; output goes to files in
  // the working directory.
  CliProcess Start(const std::vector<std::string>& args) const;

  // Waits for a started process (killing it after `limit`) and collects its
  // output.
  static CliOutcome Wait(const CliProcess& process, std::chrono::milliseconds limit = std::chrono::seconds(120));

  // The exec arrays of `driftwatch args...` with this object's environment,
  // for a test that forks the child itself (e.g. on a pseudo-terminal).
  std::unique_ptr<ExecArgs> ExecFor(const std::vector<std::string>& args) const {
    return std::make_unique<ExecArgs>(args, env_, unset_);
  }

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::map<std::string, std::string> env_;
  std::set<std::string> unset_;
};

}  // namespace dw::testing
