#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "core/text_table.h"
#include "store/embedded_postgres.h"
#include "store/migrations.h"

namespace po = boost::program_options;

namespace dw::cli {

int DbCommand(const Args& args, std::ostream& out, std::ostream& err) {
  const std::string usage = "driftwatch db <migrate|status|url|stop> [options]";
  GlobalOptions global;
  std::string action;
  po::options_description desc("db options");
  AddGlobalOptions(desc, global);
  desc.add_options()("action", po::value(&action), "migrate | status | url | stop");
  po::positional_options_description pos;
  pos.add("action", 1);
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine(args, usage, desc, pos, vm, out, err, code)) return code;
  Context ctx(global, out, err);

  if (action == "migrate") {
    auto url = ctx.DatabaseUrl();
    if (!url) return ReportError(err, url.error());
    auto db = store::Database::Connect(*url);
    if (!db) return ReportError(err, db.error());
    auto applied = store::Migrate(**db);
    if (!applied) return ReportError(err, applied.error());
    if (ctx.format() == OutputFormat::kJson)
      out << nlohmann::json{{"applied", *applied}}.dump() << "\n";
    else
      out << (*applied == 0 ? "schema is up to date\n" : "applied " + std::to_string(*applied) + " migration(s)\n");
    return kExitOk;
  }
  if (action == "status") {
    auto url = ctx.DatabaseUrl();
    if (!url) return ReportError(err, url.error());
    auto db = store::Database::Connect(*url);
    if (!db) return ReportError(err, db.error());
    auto states = store::GetMigrationStatus(**db);
    if (!states) return ReportError(err, states.error());
    if (ctx.format() == OutputFormat::kJson) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& s : *states)
        arr.push_back({{"version", s.version}, {"name", s.name}, {"sha256", s.sha256}, {"applied", s.applied},
                       {"applied_at", s.applied_at}});
      out << arr.dump(2) << "\n";
    } else {
      TextTable table({"VERSION", "NAME", "STATE", "APPLIED AT", "SHA256"});
      for (const auto& s : *states)
        table.AddRow({std::to_string(s.version), s.name, s.applied ? "applied" : "pending", s.applied_at,
                      s.sha256.substr(0, 12)});
      out << table.Render();
    }
    return kExitOk;
  }
  if (action == "url") {
    auto url = ctx.DatabaseUrl();
    if (!url) return ReportError(err, url.error());
    out << *url << "\n";
    return kExitOk;
  }
  if (action == "stop") {
    auto cfg = ctx.Config();
    if (!cfg) return ReportError(err, cfg.error());
    if (auto s = store::StopEmbeddedCluster((*cfg)->data_dir); !s) return ReportError(err, s.error());
    out << "embedded PostgreSQL stopped\n";
    return kExitOk;
  }
  err << "driftwatch: db needs an action: migrate, status, url or stop\nusage: " << usage << "\n";
  return kExitBadInput;
}

}  // namespace dw::cli
