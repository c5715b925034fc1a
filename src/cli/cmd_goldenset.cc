#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "core/text_table.h"
#include "goldenset/diff.h"
#include "goldenset/parser.h"
#include "goldenset/validate.h"
#include "store/goldenset_repo.h"

namespace po = boost::program_options;

namespace dw::cli {
namespace {

nlohmann::json VersionJson(const store::PublishedVersion& v) {
  return {{"name", v.name},
          {"version", v.version},
          {"manifest_sha256", v.manifest_sha256},
          {"case_count", v.case_count},
          {"source_format", v.source_format},
          {"published_by", v.published_by},
          {"published_at", v.published_at},
          {"description", v.description}};
}

int Publish(Context& ctx, const std::vector<std::string>& rest, const std::string& name_flag,
            const std::string& format_flag) {
  if (rest.size() != 1) {
    ctx.err() << "driftwatch: goldenset publish needs exactly one FILE\n";
    return kExitBadInput;
  }
  goldenset::Format format = goldenset::Format::kAuto;
  if (format_flag == "native") format = goldenset::Format::kNative;
  else if (format_flag == "jsonl") format = goldenset::Format::kJsonl;
  else if (format_flag == "promptfoo") format = goldenset::Format::kPromptfoo;
  else if (format_flag != "auto") {
    ctx.err() << "driftwatch: --input-format must be one of auto, native, jsonl, promptfoo (got '" << format_flag
              << "')\n";
    return kExitBadInput;
  }
  auto parsed = goldenset::LoadGoldenSet(rest[0], format);
  if (!parsed) return ReportError(ctx.err(), parsed.error());
  for (const auto& w : parsed->warnings) ctx.Warn(w);
  if (!name_flag.empty()) parsed->set.name = name_flag;
  if (parsed->set.name.empty()) parsed->set.name = goldenset::NameFromPath(rest[0]);
  if (auto s = goldenset::NormalizeForPublish(parsed->set, rest[0]); !s) return ReportError(ctx.err(), s.error());
  auto db = ctx.Database();
  if (!db) return ReportError(ctx.err(), db.error());
  store::PublishRequest request{parsed->set, parsed->format, rest[0], ctx.user()};
  auto published = store::PublishGoldenSet(**db, request);
  if (!published) return ReportError(ctx.err(), published.error());
  if (ctx.format() == OutputFormat::kJson) {
    nlohmann::json j = VersionJson(*published);
    j["created"] = published->created;
    ctx.out() << j.dump(2) << "\n";
  } else if (published->created) {
    ctx.out() << "published " << published->name << "@" << published->version << " (" << published->case_count
              << " cases, " << parsed->format << ", manifest sha256 " << published->manifest_sha256.substr(0, 16)
              << "…)\n";
  } else {
    ctx.out() << "unchanged: identical content is already published as " << published->name << "@"
              << published->version << " (manifest sha256 " << published->manifest_sha256.substr(0, 16)
              << "…); nothing stored\n";
  }
  return kExitOk;
}

int List(Context& ctx) {
  auto db = ctx.Database();
  if (!db) return ReportError(ctx.err(), db.error());
  auto sets = store::ListGoldenSets(**db);
  if (!sets) return ReportError(ctx.err(), sets.error());
  if (ctx.format() == OutputFormat::kJson) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& v : *sets) arr.push_back(VersionJson(v));
    ctx.out() << arr.dump(2) << "\n";
    return kExitOk;
  }
  TextTable table({"NAME", "LATEST", "CASES", "FORMAT", "PUBLISHED", "BY", "MANIFEST"});
  for (const auto& v : *sets)
    table.AddRow({v.name, std::to_string(v.version), std::to_string(v.case_count), v.source_format, v.published_at,
                  v.published_by, v.manifest_sha256.substr(0, 12)});
  ctx.out() << table.Render();
  return kExitOk;
}

