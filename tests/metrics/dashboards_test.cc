// The Grafana dashboards in dashboards/: they follow the dashboard-linter
// rules that can be checked offline, link to each other, query only series
// Driftwatch exports, match the provisioned data sources, and every SQL query
// in them runs against the real schema as the read-only role Grafana uses
// (dw_reader) and finds the data it is meant to show.
//
// The PromQL side is executed against a real Prometheus in
// prometheus_e2e_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "metrics/catalogue.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw::metrics {
namespace {

using json = nlohmann::json;
using ::testing::Contains;
using ::testing::IsSupersetOf;

const std::filesystem::path kSourceDir = DRIFTWATCH_SOURCE_DIR;
const std::filesystem::path kDashboardDir = kSourceDir / "dashboards";
const std::filesystem::path kRulesFile = kSourceDir / "config/prometheus/driftwatch-rules.yml";
const std::filesystem::path kDatasources =
    kDashboardDir / "provisioning/datasources/driftwatch.yaml";
const std::filesystem::path kProviders = kDashboardDir / "provisioning/dashboards/driftwatch.yaml";

constexpr std::string_view kPromType = "prometheus";
constexpr std::string_view kPgType = "grafana-postgresql-datasource";

// ---------------------------------------------------------------- the model

struct Dashboard {
  std::string file;
  json model;
};

std::vector<Dashboard> LoadDashboards() {
  std::vector<Dashboard> dashboards;
  for (const auto& entry : std::filesystem::directory_iterator(kDashboardDir))
    if (entry.path().extension() == ".json") {
      std::ifstream in(entry.path());
      json model = json::parse(in, nullptr, /*allow_exceptions=*/false);
      EXPECT_FALSE(model.is_discarded()) << entry.path() << " is not valid JSON";
      dashboards.push_back({entry.path().filename().string(), std::move(model)});
    }
  std::sort(dashboards.begin(), dashboards.end(),
            [](const Dashboard& a, const Dashboard& b) { return a.file < b.file; });
  return dashboards;
}

// Every panel except rows, including panels nested in collapsed rows.
std::vector<json> Panels(const json& dashboard) {
  std::vector<json> panels;
  for (const json& panel : dashboard.value("panels", json::array())) {
    if (panel.value("type", "") == "row") {
      for (const json& nested : panel.value("panels", json::array())) panels.push_back(nested);
    } else {
      panels.push_back(panel);
    }
  }
  return panels;
}

std::vector<json> Variables(const json& dashboard) {
  return dashboard.value("templating", json::object()).value("list", std::vector<json>{});
}

const json* FindVariable(const json& dashboard, const std::string& name) {
  for (const json& v : dashboard["templating"]["list"])
    if (v.value("name", "") == name) return &v;
  return nullptr;
}

std::string PanelName(const Dashboard& d, const json& panel) {
  return d.file + " panel \"" + panel.value("title", "?") + "\"";
}

// One query: a panel target or a query variable.
struct Query {
  std::string where;
  std::string datasource_type;
  std::string text;             // PromQL expr or raw SQL
  std::string format;           // "time_series", "table" or "" (variables)
  bool variable = false;
};

std::string DatasourceType(const json& object, const json& fallback = json::object()) {
  if (object.contains("datasource") && object["datasource"].is_object())
    return object["datasource"].value("type", "");
  return fallback.is_object() && fallback.contains("datasource") && fallback["datasource"].is_object()
             ? fallback["datasource"].value("type", "")
             : "";
}

std::vector<Query> Queries(const Dashboard& d) {
  std::vector<Query> queries;
  for (const json& panel : Panels(d.model))
    for (const json& target : panel.value("targets", json::array())) {
      Query q;
      q.where = PanelName(d, panel) + " target " + target.value("refId", "?");
      q.datasource_type = DatasourceType(target, panel);
      q.text = target.contains("rawSql") ? target.value("rawSql", "") : target.value("expr", "");
      q.format = target.value("format", "time_series");
      queries.push_back(q);
    }
  for (const json& v : Variables(d.model)) {
    if (v.value("type", "") != "query") continue;
    Query q;
    q.where = d.file + " variable $" + v.value("name", "?");
    q.datasource_type = DatasourceType(v);
    q.text = v["query"].is_string() ? v["query"].get<std::string>() : v["query"].value("query", "");
    q.variable = true;
    queries.push_back(q);
  }
  return queries;
}

// Every string anywhere in `value` (links, URLs, queries...).
void Strings(const json& value, std::vector<std::string>* out) {
  if (value.is_string()) {
    out->push_back(value.get<std::string>());
  } else if (value.is_structured()) {
    for (const json& child : value) Strings(child, out);
  }
}

// ------------------------------------------------------- template variables

// Grafana's built-in variables and macros (names after "$").
bool IsBuiltIn(const std::string& name) {
  return name.starts_with("__");
}

// The names of the variables `text` references as $name, ${name}, ${name:fmt}
// or [[name]], built-ins excluded.
std::set<std::string> ReferencedVariables(const std::string& text) {
  static const std::regex kRef(R"(\$\{([A-Za-z0-9_]+)(?::[A-Za-z0-9_]+)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\])");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kRef); it != std::sregex_iterator();
       ++it) {
    std::string name = (*it)[1].matched ? (*it)[1] : (*it)[2].matched ? (*it)[2] : (*it)[3];
    if (!IsBuiltIn(name)) names.insert(name);
  }
  return names;
}

