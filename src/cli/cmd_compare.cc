#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/run_support.h"
#include "governance/pointers.h"
#include "store/run_repo.h"

namespace po = boost::program_options;

namespace dw::cli {

int CompareCommand(const Args& args, std::ostream& out, std::ostream& err) {
  const std::string usage =
      "driftwatch compare --baseline RUN|baseline --candidate RUN [--common-cases] [--env ENV]";
  GlobalOptions global;
  std::string baseline_ref, candidate_ref, env = "production";
  bool common = false;
  po::options_description desc("compare options");
  AddGlobalOptions(desc, global);
  desc.add_options()("baseline,b", po::value(&baseline_ref)->required(),
                     "baseline run id (prefix), or 'baseline' for the signed-off baseline")(
      "candidate", po::value(&candidate_ref)->required(), "candidate run id (prefix)")(
      "common-cases", po::bool_switch(&common),
      "allow different golden-set versions (or judge/embeddings targets): compare only the cases whose content "
      "(and grading model) is unchanged")(
      "env", po::value(&env)->default_value("production"), "environment whose signed-off baseline 'baseline' means");
  po::positional_options_description pos;
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine(args, usage, desc, pos, vm, out, err, code)) return code;
  Context ctx(global, out, err);
  auto db = ctx.Database();
  if (!db) return ReportError(err, db.error());
  auto candidate = store::GetRun(**db, candidate_ref);
  if (!candidate) return ReportError(err, candidate.error());
  if (baseline_ref == "baseline") {
    auto id = governance::CurrentBaseline(**db, candidate->golden_set, candidate->target, env);
    if (!id) return ReportError(err, id.error());
    if (!*id)
      return ReportError(err, {ErrorKind::kNotFound, "no signed-off baseline for " + candidate->golden_set + " and " +
                                                         candidate->target + " in " + env +
                                                         "; pass a run id with --baseline"});
    baseline_ref = **id;
  }
  auto baseline = store::GetRun(**db, baseline_ref);
  if (!baseline) return ReportError(err, baseline.error());
  for (const auto* run : {&*baseline, &*candidate})
    if (run->status != "done")
      return ReportError(err, {ErrorKind::kConflict, "run " + run->id.substr(0, 8) + " is '" + run->status +
                                                         "'; only finished runs can be compared"});
  auto result = CompareAndStore(ctx, *baseline, *candidate, common);
  if (!result) return ReportError(err, result.error());
  bool critical = result->value("verdict", "") == "regressed" && result->value("severity", "") == "critical";
  if (ctx.format() == OutputFormat::kJson) {
    nlohmann::json j = *result;
    j.erase("table");
    out << j.dump(2) << "\n";
  } else {
    out << "baseline   " << baseline->id << " (" << baseline->target << ")\n"
        << "candidate  " << candidate->id << " (" << candidate->target << ")\n";
    if (result->contains("note")) out << "note       " << (*result)["note"].get<std::string>() << "\n";
    out << "verdict    " << result->value("verdict", "") << " (severity " << result->value("severity", "") << ")\n\n"
        << result->value("table", "");
  }
  return critical ? kExitRegression : kExitOk;
}

}  // namespace dw::cli
