// What every subcommand shares: global options, the loaded config, the
// database connection and output streams.
#pragma once

#include <chrono>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/program_options.hpp>

#include "config/config.h"
#include "core/status.h"
#include "store/database.h"

namespace dw::cli {

enum class OutputFormat { kTable, kJson };

// Global options, accepted by every subcommand (before or after its name).
struct GlobalOptions {
  std::string config_path;   // --config; default ./driftwatch.yaml when present
  std::string database_url;  // --database-url or $DRIFTWATCH_DATABASE_URL
  std::string format = "table";
  std::string user;          // --as or $DRIFTWATCH_USER or $USER
  bool quiet = false;
};

// Not thread-safe; one per command invocation.
class Context {
 public:
  // Fills in the acting user from $DRIFTWATCH_USER, $USER or the account
  // name when --as is not given.
  Context(GlobalOptions options, std::ostream& out, std::ostream& err);

  const GlobalOptions& options() const { return options_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  OutputFormat format() const { return options_.format == "json" ? OutputFormat::kJson : OutputFormat::kTable; }
  const std::string& user() const { return options_.user; }

  // Loads the config once: --config, else ./driftwatch.yaml, else built-in
  // defaults (embedded database, a `sim` target).
  Result<const config::Config*> Config();

  // Connects once and brings the schema up to date (migrations are applied
  // automatically; an edited applied migration is an error). Uses
  // --database-url, $DRIFTWATCH_DATABASE_URL, the config's database.url, or
  // else the embedded cluster under the config's data_dir.
  Result<store::Database*> Database();

  // Uses `config` instead of loading one (the demo's built-in targets).
  void SetConfig(config::Config config) { config_ = std::make_unique<config::Config>(std::move(config)); }

  // The connection string Database() would use, starting the embedded
  // cluster if needed but not migrating. Worked out once per Context.
  Result<std::string> DatabaseUrl();

  // Prints a warning line to err() unless --quiet.
  void Warn(const std::string& message);

  // When $DRIFTWATCH_TRACE is set (and not "0"), prints the wall time spent
  // since the previous mark and since the process started, for profiling
  // where a command's time goes: "driftwatch: trace <phase> +12.3 ms (at
  // 45.6 ms)". Does nothing otherwise.
  void Trace(std::string_view phase);

 private:
  GlobalOptions options_;
  std::ostream& out_;
  std::ostream& err_;
  bool trace_ = false;
  std::chrono::steady_clock::time_point last_mark_;
  std::unique_ptr<config::Config> config_;
  std::string url_;
  std::shared_ptr<store::Database> ready_db_;  // made by DatabaseUrl(), taken by Database()
  std::shared_ptr<store::Database> db_;
};

// Adds the global options to a subcommand's option set.
void AddGlobalOptions(boost::program_options::options_description& desc, GlobalOptions& options);

// Parses argv for a subcommand: its own options, the global ones and
// positional arguments. On --help prints usage and returns kExitOk through
// `exit_code`; on a usage error prints it and sets kExitBadInput.
// Returns true when the command should run.
bool ParseCommandLine(const std::vector<std::string>& args, const std::string& usage,
                      boost::program_options::options_description& desc,
                      const boost::program_options::positional_options_description& positional,
                      boost::program_options::variables_map& vm, std::ostream& out, std::ostream& err,
                      int& exit_code);

// Prints an error in the house format ("driftwatch: <kind>: message") and
// returns its exit code.
int ReportError(std::ostream& err, const Error& error);

}  // namespace dw::cli