// Replaces variable references by `values` the way Grafana's SQL data sources
// do: a variable that is multi-value or has "All" becomes a list of quoted
// literals, any other is inserted as is with single quotes doubled.
// References to unknown variables fail the test.
std::string InterpolateSql(const std::string& text, const json& dashboard,
                           const std::map<std::string, std::string>& values,
                           const std::string& where) {
  static const std::regex kRef(R"(\$\{([A-Za-z0-9_]+)(?::[A-Za-z0-9_]+)?\}|\$([A-Za-z0-9_]+))");
  std::string out;
  auto last = text.cbegin();
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kRef); it != std::sregex_iterator();
       ++it) {
    std::string name = (*it)[1].matched ? (*it)[1] : (*it)[2];
    out.append(last, text.cbegin() + it->position());
    last = text.cbegin() + it->position() + it->length();
    if (IsBuiltIn(name)) {
      out += it->str();
      continue;
    }
    const json* variable = FindVariable(dashboard, name);
    auto value = values.find(name);
    if (!variable || value == values.end()) {
      ADD_FAILURE() << where << " uses $" << name << ", which has no test value";
      continue;
    }
    std::string escaped = std::regex_replace(value->second, std::regex("'"), "''");
    bool quoted = variable->value("multi", false) || variable->value("includeAll", false);
    out += quoted ? "'" + escaped + "'" : escaped;
  }
  out.append(last, text.cend());
  return out;
}

// ------------------------------------------------------- Grafana SQL macros

struct TimeRange {
  std::chrono::system_clock::time_point from, to;
};

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string Trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// "'1d'" -> 86400.
long IntervalSeconds(std::string interval) {
  interval = Trim(interval);
  if (interval.size() >= 2 && interval.front() == '\'' && interval.back() == '\'')
    interval = interval.substr(1, interval.size() - 2);
  static const std::map<char, long> kUnit = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400},
                                             {'w', 604800}};
  if (interval.empty() || !kUnit.contains(interval.back())) return 0;
  return std::stol(interval.substr(0, interval.size() - 1)) * kUnit.at(interval.back());
}

// Expands the PostgreSQL data source's macros as Grafana does for `range`.
// An unknown macro fails the test.
std::string ExpandMacros(const std::string& sql, const TimeRange& range, const std::string& where) {
  std::string out;
  std::size_t pos = 0;
  const std::string from = "'" + Rfc3339(range.from) + "'";
  const std::string to = "'" + Rfc3339(range.to) + "'";
  while (true) {
    std::size_t start = sql.find("$__", pos);
    std::size_t open = start == std::string::npos ? start : sql.find('(', start);
    if (start == std::string::npos || open == std::string::npos) break;
    std::string name = sql.substr(start + 3, open - start - 3);
    if (!std::regex_match(name, std::regex("[A-Za-z]+"))) {  // not a macro call
      out += sql.substr(pos, start + 3 - pos);
      pos = start + 3;
      continue;
    }
    // Arguments up to the matching parenthesis, split at top-level commas.
    std::vector<std::string> args(1);
    int depth = 1;
    std::size_t i = open + 1;
    for (; i < sql.size() && depth > 0; ++i) {
      char c = sql[i];
      if (c == '(') ++depth;
      if (c == ')' && --depth == 0) break;
      if (c == ',' && depth == 1)
        args.emplace_back();
      else
        args.back() += c;
    }
    for (auto& a : args) a = Trim(a);
    std::string expansion;
    if (name == "timeFilter" && args.size() == 1) {
      expansion = args[0] + " BETWEEN " + from + " AND " + to;
    } else if ((name == "timeGroup" || name == "timeGroupAlias") && args.size() >= 2) {
      std::string secs = std::to_string(IntervalSeconds(args[1]));
      EXPECT_NE(secs, "0") << where << ": bad interval " << args[1];
      expansion = "floor(extract(epoch from " + args[0] + ")/" + secs + ")*" + secs;
      if (name == "timeGroupAlias") expansion += " AS \"time\"";
    } else if (name == "time" && args.size() == 1) {
      expansion = args[0] + " AS \"time\"";
    } else if (name == "timeEpoch" && args.size() == 1) {
      expansion = "extract(epoch from " + args[0] + ") AS \"time\"";
    } else if (name == "timeFrom") {
      expansion = from;
    } else if (name == "timeTo") {
      expansion = to;
    } else {
      ADD_FAILURE() << where << ": unsupported macro $__" << name;
    }
    out += sql.substr(pos, start - pos) + expansion;
    pos = i + 1;
  }
  out += sql.substr(pos);
  return out;
}

