#include "cli/context.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "config/loader.h"
#include "store/embedded_postgres.h"
#include "store/migrations.h"

namespace po = boost::program_options;

namespace dw::cli {
namespace {

// Taken while the program's static objects are initialised, before main().
const std::chrono::steady_clock::time_point kProcessStart = std::chrono::steady_clock::now();

}  // namespace

Context::Context(GlobalOptions options, std::ostream& out, std::ostream& err)
    : options_(std::move(options)), out_(out), err_(err), last_mark_(kProcessStart) {
  if (const char* v = std::getenv("DRIFTWATCH_TRACE"); v && *v && std::string_view(v) != "0") trace_ = true;
  if (options_.user.empty()) {
    for (const char* var : {"DRIFTWATCH_USER", "USER", "LOGNAME"})
      if (const char* v = std::getenv(var); v && *v) {
        options_.user = v;
        break;
      }
  }
  if (options_.user.empty()) {
    if (const passwd* pw = getpwuid(geteuid())) options_.user = pw->pw_name;
  }
  if (options_.user.empty()) options_.user = "unknown";
}

Result<const config::Config*> Context::Config() {
  if (config_) return config_.get();
  std::string path = options_.config_path;
  if (path.empty() && std::filesystem::exists("driftwatch.yaml")) path = "driftwatch.yaml";
  if (path.empty()) {
    config_ = std::make_unique<config::Config>(config::DefaultConfig());
    return config_.get();
  }
  auto loaded = config::LoadConfig(path);
  if (!loaded) return Fail(loaded.error());
  config_ = std::make_unique<config::Config>(std::move(*loaded));
  return config_.get();
}

Result<std::string> Context::DatabaseUrl() {
  if (!url_.empty()) return url_;
  if (!options_.database_url.empty()) return options_.database_url;
  if (const char* env = std::getenv("DRIFTWATCH_DATABASE_URL"); env && *env) return std::string(env);
  auto cfg = Config();
  if (!cfg) return Fail(cfg.error());
  if (!(*cfg)->database_url.empty()) return (*cfg)->database_url;
  auto cluster = store::EnsureEmbeddedCluster((*cfg)->data_dir);
  if (!cluster) return Fail(cluster.error());
  Trace("embedded cluster ready");
  url_ = cluster->url;
  ready_db_ = std::move(cluster->connection);
  return url_;
}

Result<store::Database*> Context::Database() {
  if (db_) return db_.get();
  auto url = DatabaseUrl();
  if (!url) return Fail(url.error());
  std::shared_ptr<store::Database> db = std::move(ready_db_);
  if (!db) {
    auto connected = store::Database::Connect(*url);
    if (!connected) return Fail(connected.error());
    db = std::move(*connected);
  }
  Trace("connected");
  auto migrated = store::Migrate(*db);
  if (!migrated) return Fail(migrated.error());
  Trace("schema checked");
  if (*migrated > 0) Warn("applied " + std::to_string(*migrated) + " database migration(s)");
  db_ = std::move(db);
  return db_.get();
}

void Context::Trace(std::string_view phase) {
  if (!trace_) return;
  auto now = std::chrono::steady_clock::now();
  auto ms = [](std::chrono::steady_clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  char line[160];
  std::snprintf(line, sizeof line, " +%.1f ms (at %.1f ms)\n", ms(now - last_mark_), ms(now - kProcessStart));
  err_ << "driftwatch: trace " << phase << line << std::flush;
  last_mark_ = now;
}

void Context::Warn(const std::string& message) {
  if (!options_.quiet) err_ << "driftwatch: warning: " << message << "\n";
}

void AddGlobalOptions(po::options_description& desc, GlobalOptions& options) {
  desc.add_options()
      ("config,c", po::value(&options.config_path), "config file (default: ./driftwatch.yaml if present)")
      ("database-url", po::value(&options.database_url),
       "PostgreSQL URL (default: $DRIFTWATCH_DATABASE_URL, else the embedded cluster)")
      ("format", po::value(&options.format)->default_value("table"), "output format: table or json")
      ("as", po::value(&options.user), "acting user for the audit trail (default: $DRIFTWATCH_USER or $USER)")
      ("quiet,q", po::bool_switch(&options.quiet), "suppress warnings and progress")
      ("help,h", "show this help");
}

bool ParseCommandLine(const std::vector<std::string>& args, const std::string& usage, po::options_description& desc,
                      const po::positional_options_description& positional, po::variables_map& vm,
                      std::ostream& out, std::ostream& err, int& exit_code) {
  try {
    po::store(po::command_line_parser(args).options(desc).positional(positional).run(), vm);
    if (vm.count("help")) {
      out << "usage: " << usage << "\n\n" << desc << "\n";
      exit_code = kExitOk;
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    err << "driftwatch: " << e.what() << "\nusage: " << usage << "\n(see --help)\n";
    exit_code = kExitBadInput;
    return false;
  }
  return true;
}

int ReportError(std::ostream& err, const Error& error) {
  err << "driftwatch: " << ErrorKindName(error.kind) << ": " << error.message << "\n";
  return ExitCodeFor(error);
}

}  // namespace dw::cli