int Show(Context& ctx, const std::vector<std::string>& rest, bool with_cases) {
  if (rest.size() != 1) {
    ctx.err() << "driftwatch: goldenset show needs NAME[@VERSION]\n";
    return kExitBadInput;
  }
  auto ref = store::ParseVersionRef(rest[0]);
  if (!ref) return ReportError(ctx.err(), ref.error());
  auto db = ctx.Database();
  if (!db) return ReportError(ctx.err(), db.error());
  auto version = store::FindVersion(**db, ref->first, ref->second);
  if (!version) return ReportError(ctx.err(), version.error());
  auto set = store::LoadCases(**db, version->id);
  if (!set) return ReportError(ctx.err(), set.error());
  auto versions = store::ListVersions(**db, ref->first);
  if (ctx.format() == OutputFormat::kJson) {
    nlohmann::json j = VersionJson(*version);
    if (versions) {
      j["versions"] = nlohmann::json::array();
      for (const auto& v : *versions) j["versions"].push_back(v.version);
    }
    if (with_cases) {
      j["cases"] = nlohmann::json::array();
      for (const auto& c : set->cases) j["cases"].push_back(c.ToJson());
    }
    ctx.out() << j.dump(2) << "\n";
    return kExitOk;
  }
  ctx.out() << version->name << "@" << version->version << "\n"
            << "  manifest sha256  " << version->manifest_sha256 << "\n"
            << "  cases            " << version->case_count << "\n"
            << "  format           " << version->source_format << "\n"
            << "  published        " << version->published_at << " by " << version->published_by << "\n";
  if (!version->description.empty()) ctx.out() << "  description      " << version->description << "\n";
  if (versions) ctx.out() << "  versions         1.." << versions->back().version << "\n";
  if (with_cases) {
    TextTable table({"CASE", "ASSERTS", "TAGS", "CONTENT SHA256"});
    for (const auto& c : set->cases) {
      std::string tags;
      for (const auto& t : c.tags) tags += (tags.empty() ? "" : ",") + t;
      table.AddRow({c.id, std::to_string(c.asserts.size()), tags, c.ContentHash().substr(0, 12)});
    }
    ctx.out() << "\n" << table.Render();
  }
  return kExitOk;
}

int DiffVersions(Context& ctx, const std::vector<std::string>& rest) {
  if (rest.size() != 2) {
    ctx.err() << "driftwatch: goldenset diff needs two versions, e.g. faq@1 faq@2\n";
    return kExitBadInput;
  }
  auto db = ctx.Database();
  if (!db) return ReportError(ctx.err(), db.error());
  GoldenSet sides[2];
  std::string labels[2];
  for (int i = 0; i < 2; ++i) {
    auto ref = store::ParseVersionRef(rest[i]);
    if (!ref) return ReportError(ctx.err(), ref.error());
    auto version = store::FindVersion(**db, ref->first, ref->second);
    if (!version) return ReportError(ctx.err(), version.error());
    auto set = store::LoadCases(**db, version->id);
    if (!set) return ReportError(ctx.err(), set.error());
    sides[i] = std::move(*set);
    labels[i] = version->name + "@" + std::to_string(version->version);
  }
  auto diff = goldenset::Diff(sides[0], sides[1]);
  if (ctx.format() == OutputFormat::kJson) {
    nlohmann::json j = diff.ToJson();
    j["from"] = labels[0];
    j["to"] = labels[1];
    ctx.out() << j.dump(2) << "\n";
    return kExitOk;
  }
  ctx.out() << labels[0] << " -> " << labels[1] << ": " << diff.added.size() << " added, " << diff.removed.size()
            << " removed, " << diff.changed.size() << " changed, " << diff.unchanged << " unchanged\n";
  for (const auto& id : diff.added) ctx.out() << "  + " << id << "\n";
  for (const auto& id : diff.removed) ctx.out() << "  - " << id << "\n";
  for (const auto& id : diff.changed) ctx.out() << "  ~ " << id << "\n";
  return kExitOk;
}

}  // namespace

int GoldensetCommand(const Args& args, std::ostream& out, std::ostream& err) {
  const std::string usage =
      "driftwatch goldenset publish FILE [--name N] [--input-format auto|native|jsonl|promptfoo]\n"
      "       driftwatch goldenset list\n"
      "       driftwatch goldenset show NAME[@VERSION] [--cases]\n"
      "       driftwatch goldenset diff NAME@A NAME@B";
  GlobalOptions global;
  std::string action, name, input_format = "auto";
  std::vector<std::string> rest;
  bool with_cases = false;
  po::options_description desc("goldenset options");
  AddGlobalOptions(desc, global);
  desc.add_options()("action", po::value(&action), "publish | list | show | diff")(
      "args", po::value(&rest), "arguments")("name", po::value(&name), "golden-set name (publish; default: file stem)")(
      "input-format", po::value(&input_format)->default_value("auto"), "publish: auto, native, jsonl or promptfoo")(
      "cases", po::bool_switch(&with_cases), "show: list every case");
  po::positional_options_description pos;
  pos.add("action", 1).add("args", -1);
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine(args, usage, desc, pos, vm, out, err, code)) return code;
  Context ctx(global, out, err);
  if (action == "publish") return Publish(ctx, rest, name, input_format);
  if (action == "list") return List(ctx);
  if (action == "show") return Show(ctx, rest, with_cases);
  if (action == "diff") return DiffVersions(ctx, rest);
  err << "driftwatch: goldenset needs an action: publish, list, show or diff\nusage: " << usage << "\n";
  return kExitBadInput;
}

}  // namespace dw::cli