// --------------------------------------------------------------- PromQL names

std::set<std::string> ExportedNames() {
  std::set<std::string> names;
  for (const MetricSpec& spec : Catalogue()) {
    std::string name(spec.name);
    names.insert(name);
    if (spec.type == prometheus::MetricType::Histogram)
      for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(name + suffix);
  }
  return names;
}

std::set<std::string> RecordingRules() {
  std::set<std::string> names;
  YAML::Node rules = YAML::LoadFile(kRulesFile.string());
  for (const auto& group : rules["groups"])
    for (const auto& rule : group["rules"])
      if (rule["record"]) names.insert(rule["record"].as<std::string>());
  return names;
}

// Metric names in a PromQL expression: identifiers that are not inside
// quotes, not followed by "(" (functions) and not label names or keywords.
std::set<std::string> MetricNames(const std::string& expr) {
  std::string unquoted = std::regex_replace(expr, std::regex(R"("[^"]*")"), "\"\"");
  // Drop label matchers, grouping clauses and range/offset brackets.
  unquoted = std::regex_replace(unquoted, std::regex(R"(\{[^}]*\})"), " ");
  unquoted = std::regex_replace(unquoted, std::regex(R"(\[[^\]]*\])"), " ");
  unquoted = std::regex_replace(
      unquoted, std::regex(R"(\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\))"), " ");
  static const std::set<std::string> kKeywords = {"and", "or", "unless", "bool", "offset",
                                                  "inf", "nan", "le"};
  static const std::regex kIdent(R"(([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?)");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(unquoted.begin(), unquoted.end(), kIdent);
       it != std::sregex_iterator(); ++it) {
    if ((*it)[2].matched) continue;  // a function call
    std::string token = (*it)[1];
    std::string lower = token;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (kKeywords.contains(lower)) continue;
    // Skip the numeric-looking tail of "1e9" etc.
    if (it->position() > 0 && std::isdigit(static_cast<unsigned char>(unquoted[it->position() - 1])))
      continue;
    names.insert(token);
  }
  return names;
}

// ===================================================================== lint

class DashboardLint : public ::testing::Test {
 protected:
  std::vector<Dashboard> dashboards_ = LoadDashboards();
};

TEST_F(DashboardLint, TheFourViewsOfTheIssueExist) {
  std::set<std::string> uids;
  for (const auto& d : dashboards_) uids.insert(d.model.value("uid", ""));
  EXPECT_THAT(uids, IsSupersetOf({"driftwatch-overview", "driftwatch-golden-set",
                                  "driftwatch-run-comparison", "driftwatch-governance"}));
}

TEST_F(DashboardLint, EveryDashboardIsProvisionable) {
  ASSERT_FALSE(dashboards_.empty());
  for (const auto& d : dashboards_) {
    const json& m = d.model;
    EXPECT_TRUE(std::regex_match(m.value("uid", ""), std::regex("[a-z0-9-]{1,40}")))
        << d.file << ": uid must be a stable slug of at most 40 characters";
    EXPECT_FALSE(m.value("title", "").empty()) << d.file;
    EXPECT_FALSE(m.value("description", "").empty()) << d.file;
    EXPECT_GE(m.value("schemaVersion", 0), 36) << d.file;
    EXPECT_TRUE(!m.contains("id") || m["id"].is_null()) << d.file << ": provisioned files omit id";
    EXPECT_THAT(m.value("tags", std::vector<std::string>{}), Contains("driftwatch")) << d.file;
    EXPECT_TRUE(m.contains("time") && m["time"].contains("from")) << d.file;
  }
}

TEST_F(DashboardLint, UidsAndTitlesAreUniqueAcrossFiles) {
  std::map<std::string, std::string> uids, titles;
  for (const auto& d : dashboards_) {
    auto [u, new_uid] = uids.emplace(d.model.value("uid", ""), d.file);
    EXPECT_TRUE(new_uid) << d.file << " reuses the uid of " << u->second;
    auto [t, new_title] = titles.emplace(d.model.value("title", ""), d.file);
    EXPECT_TRUE(new_title) << d.file << " reuses the title of " << t->second;
  }
}

