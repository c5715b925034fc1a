#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "core/text_table.h"

namespace po = boost::program_options;

namespace dw::cli {

int ConfigCommand(const Args& args, std::ostream& out, std::ostream& err) {
  const std::string usage = "driftwatch config check [FILE] [options]";
  GlobalOptions global;
  std::string action, file;
  po::options_description desc("config options");
  AddGlobalOptions(desc, global);
  desc.add_options()("action", po::value(&action), "check")("file", po::value(&file), "config file");
  po::positional_options_description pos;
  pos.add("action", 1).add("file", 1);
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine(args, usage, desc, pos, vm, out, err, code)) return code;
  if (action != "check") {
    err << "driftwatch: config needs an action: check\nusage: " << usage << "\n";
    return kExitBadInput;
  }
  if (!file.empty()) global.config_path = file;
  Context ctx(global, out, err);
  auto cfg = ctx.Config();
  if (!cfg) return ReportError(err, cfg.error());
  const config::Config& c = **cfg;
  if (ctx.format() == OutputFormat::kJson) {
    nlohmann::json targets = nlohmann::json::object();
    for (const auto& [name, t] : c.targets) targets[name] = {{"version", t.VersionHash()}, {"spec", t.ToJson()}};
    nlohmann::json schedules = nlohmann::json::array();
    for (const auto& [name, s] : c.schedules) schedules.push_back(name);
    out << nlohmann::json{{"file", c.path}, {"valid", true}, {"targets", targets}, {"schedules", schedules}}.dump(2)
        << "\n";
    return kExitOk;
  }
  out << c.path << ": OK\n\n";
  TextTable table({"TARGET", "PROVIDER", "MODEL", "VERSION"});
  for (const auto& [name, t] : c.targets) table.AddRow({name, t.provider, t.model, t.VersionHash().substr(0, 12)});
  out << table.Render();
  return kExitOk;
}

}  // namespace dw::cli
