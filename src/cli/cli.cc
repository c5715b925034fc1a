#include "cli/cli.h"

#include <exception>
#include <iostream>
#include <string_view>

#include "cli/commands.h"
#include "core/status.h"

namespace dw::cli {
namespace {

struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(const Args&, std::ostream&, std::ostream&);
};

constexpr Command kCommands[] = {
    {"run", "replay a golden set against a target, score, store, compare", RunCommand},
    {"compare", "paired statistical comparison of two runs (or a run and its baseline)", CompareCommand},
    {"report", "show a stored run: table, JSON or JUnit XML; --list for recent runs", ReportCommand},
    {"review", "sign-off: request, approve, reject, waive, list, show", ReviewCommand},
    {"target", "history of a target's baseline and production moves", TargetCommand},
    {"audit", "verify, checkpoint (Ed25519) and export the audit chain", AuditCommand},
    {"serve", "long-running service: schedules, job workers, HTTP API, /metrics", ServeCommand},
    {"schedule", "list schedules with next fire times, jobs, fire a schedule now", ScheduleCommand},
    {"token", "create, list and revoke API bearer tokens (stored as hashes)", TokenCommand},
    {"demo", "end-to-end demo on the embedded database and simulated model", DemoCommand},
    {"goldenset", "publish, list, show and diff versioned golden sets", GoldensetCommand},
    {"db", "database: migrate, status, url, start/stop the embedded cluster", DbCommand},
    {"config", "validate a driftwatch.yaml and show the resolved targets", ConfigCommand},
};

void PrintUsage(std::ostream& out) {
  out << "usage: driftwatch <command> [options]\n\n"
         "Drift monitoring and governance for LLM-powered systems.\n\ncommands:\n";
  for (const auto& c : kCommands) {
    out << "  " << c.name;
    for (size_t i = c.name.size(); i < 12; ++i) out << ' ';
    out << c.summary << "\n";
  }
  out << "\nRun 'driftwatch <command> --help' for a command's options.\n"
         "Exit codes: 0 ok, 1 regression/drift found, 2 bad input, 3 runtime failure.\n";
}

}  // namespace

int Main(int argc, char** argv) {
  try {
    if (argc < 2) {
      PrintUsage(std::cerr);
      return kExitBadInput;
    }
    std::string_view name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
      PrintUsage(std::cout);
      return kExitOk;
    }
    if (name == "--version") {
      std::cout << "driftwatch " << DRIFTWATCH_VERSION << "\n";
      return kExitOk;
    }
    Args args(argv + 2, argv + argc);
    for (const auto& c : kCommands)
      if (c.name == name) return c.run(args, std::cout, std::cerr);
    std::cerr << "driftwatch: unknown command '" << name << "'\n\n";
    PrintUsage(std::cerr);
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "driftwatch: internal error: " << e.what() << "\n";
    return kExitRuntimeFailure;
  }
}

}  // namespace dw::cli