TEST_F(DashboardLint, EveryDashboardSelectsItsDataSourcesThroughVariables) {
  for (const auto& d : dashboards_) {
    std::map<std::string, std::string> ds_vars;  // name -> plugin type
    for (const json& v : Variables(d.model))
      if (v.value("type", "") == "datasource") ds_vars[v.value("name", "")] = v.value("query", "");
    EXPECT_FALSE(ds_vars.empty()) << d.file << " has no data source variable";
    for (const auto& [name, type] : ds_vars) {
      EXPECT_TRUE(type == kPromType || type == kPgType) << d.file << ": $" << name << " is " << type;
      // Shared names, so that links with includeVars carry the right one.
      EXPECT_EQ(name, type == kPromType ? "datasource" : "pg_datasource") << d.file;
    }
    auto check = [&](const json& object, const std::string& where) {
      ASSERT_TRUE(object.contains("datasource") && object["datasource"].is_object())
          << where << " has no datasource";
      std::string uid = object["datasource"].value("uid", "");
      std::string type = object["datasource"].value("type", "");
      std::smatch m;
      ASSERT_TRUE(std::regex_match(uid, m, std::regex(R"(\$\{([A-Za-z0-9_]+)\})")))
          << where << " hard-codes data source " << uid;
      ASSERT_TRUE(ds_vars.contains(m[1])) << where << " uses undefined $" << m[1];
      EXPECT_EQ(ds_vars[m[1]], type) << where << ": type does not match $" << m[1];
    };
    for (const json& panel : Panels(d.model)) {
      check(panel, PanelName(d, panel));
      for (const json& target : panel.value("targets", json::array()))
        check(target, PanelName(d, panel) + " target " + target.value("refId", "?"));
    }
    for (const json& v : Variables(d.model))
      if (v.value("type", "") == "query") check(v, d.file + " variable $" + v.value("name", ""));
  }
}

TEST_F(DashboardLint, EveryPanelHasTitleDescriptionAndAPlaceOnTheGrid) {
  for (const auto& d : dashboards_) {
    std::set<int> ids;
    for (const json& panel : d.model.value("panels", json::array())) {
      std::string where = PanelName(d, panel);
      EXPECT_TRUE(ids.insert(panel.value("id", -1)).second) << where << ": duplicate panel id";
      EXPECT_FALSE(panel.value("title", "").empty()) << where;
      if (panel.value("type", "") != "row") {
        EXPECT_FALSE(panel.value("description", "").empty()) << where << " has no description";
      }
      const json& g = panel.value("gridPos", json::object());
      EXPECT_GT(g.value("h", 0), 0) << where;
      EXPECT_GT(g.value("w", 0), 0) << where;
      EXPECT_GE(g.value("x", -1), 0) << where;
      EXPECT_LE(g.value("x", 0) + g.value("w", 0), 24) << where << " is wider than the grid";
    }
  }
}

TEST_F(DashboardLint, PanelsDoNotOverlap) {
  for (const auto& d : dashboards_) {
    const json& panels = d.model["panels"];
    for (std::size_t i = 0; i < panels.size(); ++i)
      for (std::size_t j = i + 1; j < panels.size(); ++j) {
        auto box = [](const json& panel) {
          const json& g = panel["gridPos"];
          return std::array<int, 4>{g["x"].get<int>(), g["y"].get<int>(), g["w"].get<int>(),
                                    g["h"].get<int>()};
        };
        auto [ax, ay, aw, ah] = box(panels[i]);
        auto [bx, by, bw, bh] = box(panels[j]);
        bool overlap = ax < bx + bw && bx < ax + aw && ay < by + bh && by < ay + ah;
        EXPECT_FALSE(overlap) << PanelName(d, panels[i]) << " overlaps "
                              << panels[j].value("title", "");
      }
  }
}

TEST_F(DashboardLint, EveryDataPanelHasAUnitAndAscendingThresholds) {
  static const std::set<std::string> kUnits = {
      "none", "short", "percentunit", "percent", "s", "ms", "currencyUSD", "dateTimeAsIso", "bytes"};
  for (const auto& d : dashboards_)
    for (const json& panel : Panels(d.model)) {
      std::string where = PanelName(d, panel);
      const json& defaults = panel["fieldConfig"]["defaults"];
      std::string type = panel.value("type", "");
      if (type == "timeseries" || type == "stat" || type == "gauge" || type == "table" ||
          type == "bargauge") {
        EXPECT_TRUE(kUnits.contains(defaults.value("unit", "")))
            << where << " has unit \"" << defaults.value("unit", "") << "\"";
      }
      // Threshold steps: a base step (null) then strictly ascending values,
      // in the defaults and in every override.
      std::vector<json> sets = {defaults.value("thresholds", json::object())};
      for (const json& o : panel["fieldConfig"].value("overrides", json::array()))
        for (const json& p : o["properties"])
          if (p["id"] == "thresholds") sets.push_back(p["value"]);
      for (const json& th : sets) {
        if (!th.contains("steps")) continue;
        const json& steps = th["steps"];
        ASSERT_FALSE(steps.empty()) << where;
        EXPECT_TRUE(steps[0]["value"].is_null()) << where << ": first threshold step must be the base";
        for (std::size_t i = 2; i < steps.size(); ++i)
          EXPECT_LT(steps[i - 1]["value"].get<double>(), steps[i]["value"].get<double>()) << where;
      }
    }
}

TEST_F(DashboardLint, RateQueriesUseTheRateInterval) {
  static const std::regex kRate(R"(\b(rate|irate)\s*\(([^\[\]]*)\[([^\]]*)\])");
  int rates = 0;
  for (const auto& d : dashboards_)
    for (const Query& q : Queries(d)) {
      if (q.datasource_type != kPromType) continue;
      for (auto it = std::sregex_iterator(q.text.begin(), q.text.end(), kRate);
           it != std::sregex_iterator(); ++it, ++rates)
        EXPECT_EQ((*it)[3], "$__rate_interval") << q.where << ": " << it->str();
    }
  EXPECT_GT(rates, 0) << "the rule is vacuous: no dashboard uses rate()";
}

TEST_F(DashboardLint, PromQlReferencesOnlyExportedSeriesAndRecordingRules) {
  std::set<std::string> known = ExportedNames();
  std::set<std::string> recorded = RecordingRules();
  known.insert(recorded.begin(), recorded.end());
  known.insert("ALERTS");  // Prometheus's own alert state series
  std::set<std::string> used;
  for (const auto& d : dashboards_)
    for (const Query& q : Queries(d)) {
      if (q.datasource_type != kPromType) continue;
      std::string text = q.text;
      // label_values(selector, label): the label argument is not a metric.
      text = std::regex_replace(text, std::regex(R"(,\s*[A-Za-z_]+\s*\)\s*$)"), ")");
      for (const std::string& name : MetricNames(text)) {
        used.insert(name);
        EXPECT_TRUE(known.contains(name)) << q.where << " queries unknown series " << name;
      }
    }
  EXPECT_THAT(used, IsSupersetOf({"driftwatch_score", "driftwatch_cusum_statistic",
                                  "driftwatch_last_run_failures"}));
}

TEST_F(DashboardLint, EveryVariableReferenceIsDefined) {
  for (const auto& d : dashboards_) {
    std::set<std::string> defined;
    for (const json& v : Variables(d.model)) defined.insert(v.value("name", ""));
    std::vector<std::string> strings;
    Strings(d.model["panels"], &strings);
    Strings(d.model["templating"], &strings);
    for (const std::string& s : strings)
      for (const std::string& name : ReferencedVariables(s))
        EXPECT_TRUE(defined.contains(name)) << d.file << " references undefined $" << name
                                            << " in: " << s.substr(0, 120);
  }
}

TEST_F(DashboardLint, LinksPointAtExistingDashboards) {
  std::set<std::string> uids;
  for (const auto& d : dashboards_) uids.insert(d.model.value("uid", ""));
  std::set<std::pair<std::string, std::string>> edges;  // (from uid, to uid)
  static const std::regex kLink(R"(/d/([A-Za-z0-9_-]+))");
  for (const auto& d : dashboards_) {
    std::vector<std::string> strings;
    Strings(d.model, &strings);
    for (const std::string& s : strings)
      for (auto it = std::sregex_iterator(s.begin(), s.end(), kLink); it != std::sregex_iterator();
           ++it) {
        EXPECT_TRUE(uids.contains((*it)[1])) << d.file << " links to unknown dashboard " << (*it)[1];
        edges.emplace(d.model.value("uid", ""), (*it)[1]);
      }
    // The "Driftwatch dashboards" menu lists every dashboard tagged driftwatch.
    bool menu = false;
    for (const json& link : d.model.value("links", json::array()))
      menu |= link.value("type", "") == "dashboards" &&
              link.value("tags", std::vector<std::string>{}) == std::vector<std::string>{"driftwatch"};
    EXPECT_TRUE(menu) << d.file << " has no link menu to the other Driftwatch dashboards";
  }
  using Edge = std::pair<std::string, std::string>;
  EXPECT_THAT(edges, IsSupersetOf({Edge{"driftwatch-overview", "driftwatch-golden-set"},
                                   Edge{"driftwatch-golden-set", "driftwatch-run-comparison"},
                                   Edge{"driftwatch-run-comparison", "driftwatch-run-comparison"},
                                   Edge{"driftwatch-governance", "driftwatch-golden-set"}}));
}

TEST_F(DashboardLint, SqlTimeSeriesQueriesReturnAnOrderedTimeColumn) {
  int series = 0;
  for (const auto& d : dashboards_)
    for (const Query& q : Queries(d)) {
      if (q.datasource_type != kPgType || q.format != "time_series") continue;
      ++series;
      EXPECT_TRUE(std::regex_search(q.text, std::regex(R"(\$__timeGroupAlias\(|\$__time\(|\btime\b)")))
          << q.where;
      EXPECT_TRUE(std::regex_search(q.text, std::regex(R"(ORDER BY (1|time)\b)"))) << q.where;
      EXPECT_NE(q.text.find("$__timeFilter("), std::string::npos)
          << q.where << " ignores the dashboard's time range";
    }
  EXPECT_GT(series, 0);
}

TEST_F(DashboardLint, ProvisioningDeclaresTheDataSourcesTheDashboardsDefaultTo) {
  YAML::Node file = YAML::LoadFile(kDatasources.string());
  ASSERT_EQ(file["apiVersion"].as<int>(), 1);
  std::map<std::string, std::string> provisioned;  // uid -> type
  for (const auto& ds : file["datasources"])
    provisioned[ds["uid"].as<std::string>()] = ds["type"].as<std::string>();
  for (const auto& d : dashboards_)
    for (const json& v : Variables(d.model)) {
      if (v.value("type", "") != "datasource") continue;
      std::string uid = v["current"].value("value", "");
      ASSERT_TRUE(provisioned.contains(uid)) << d.file << " $" << v["name"] << " defaults to " << uid;
      EXPECT_EQ(provisioned[uid], v.value("query", "")) << d.file << " $" << v["name"];
    }
  // The PostgreSQL data source is read-only: it must not log in as a
  // privileged Driftwatch role.
  for (const auto& ds : file["datasources"])
    if (ds["type"].as<std::string>() == kPgType) {
      std::string user = ds["user"].as<std::string>();
      for (const char* role : {"postgres", "dw_migrator", "dw_runner", "dw_reviewer", "dw_auditor"})
        EXPECT_NE(user, role);
    }
}

TEST_F(DashboardLint, DashboardProviderLoadsTheFolderFromFiles) {
  YAML::Node file = YAML::LoadFile(kProviders.string());
  ASSERT_EQ(file["apiVersion"].as<int>(), 1);
  ASSERT_EQ(file["providers"].size(), 1u);
  YAML::Node provider = file["providers"][0];
  EXPECT_EQ(provider["type"].as<std::string>(), "file");
  EXPECT_FALSE(provider["options"]["path"].as<std::string>().empty());
  EXPECT_FALSE(provider["allowUiUpdates"].as<bool>()) << "edits belong in the repository";
}

// ============================================== SQL against the real schema

const std::string kBaselineRun = "0b0b0b0b-0000-4000-8000-000000000001";
const std::string kCandidateRun = "0c0c0c0c-0000-4000-8000-000000000002";

// Values the test gives the dashboards' variables (SQL interpolation).
std::map<std::string, std::string> SqlValues(const std::string& comparison_id) {
  return {{"golden_set", "support"}, {"target", "gpt"},       {"metric", "pass_rate"},
          {"slice", "all"},          {"comparison", comparison_id}, {"environment", "production"}};
}

// A realistic database: golden set support@1, target gpt in two versions,
// a signed-off baseline run in production, a candidate run that regressed,
// its stored comparison and drift points, and an open review of the
// candidate that fails the policy gates.
class DashboardSql : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tdb_.url().empty());
    ASSERT_EQ(tdb_.Exec(R"sql(
      INSERT INTO core.golden_set (name) VALUES ('support');
      INSERT INTO core.golden_set_version (golden_set_id, version, manifest_sha256, case_count,
                                           source_format, published_by)
        SELECT id, 1, repeat('a', 64), 4, 'native', 'carol' FROM core.golden_set WHERE name = 'support';
      INSERT INTO core.target_version (name, version_hash, provider, model, spec) VALUES
        ('gpt', repeat('1', 64), 'openai-chat', 'gpt-4o-2024-08-06', '{"prompt":"support-v3"}'),
        ('gpt', repeat('2', 64), 'openai-chat', 'gpt-4o-2024-11-20', '{"prompt":"support-v3"}');
    )sql"),
              "");
    AddRun(kBaselineRun, repeat('1'), "2 days",
           {{"pass", "Open Settings > Security and choose Reset password."},
            {"pass", "Refunds take 5 to 7 business days."},
            {"fail", "I am not sure."},
            {"pass", "Your invoice is under Billing > History."}},
           R"({"pass_rate": 0.75, "cost_usd": 0.0123, "results": 4, "infra_failures": 0})");
    AddRun(kCandidateRun, repeat('2'), "1 day",
           {{"pass", "Open Settings > Security and choose Reset password."},
            {"fail", "I cannot help with payments."},
            {"pass", "Exports are under Reports > Export CSV."},
            {"timeout", ""}},
           R"({"pass_rate": 0.5, "cost_usd": 0.0131, "results": 4, "infra_failures": 1})");
    ASSERT_EQ(tdb_.Exec(R"sql(
      INSERT INTO run.comparison (baseline_run_id, candidate_run_id, verdict, severity, seed, policy,
                                  result, result_sha256, computed_by, created_by, created_at)
        VALUES (')sql" + kBaselineRun + "', '" + kCandidateRun + R"sql(', 'regressed', 'critical', '42',
                '{"alpha": 0.05}', '{"verdict": "regressed"}', repeat('c', 64), 'driftwatch 0.1.0',
                'scheduler', now() - interval '1 day');
      INSERT INTO run.comparison_row (comparison_id, metric, slice, kind, n, n_missing, baseline,
                                      candidate, delta, ci_low, ci_high, p_value, q_value, test, b, c,
                                      verdict, severity, detail)
        SELECT id, 'pass_rate', 'all', 'binary', 4, 0, 0.75, 0.5, -0.25, -0.48, -0.02, 0.012, 0.024,
               'mcnemar_exact', 2, 1, 'regressed', 'critical', '{}'::jsonb FROM run.comparison
        UNION ALL
        SELECT id, 'pass_rate', 'billing', 'binary', 2, 0, 1, 1, 0, -0.3, 0.3, 1, 1,
               'mcnemar_exact', 0, 0, 'unchanged', 'none', '{}'::jsonb FROM run.comparison;
      INSERT INTO run.drift_point (run_id, golden_set, target, metric, value, baseline_run_id,
                                   cusum_upper, cusum_lower, ewma, in_alarm, runs_in_alarm, state,
                                   created_at) VALUES
        (')sql" + kBaselineRun + R"sql(', 'support', 'gpt', 'pass_rate', 0.75, NULL, 0, 0, 0, false, 0,
         '{}', now() - interval '2 days'),
        (')sql" + kCandidateRun + "', 'support', 'gpt', 'pass_rate', 0.5, '" + kBaselineRun +
                            R"sql(', 0, 5.6, -1.1, true, 1, '{}', now() - interval '1 day');
    )sql"),
              "");
    // Sign-off of the baseline in production (two approvals), then an open
    // review of the candidate with its critical comparison.
    // (TestDatabase::Query does not commit: write with Exec, read with Query.)
    ASSERT_EQ(tdb_.Exec("SELECT gov.request_review('alice', 'support', 1, 'gpt', '11111111', '" +
                        kBaselineRun + "', 'production', 2, NULL, 'driftwatch 0.1.0', 'first sign-off')"),
              "");
    std::string review = tdb_.Query("SELECT id FROM gov.review WHERE run_id = '" + kBaselineRun + "'");
    std::string evidence = tdb_.Query("SELECT evidence_sha256 FROM gov.review WHERE id = '" + review + "'");
    for (const char* reviewer : {"bob", "carol"})
      ASSERT_EQ(tdb_.Exec("SELECT gov.decide('" + review + "', '" + reviewer + "', 'approve', '" +
                          evidence + "', 'pass rate holds', NULL)"),
                "");
    ASSERT_EQ(tdb_.Query("SELECT status FROM gov.review WHERE id = '" + review + "'"), "approved");
    ASSERT_EQ(tdb_.Exec("SELECT gov.request_review('alice', 'support', 1, 'gpt', '22222222', '" +
                        kCandidateRun + "', 'production', 2, "
                        "'{\"verdict\":\"regressed\",\"severity\":\"critical\",\"metrics\":[]}', "
                        "'driftwatch 0.1.0', 'model upgrade')"),
              "");
    ASSERT_EQ(tdb_.Query("SELECT count(*) FROM gov.review WHERE status = 'open' AND NOT gates_passed"), "1");
    comparison_id_ = tdb_.Query("SELECT id FROM run.comparison");
    ASSERT_FALSE(comparison_id_.empty());
  }

  static std::string repeat(char c) { return std::string(64, c); }

  // A finished run of support@1 on gpt `version_hash` created `age` ago with
  // one result per (outcome, output).
  void AddRun(const std::string& id, const std::string& version_hash, const std::string& age,
              const std::vector<std::pair<std::string, std::string>>& results,
              const std::string& summary) {
    std::string sql =
        "INSERT INTO run.run (id, golden_set_version_id, target_version_id, trigger, repeats, run_salt, "
        "requested_by, runner_build, runner_host, created_at, started_at) "
        "SELECT '" + id + "', v.id, t.id, 'schedule', 1, 'salt', 'scheduler', 'driftwatch 0.1.0', "
        "'runner-1', now() - interval '" + age + "', now() - interval '" + age + "' "
        "FROM core.golden_set_version v, core.target_version t WHERE t.version_hash = '" +
        version_hash + "';";
    for (std::size_t i = 0; i < results.size(); ++i) {
      const auto& [outcome, output] = results[i];
      sql += "INSERT INTO run.result (run_id, case_id, repeat, outcome, score, output, latency_ms, "
             "input_tokens, output_tokens, cost_usd) VALUES ('" + id + "', 'case-" +
             std::to_string(i + 1) + "', 0, '" + outcome + "', " + (outcome == "pass" ? "1" : "0") +
             ", '" + output + "', 850, 420, 60, 0.003);";
    }
    sql += "UPDATE run.run SET status = 'done', finished_at = started_at + interval '42 seconds', "
           "summary = '" + summary + "' WHERE id = '" + id + "';";
    ASSERT_EQ(tdb_.Exec(sql), "");
  }

  // Runs `sql` in a read-only transaction as dw_reader. Returns the rows or
  // sets `error`.
  pqxx::result RunAsReader(const std::string& sql, std::string* error) {
    try {
      pqxx::connection conn(tdb_.url());
      pqxx::read_transaction tx(conn);
      tx.exec("SET LOCAL ROLE dw_reader");
      return tx.exec(sql);
    } catch (const std::exception& e) {
      *error = e.what();
      return {};
    }
  }

  TimeRange LastMonth() const {
    auto now = std::chrono::system_clock::now();
    return {now - std::chrono::hours(24 * 30), now + std::chrono::minutes(1)};
  }

  dw::testing::TestDatabase tdb_;
  std::string comparison_id_;
};

TEST_F(DashboardSql, TheReaderRoleCannotReadTheTablesBehindTheViews) {
  std::string error;
  RunAsReader("SELECT output FROM run.result", &error);
  EXPECT_THAT(error, ::testing::HasSubstr("permission denied"));
  error.clear();
  RunAsReader("SELECT actor FROM audit.event", &error);
  EXPECT_THAT(error, ::testing::HasSubstr("permission denied"));
}

TEST_F(DashboardSql, EveryQueryRunsAsTheReaderRoleAndFindsTheFixture) {
  int queries = 0;
  for (const auto& d : LoadDashboards())
    for (const Query& q : Queries(d)) {
      if (q.datasource_type != kPgType) continue;
      ++queries;
      std::string sql =
          ExpandMacros(InterpolateSql(q.text, d.model, SqlValues(comparison_id_), q.where), LastMonth(),
                       q.where);
      std::string error;
      pqxx::result rows = RunAsReader(sql, &error);
      EXPECT_EQ(error, "") << q.where << "\n" << sql;
      EXPECT_FALSE(rows.empty()) << q.where << " finds nothing in the fixture:\n" << sql;
    }
  EXPECT_GE(queries, 20);
}

TEST_F(DashboardSql, TimeSeriesQueriesReturnTimeOrderedRows) {
  for (const auto& d : LoadDashboards())
    for (const Query& q : Queries(d)) {
      if (q.datasource_type != kPgType || q.format != "time_series") continue;
      std::string sql =
          ExpandMacros(InterpolateSql(q.text, d.model, SqlValues(comparison_id_), q.where), LastMonth(),
                       q.where);
      std::string error;
      pqxx::result rows = RunAsReader(sql, &error);
      ASSERT_EQ(error, "") << q.where;
      ASSERT_FALSE(rows.empty()) << q.where;
      ASSERT_EQ(std::string(rows.column_name(0)), "time") << q.where;
      // "time" is a timestamptz (ISO text in one session time zone) or an
      // epoch number from $__timeGroupAlias.
      auto key = [](const pqxx::field& f) {
        std::string text = f.c_str();
        char* end = nullptr;
        double number = std::strtod(text.c_str(), &end);
        return std::make_pair(*end == '\0' ? number : 0.0, *end == '\0' ? std::string() : text);
      };
      for (std::size_t i = 1; i < rows.size(); ++i)
        EXPECT_LE(key(rows[i - 1][0]), key(rows[i][0])) << q.where << " is not ordered by time";
    }
}

TEST_F(DashboardSql, RegressedCasesShowBaselineAndCandidateOutputSideBySide) {
  const Dashboard* comparison = nullptr;
  auto dashboards = LoadDashboards();
  for (const auto& d : dashboards)
    if (d.model.value("uid", "") == "driftwatch-run-comparison") comparison = &d;
  ASSERT_NE(comparison, nullptr);
  std::string sql;
  for (const json& panel : Panels(comparison->model))
    if (panel.value("title", "").starts_with("Regressed cases:"))
      sql = panel["targets"][0]["rawSql"];
  ASSERT_FALSE(sql.empty());
  std::string error;
  pqxx::result rows = RunAsReader(
      ExpandMacros(InterpolateSql(sql, comparison->model, SqlValues(comparison_id_), "regressed"),
                   LastMonth(), "regressed"),
      &error);
  ASSERT_EQ(error, "");
  // case-2 went pass -> fail and case-4 pass -> timeout; case-3 was fixed.
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_STREQ(rows[0]["case_id"].c_str(), "case-2");
  EXPECT_STREQ(rows[0]["baseline_output"].c_str(), "Refunds take 5 to 7 business days.");
  EXPECT_STREQ(rows[0]["candidate_output"].c_str(), "I cannot help with payments.");
  EXPECT_STREQ(rows[1]["case_id"].c_str(), "case-4");
  EXPECT_STREQ(rows[1]["candidate_outcome"].c_str(), "timeout");
}

}  // namespace
}  // namespace dw::metrics
