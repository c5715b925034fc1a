#include "server/api.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <optional>
#include <pqxx/pqxx>
#include <set>

#include "core/json_text.h"
#include "core/utf8.h"
#include "governance/review.h"
#include "metrics/exposition.h"
#include "sched/job_queue.h"
#include "sched/scheduler.h"
#include "store/comparison_repo.h"
#include "store/goldenset_repo.h"
#include "store/migrations.h"
#include "store/run_repo.h"

namespace dw::server {
namespace {

using Json = nlohmann::json;
using Query = std::map<std::string, std::string>;
using Params = std::vector<std::string>;

// ---- request parsing --------------------------------------------------------

// Text the database can take as a parameter: UTF-8 without NUL characters.
bool IsStorableText(std::string_view s) { return !FindInvalidUtf8(s) && s.find('\0') == std::string_view::npos; }

// Percent-decodes `s`; the result must be storable text.
Result<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      if (i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0)
        return Fail(ErrorKind::kInvalidInput, "malformed percent-encoding in the request target");
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  if (!IsStorableText(out))
    return Fail(ErrorKind::kInvalidInput,
                "the request target must be UTF-8 text without NUL characters (after percent-decoding)");
  return out;
}

struct Target {
  std::vector<std::string> segments;  // decoded path segments
  std::string path;
  Query query;
};

Result<Target> ParseTarget(const std::string& raw) {
  Target t;
  if (raw.empty() || raw[0] != '/') return Fail(ErrorKind::kInvalidInput, "the request target must start with '/'");
  size_t q = raw.find('?');
  t.path = raw.substr(0, q);
  size_t start = 1;
  while (start <= t.path.size()) {
    size_t slash = t.path.find('/', start);
    std::string_view seg(t.path.data() + start, (slash == std::string::npos ? t.path.size() : slash) - start);
    if (!seg.empty() || slash != std::string::npos) {
      auto decoded = PercentDecode(seg, false);
      if (!decoded) return Fail(decoded.error());
      t.segments.push_back(*decoded);
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (!t.segments.empty() && t.segments.back().empty()) t.segments.pop_back();  // trailing slash
  if (q != std::string::npos) {
    std::string_view query(raw.data() + q + 1, raw.size() - q - 1);
    size_t pos = 0;
    while (pos <= query.size()) {
      size_t amp = query.find('&', pos);
      std::string_view part = query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
      if (!part.empty()) {
        size_t eq = part.find('=');
        auto key = PercentDecode(part.substr(0, eq), true);
        if (!key) return Fail(key.error());
        auto value = PercentDecode(eq == std::string_view::npos ? "" : part.substr(eq + 1), true);
        if (!value) return Fail(value.error());
        if (t.query.count(*key)) return Fail(ErrorKind::kInvalidInput, "query parameter '" + *key + "' is given twice");
        t.query[*key] = *value;
      }
      if (amp == std::string_view::npos) break;
      pos = amp + 1;
    }
  }
  return t;
}

// ---- replies ----------------------------------------------------------------

HttpReply JsonReply(int status, const Json& body) {
  HttpReply reply;
  reply.status = status;
  reply.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return reply;
}

HttpReply ErrorReply(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kInvalidInput:
      return JsonError(400, "invalid_request", error.message);
    case ErrorKind::kNotFound:
      return JsonError(404, "not_found", error.message);
    case ErrorKind::kConflict:
      return JsonError(409, "conflict", error.message);
    case ErrorKind::kPermissionDenied:
      return JsonError(403, "forbidden", error.message);
    case ErrorKind::kUnavailable:
      return JsonError(503, "unavailable", error.message);
    case ErrorKind::kInternal:
      break;
  }
  return JsonError(500, "internal", error.message);
}

// ---- argument validation ----------------------------------------------------

Status OnlyKnownQuery(const Query& query, std::initializer_list<const char*> known) {
  for (const auto& [key, value] : query) {
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) return Fail(ErrorKind::kInvalidInput, "unknown query parameter '" + key + "'");
  }
  return Ok();
}

Result<int> IntParam(const Query& query, const char* name, int fallback, int min, int max) {
  auto it = query.find(name);
  if (it == query.end()) return fallback;
  const std::string& v = it->second;
  if (v.empty() || v.size() > 9 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return Fail(ErrorKind::kInvalidInput, std::string(name) + " must be a whole number");
  int n = std::stoi(v);
  if (n < min || n > max)
    return Fail(ErrorKind::kInvalidInput,
                std::string(name) + " must be between " + std::to_string(min) + " and " + std::to_string(max));
  return n;
}

std::string StrParam(const Query& query, const char* name) {
  auto it = query.find(name);
  return it == query.end() ? "" : it->second;
}

// A 415 reply unless the request declares a JSON body.
std::optional<HttpReply> RequireJsonBody(const HttpRequestData& request) {
  auto ct = request.headers.find("content-type");
  if (ct != request.headers.end() && ct->second.rfind("application/json", 0) == 0) return std::nullopt;
  return JsonError(415, "unsupported_media_type", "the request body must be application/json");
}

Result<Json> ParseObjectBody(const HttpRequestData& request, std::initializer_list<const char*> known) {
  auto parsed = ParseJsonText(request.body);
  if (!parsed) return Fail(ErrorKind::kInvalidInput, "the request body is not valid JSON: " + parsed.error().message);
  Json body = std::move(*parsed);
  if (!body.is_object()) return Fail(ErrorKind::kInvalidInput, "the request body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) return Fail(ErrorKind::kInvalidInput, "unknown field '" + key + "'");
  }
  return body;
}

Result<std::string> StringField(const Json& body, const char* name, bool required) {
  if (!body.contains(name)) {
    if (required) return Fail(ErrorKind::kInvalidInput, std::string("missing field '") + name + "'");
    return std::string();
  }
  if (!body[name].is_string()) return Fail(ErrorKind::kInvalidInput, std::string("'") + name + "' must be a string");
  const auto& text = body[name].get_ref<const std::string&>();
  if (text.find('\0') != std::string::npos)
    return Fail(ErrorKind::kInvalidInput, std::string("'") + name + "' must not contain NUL characters");
  return text;
}

Result<int> IntField(const Json& body, const char* name, int fallback, int min, int max) {
  if (!body.contains(name)) return fallback;
  if (!body[name].is_number_integer())
    return Fail(ErrorKind::kInvalidInput, std::string("'") + name + "' must be an integer");
  long long v = body[name].get<long long>();
  if (v < min || v > max)
    return Fail(ErrorKind::kInvalidInput,
                std::string("'") + name + "' must be between " + std::to_string(min) + " and " + std::to_string(max));
  return static_cast<int>(v);
}

// "YYYY-MM-DDTHH:MM:SSZ" (UTC): a real date and time of the years 1970 to
// 2200 (no normalising of 2030-02-31, no overflow past the clock's range).
std::optional<std::chrono::system_clock::time_point> ParseUtc(const std::string& text) {
  int y, mo, d, h, mi, s;
  char z = 0;
  if (text.size() != 20 || std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z) != 7 ||
      z != 'Z')
    return std::nullopt;
  using namespace std::chrono;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok() || y < 1970 || y > 2200 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59)
    return std::nullopt;
  return system_clock::time_point(sys_days(date) + hours(h) + minutes(mi) + seconds(s));
}

std::string IsoUtc(std::chrono::system_clock::time_point t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// ---- JSON forms -------------------------------------------------------------

Json OptString(const std::string& s) { return s.empty() ? Json() : Json(s); }

Json VersionJson(const store::PublishedVersion& v) {
  return {{"name", v.name},
          {"version", v.version},
          {"manifest_sha256", v.manifest_sha256},
          {"case_count", v.case_count},
          {"source_format", v.source_format},
          {"published_by", v.published_by},
          {"published_at", v.published_at},
          {"description", v.description}};
}

Json RunJson(const store::RunInfo& r) {
  return {{"id", r.id},
          {"golden_set", r.golden_set},
          {"golden_set_version", r.golden_set_version},
          {"manifest_sha256", r.manifest_sha256},
          {"target", r.target},
          {"target_version", r.target_version_hash},
          {"model", r.target_model},
          {"status", r.status},
          {"repeats", r.repeats},
          {"requested_by", r.requested_by},
          {"created_at", r.created_at},
          {"finished_at", OptString(r.finished_at)},
          {"summary", r.summary},
          {"error", OptString(r.error)}};
}

Json ResultJson(const ReplayResult& r) {
  Json scores = Json::array();
  for (const auto& s : r.scores)
    scores.push_back({{"scorer", s.scorer},
                      {"value", s.value ? Json(*s.value) : Json()},
                      {"passed", s.passed ? Json(*s.passed) : Json()},
                      {"weight", s.weight},
                      {"reason", s.reason}});
  return {{"case_id", r.case_id},
          {"repeat", r.repeat},
          {"outcome", std::string(OutcomeName(r.outcome))},
          {"score", r.score ? Json(*r.score) : Json()},
          {"output", r.output},
          {"latency_ms", r.latency_ms},
          {"input_tokens", r.input_tokens},
          {"output_tokens", r.output_tokens},
          {"cost_usd", r.cost_usd},
          {"attempts", r.attempts},
          {"error_detail", OptString(r.error_detail)},
          {"scores", scores}};
}

Json ReviewJson(const governance::Review& r) {
  return {{"id", r.id},
          {"golden_set", r.golden_set},
          {"golden_set_version", r.golden_set_version},
          {"target", r.target},
          {"target_version", r.target_version_hash},
          {"environment", r.environment},
          {"run_id", r.run_id},
          {"baseline_run_id", r.baseline_run_id ? Json(*r.baseline_run_id) : Json()},
          {"requested_by", r.requested_by},
          {"requested_at", r.requested_at},
          {"status", r.status},
          {"min_approvals", r.min_approvals},
          {"approvals", r.approvals},
          {"gates_passed", r.gates_passed},
          {"evidence_sha256", r.evidence_sha256},
          {"closed_at", r.closed_at ? Json(*r.closed_at) : Json()},
          {"note", r.note}};
}

Json ReviewDetailJson(const governance::ReviewDetail& d) {
  Json j = ReviewJson(d.review);
  j["evidence"] = d.evidence;
  j["comparison"] = d.comparison ? *d.comparison : Json();
  Json gates = Json::array();
  for (const auto& g : d.gates) gates.push_back({{"gate", g.name}, {"passed", g.passed}, {"detail", g.detail}});
  j["gates"] = gates;
  Json decisions = Json::array();
  for (const auto& x : d.decisions)
    decisions.push_back({{"id", x.id},
                         {"reviewer", x.reviewer},
                         {"decision", governance::DecisionKindName(x.kind)},
                         {"reason", x.reason},
                         {"waiver_expires_at", x.waiver_expires_at ? Json(*x.waiver_expires_at) : Json()},
                         {"evidence_sha256", x.evidence_sha256},
                         {"decided_at", x.decided_at}});
  j["decisions"] = decisions;
  j["current_evidence_sha256"] = d.current_evidence_sha256 ? Json(*d.current_evidence_sha256) : Json();
  j["waiver_in_force"] = d.waiver_in_force;
  return j;
}

bool IsRunIdPrefix(const std::string& s) {
  return s.size() >= 8 && s.size() <= 36 && s.find_first_not_of("0123456789abcdef-") == std::string::npos;
}

Result<long long> ParseId(const std::string& s, const char* what) {
  if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return Fail(ErrorKind::kInvalidInput, std::string("'") + s + "' is not a " + what + " id");
  return std::stoll(s);
}

// ---- routing ----------------------------------------------------------------

struct Caller {
  ApiToken token;
};

struct Context {
  const HttpRequestData& request;
  const Target& target;
  const Params& params;  // the {placeholders} of the route, in order
  const Caller& caller;
};

// One endpoint: method, path pattern, required scope, handler.
struct Route {
  const char* method;
  std::vector<const char*> pattern;  // "{}" matches one segment
  Scope scope;
  std::function<HttpReply(const Context&)> handle;
};

}  // namespace

struct Api::RouteTable {
  std::vector<Route> routes;
};

Api::Api(const std::string& database_url, ApiOptions options, ApiHooks hooks)
    : pool_(database_url, options.database_connections),
      options_(options),
      hooks_(std::move(hooks)),
      per_token_(options.rate_per_second, options.burst),
      auth_failures_(options.auth_failures_per_second, options.auth_failure_burst) {
  BuildRoutes();
}

HttpHandler Api::handler() {
  return [this](const HttpRequestData& request) { return Handle(request); };
}

HttpReply Api::Handle(const HttpRequestData& request) {
  const auto started = std::chrono::steady_clock::now();
  std::string route = "unmatched";
  HttpReply reply;
  try {
    reply = Dispatch(request, route);
  } catch (const std::exception& e) {
    reply = JsonError(500, "internal", std::string("internal error: ") + e.what());
  } catch (...) {
    reply = JsonError(500, "internal", "internal error");
  }
  Record(route, reply.status, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return reply;
}

void Api::Record(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(metrics_mu_);
  ++requests_[{route, status}];
  size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
  ++latency_counts_[bucket];
  latency_sum_ += seconds;
}

std::string Api::MetricsText() const {
  std::lock_guard<std::mutex> lock(metrics_mu_);
  std::string out;
  metrics::AppendFamilyHeader(out, "driftwatch_http_requests_total", "API requests handled, by route and status.",
                              prometheus::MetricType::Counter);
  for (const auto& [key, count] : requests_) {
    const std::string code = std::to_string(key.second);
    metrics::LabelRef labels[] = {{"code", code}, {"route", key.first}};
    metrics::AppendSample(out, "driftwatch_http_requests_total", "", labels, static_cast<double>(count));
  }
  metrics::AppendFamilyHeader(out, "driftwatch_http_request_duration_seconds",
                              "Time to handle an API request, in seconds.", prometheus::MetricType::Histogram);
  std::uint64_t cumulative = 0;
  for (size_t i = 0; i <= kBuckets.size(); ++i) {
    cumulative += latency_counts_[i];
    const std::string le = i < kBuckets.size() ? metrics::FormatValue(kBuckets[i]) : "+Inf";
    metrics::LabelRef labels[] = {{"le", le}};
    metrics::AppendSample(out, "driftwatch_http_request_duration_seconds", "_bucket", labels,
                          static_cast<double>(cumulative));
  }
  metrics::AppendSample(out, "driftwatch_http_request_duration_seconds", "_sum", {}, latency_sum_);
  metrics::AppendSample(out, "driftwatch_http_request_duration_seconds", "_count", {}, static_cast<double>(cumulative));
  return out;
}

HttpReply Api::WithDb(const std::function<Result<Json>(store::Database&)>& fn, int status) {
  Json out;
  Status s = pool_.Use([&](store::Database& db) -> Status {
    auto r = fn(db);
    if (!r) return Fail(r.error());
    out = std::move(*r);
    return Ok();
  });
  if (!s) return ErrorReply(s.error());
  return JsonReply(status, out);
}

void Api::BuildRoutes() {
  auto table = std::make_shared<RouteTable>();
  table->routes = {
      {"GET",
       {"api", "v1", "goldensets"},
       Scope::kRead,
       [this](const Context& c) {
         if (auto s = OnlyKnownQuery(c.target.query, {}); !s) return ErrorReply(s.error());
         return WithDb([](store::Database& db) -> Result<Json> {
           auto sets = store::ListGoldenSets(db);
           if (!sets) return Fail(sets.error());
           Json arr = Json::array();
           for (const auto& v : *sets) arr.push_back(VersionJson(v));
           return Json{{"goldensets", arr}};
         });
       }},
      {"GET",
       {"api", "v1", "goldensets", "{}"},
       Scope::kRead,
       [this](const Context& c) {
         if (auto s = OnlyKnownQuery(c.target.query, {}); !s) return ErrorReply(s.error());
         const std::string name = c.params[0];
         return WithDb([&](store::Database& db) -> Result<Json> {
           auto versions = store::ListVersions(db, name);
           if (!versions) return Fail(versions.error());
           if (versions->empty()) return Fail(ErrorKind::kNotFound, "no golden set named '" + name + "'");
           Json arr = Json::array();
           for (const auto& v : *versions) arr.push_back(VersionJson(v));
           return Json{{"name", name}, {"versions", arr}};
         });
       }},
      {"GET",
       {"api", "v1", "runs"},
       Scope::kRead,
       [this](const Context& c) {
         if (auto s = OnlyKnownQuery(c.target.query, {"goldenset", "target", "limit"}); !s)
           return ErrorReply(s.error());
         auto limit = IntParam(c.target.query, "limit", 50, 1, 500);
         if (!limit) return ErrorReply(limit.error());
         return WithDb([&](store::Database& db) -> Result<Json> {
           auto runs =
               store::ListRuns(db, StrParam(c.target.query, "goldenset"), StrParam(c.target.query, "target"), *limit);
           if (!runs) return Fail(runs.error());
           Json arr = Json::array();
           for (const auto& r : *runs) arr.push_back(RunJson(r));
           return Json{{"runs", arr}};
         });
       }},
      {"GET",
       {"api", "v1", "runs", "{}"},
       Scope::kRead,
       [this](const Context& c) {
         if (auto s = OnlyKnownQuery(c.target.query, {}); !s) return ErrorReply(s.error());
         if (!IsRunIdPrefix(c.params[0]))
           return JsonError(400, "invalid_request", "'" + c.params[0] + "' is not a run id");
         return WithDb([&](store::Database& db) -> Result<Json> {
           auto run = store::GetRun(db, c.params[0]);
           if (!run) return Fail(run.error());
           return Json{{"run", RunJson(*run)}};
         });
       }},
      {"GET",
       {"api", "v1", "runs", "{}", "report"},
       Scope::kRead,
       [this](const Context& c) {
         if (auto s = OnlyKnownQuery(c.target.query, {"results"}); !s) return ErrorReply(s.error());
         auto max_results = IntParam(c.target.query, "results", 1000, 0, 100000);
         if (!max_results) return ErrorReply(max_results.error());
         if (!IsRunIdPrefix(c.params[0]))
           return JsonError(400, "invalid_request", "'" + c.params[0] + "' is not a run id");
         return WithDb([&](store::Database& db) -> Result<Json> {
           auto run = store::GetRun(db, c.params[0]);
           if (!run) return Fail(run.error());
           auto results = store::LoadResults(db, run->id, true);
           if (!results) return Fail(results.error());
           auto comparison = store::LatestComparisonFor(db, run->id);
           if (!comparison) return Fail(comparison.error());
           Json arr = Json::array();
           for (size_t i = 0; i < results->size() && i < static_cast<size_t>(*max_results); ++i)
             arr.push_back(ResultJson((*results)[i]));
           Json outcomes = Json::object();
           for (const auto& r : *results) {
             std::string name(OutcomeName(r.outcome));
             outcomes[name] = outcomes.value(name, 0) + 1;
           }
           return Json{{"run", RunJson(*run)},
                       {"summary", run->summary},
                       {"outcomes", outcomes},
                       {"comparison", *comparison ? **comparison : Json()},
                       {"results_total", results->size()},
                       {"results", arr}};
         });
       }},
      {"POST",
       {"api", "v1", "runs"},
       Scope::kRun,
       [this](const Context& c) {
         if (auto refused = RequireJsonBody(c.request)) return *refused;
         auto body = ParseObjectBody(c.request, {"goldenset", "target", "repeat", "priority", "max_attempts"});
         if (!body) return ErrorReply(body.error());
         auto goldenset = StringField(*body, "goldenset", true);
         auto target_name = StringField(*body, "target", true);
         auto repeat = IntField(*body, "repeat", 1, 1, 100);
         auto priority = IntField(*body, "priority", 0, -100, 100);
         auto max_attempts = IntField(*body, "max_attempts", 3, 1, 10);
         if (!goldenset) return ErrorReply(goldenset.error());
         if (!target_name) return ErrorReply(target_name.error());
         if (!repeat) return ErrorReply(repeat.error());
         if (!priority) return ErrorReply(priority.error());
         if (!max_attempts) return ErrorReply(max_attempts.error());
         auto ref = store::ParseVersionRef(*goldenset);
         if (!ref || ref->first.empty())
           return JsonError(400, "invalid_request", "'goldenset' must be NAME or NAME@VERSION");
         auto config = hooks_.config ? hooks_.config() : nullptr;
         if (config && !config->targets.count(*target_name)) {
           std::string names;
           for (const auto& [n, t] : config->targets) names += (names.empty() ? "" : ", ") + n;
           return JsonError(400, "invalid_request",
                            "unknown target '" + *target_name + "'; configured targets: " + names);
         }
         HttpReply reply = WithDb(
             [&](store::Database& db) -> Result<Json> {
               auto version = store::FindVersion(db, ref->first, ref->second);
               if (!version) return Fail(version.error());
               sched::JobSpec spec;
               spec.goldenset = version->name + "@" + std::to_string(version->version);
               spec.target = *target_name;
               spec.repeats = *repeat;
               spec.priority = *priority;
               spec.max_attempts = *max_attempts;
               spec.trigger = "api";
               spec.requested_by = c.caller.token.name;
               auto job = sched::EnqueueJob(db, spec, c.caller.token.name);
               if (!job) return Fail(job.error());
               if (!*job) return Fail(ErrorKind::kConflict, "the job was not enqueued");
               return Json{{"job", sched::JobToJson(**job)}};
             },
             202);
         if (reply.status == 202 && hooks_.job_enqueued) hooks_.job_enqueued();
         return reply;
       }},
      {"GET",
       {"api", "v1", "comparisons"},
       Scope::kRead,
       [this](const Context& c) {
         if (auto s = OnlyKnownQuery(c.target.query, {"run", "limit"}); !s) return ErrorReply(s.error());
         auto limit = IntParam(c.target.query, "limit", 50, 1, 500);
         if (!limit) return ErrorReply(limit.error());
         const std::string run = StrParam(c.target.query, "run");
         if (!run.empty() && !IsRunIdPrefix(run)) return JsonError(400, "invalid_request", "'run' is not a run id");
         return WithDb([&](store::Database& db) -> Result<Json> {
           Json arr = Json::array();
           pqxx::read_transaction tx(db.connection());
           for (const auto& row :
                tx.exec_params("SELECT c.id, c.baseline_run_id::text, c.candidate_run_id::text, c.verdict, c.severity, "
                               "c.common_cases_only, c.created_by, "
                               "to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
                               "FROM run.comparison c WHERE $1 = '' OR c.candidate_run_id::text LIKE $1 || '%' "
                               "OR c.baseline_run_id::text LIKE $1 || '%' ORDER BY c.id DESC LIMIT $2",
                               run, *limit))
             arr.push_back({{"id", row[0].as<long long>()},
                            {"baseline_run_id", row[1].as<std::string>()},
                            {"candidate_run_id", row[2].as<std::string>()},
                            {"verdict", row[3].as<std::string>()},
                            {"severity", row[4].as<std::string>()},
                            {"common_cases_only", row[5].as<bool>()},
                            {"created_by", row[6].as<std::string>()},
                            {"created_at", row[7].as<std::string>()}});
           return Json{{"comparisons", arr}};
         });
       }},
      {"GET",
       {"api", "v1", "comparisons", "{}"},
       Scope::kRead,
       [this](const Context& c) {
         if (auto s = OnlyKnownQuery(c.target.query, {}); !s) return ErrorReply(s.error());
         auto id = ParseId(c.params[0], "comparison");
         if (!id) return ErrorReply(id.error());
         return WithDb([&](store::Database& db) -> Result<Json> {
           pqxx::read_transaction tx(db.connection());
           auto rows = tx.exec_params("SELECT result::text, result_sha256 FROM run.comparison WHERE id = $1", *id);
           if (rows.empty()) return Fail(ErrorKind::kNotFound, "no comparison with id " + std::to_string(*id));
           return Json{{"id", *id},
                       {"result_sha256", rows[0][1].as<std::string>()},
                       {"comparison", Json::parse(rows[0][0].c_str())}};
         });
       }},
      {"GET",
       {"api", "v1", "reviews"},
       Scope::kRead,
       [this](const Context& c) {
         if (auto s = OnlyKnownQuery(c.target.query, {"status", "target", "environment", "limit"}); !s)
           return ErrorReply(s.error());
         auto limit = IntParam(c.target.query, "limit", 100, 1, 500);
         if (!limit) return ErrorReply(limit.error());
         governance::ReviewFilter filter;
         filter.limit = *limit;
         if (auto v = StrParam(c.target.query, "status"); !v.empty()) filter.status = v;
         if (auto v = StrParam(c.target.query, "target"); !v.empty()) filter.target = v;
         if (auto v = StrParam(c.target.query, "environment"); !v.empty()) filter.environment = v;
         return WithDb([&](store::Database& db) -> Result<Json> {
           auto reviews = governance::ListReviews(db, filter);
           if (!reviews) return Fail(reviews.error());
           Json arr = Json::array();
           for (const auto& r : *reviews) arr.push_back(ReviewJson(r));
           return Json{{"reviews", arr}};
         });
       }},
      {"GET",
       {"api", "v1", "reviews", "{}"},
       Scope::kRead,
       [this](const Context& c) {
         if (auto s = OnlyKnownQuery(c.target.query, {}); !s) return ErrorReply(s.error());
         return WithDb([&](store::Database& db) -> Result<Json> {
           auto detail = governance::ShowReview(db, c.params[0]);
           if (!detail) return Fail(detail.error());
           return Json{{"review", ReviewDetailJson(*detail)}};
         });
       }},
      {"POST",
       {"api", "v1", "reviews", "{}", "decisions"},
       Scope::kReview,
       [this](const Context& c) {
         if (auto refused = RequireJsonBody(c.request)) return *refused;
         auto body = ParseObjectBody(c.request, {"decision", "evidence_sha256", "reason", "waiver_expires_at"});
         if (!body) return ErrorReply(body.error());
         auto decision = StringField(*body, "decision", true);
         auto evidence = StringField(*body, "evidence_sha256", true);
         auto reason = StringField(*body, "reason", false);
         auto expires = StringField(*body, "waiver_expires_at", false);
         if (!decision) return ErrorReply(decision.error());
         if (!evidence) return ErrorReply(evidence.error());
         if (!reason) return ErrorReply(reason.error());
         if (!expires) return ErrorReply(expires.error());
         auto kind = governance::ParseDecisionKind(*decision);
         if (!kind) return JsonError(400, "invalid_request", "'decision' must be approve, reject or waive");
         governance::DecisionInput input;
         input.reviewer = c.caller.token.name;
         input.kind = *kind;
         input.evidence_sha256 = *evidence;
         input.reason = *reason;
         if (!expires->empty()) {
           auto t = ParseUtc(*expires);
           if (!t)
             return JsonError(400, "invalid_request",
                              "'waiver_expires_at' must be a UTC time YYYY-MM-DDTHH:MM:SSZ from 1970 to 2200");
           input.waiver_expires_at = *t;
         }
         return WithDb([&](store::Database& db) -> Result<Json> {
           auto id = governance::ResolveReviewId(db, c.params[0]);
           if (!id) return Fail(id.error());
           input.review_id = *id;
           auto review = governance::Decide(db, input);
           if (!review) return Fail(review.error());
           return Json{{"review", ReviewJson(*review)}};
         });
       }},
      {"GET",
       {"api", "v1", "jobs"},
       Scope::kRead,
       [this](const Context& c) {
         if (auto s = OnlyKnownQuery(c.target.query, {"state", "schedule", "target", "limit"}); !s)
           return ErrorReply(s.error());
         auto limit = IntParam(c.target.query, "limit", 50, 1, 1000);
         if (!limit) return ErrorReply(limit.error());
         sched::JobFilter filter;
         filter.limit = *limit;
         if (auto v = StrParam(c.target.query, "state"); !v.empty()) filter.state = v;
         if (auto v = StrParam(c.target.query, "schedule"); !v.empty()) filter.schedule_name = v;
         if (auto v = StrParam(c.target.query, "target"); !v.empty()) filter.target = v;
         return WithDb([&](store::Database& db) -> Result<Json> {
           auto jobs = sched::ListJobs(db, filter);
           if (!jobs) return Fail(jobs.error());
           Json arr = Json::array();
           for (const auto& j : *jobs) arr.push_back(sched::JobToJson(j));
           return Json{{"jobs", arr}};
         });
       }},
      {"GET",
       {"api", "v1", "jobs", "{}"},
       Scope::kRead,
       [this](const Context& c) {
         if (auto s = OnlyKnownQuery(c.target.query, {}); !s) return ErrorReply(s.error());
         auto id = ParseId(c.params[0], "job");
         if (!id) return ErrorReply(id.error());
         return WithDb([&](store::Database& db) -> Result<Json> {
           auto job = sched::GetJob(db, *id);
           if (!job) return Fail(job.error());
           return Json{{"job", sched::JobToJson(*job)}};
         });
       }},
      {"GET",
       {"api", "v1", "schedules"},
       Scope::kRead,
       [this](const Context& c) {
         if (auto s = OnlyKnownQuery(c.target.query, {}); !s) return ErrorReply(s.error());
         auto config = hooks_.config ? hooks_.config() : nullptr;
         Json arr = Json::array();
         if (config) {
           auto compiled = sched::CompileSchedules(*config);
           if (!compiled) return ErrorReply(compiled.error());
           const auto now = std::chrono::system_clock::now();
           for (const auto& s : *compiled) {
             Json next = Json::array();
             if (s.config.enabled)
               for (auto t : sched::NextFires(s, now, 3)) next.push_back(IsoUtc(t));
             arr.push_back({{"name", s.config.name},
                            {"cron", s.config.cron},
                            {"timezone", s.config.timezone},
                            {"goldenset", s.config.goldenset},
                            {"targets", s.config.targets},
                            {"repeat", s.config.repeat},
                            {"catch_up", s.config.catch_up},
                            {"enabled", s.config.enabled},
                            {"next_fires", next}});
           }
         }
         return JsonReply(200, {{"schedules", arr}});
       }},
      {"GET",
       {"api", "v1", "tokens"},
       Scope::kAdmin,
       [this](const Context& c) {
         if (auto s = OnlyKnownQuery(c.target.query, {"revoked"}); !s) return ErrorReply(s.error());
         const std::string revoked = StrParam(c.target.query, "revoked");
         if (!revoked.empty() && revoked != "true" && revoked != "false")
           return JsonError(400, "invalid_request", "'revoked' must be true or false");
         return WithDb([&](store::Database& db) -> Result<Json> {
           auto tokens = ListTokens(db, revoked == "true");
           if (!tokens) return Fail(tokens.error());
           Json arr = Json::array();
           for (const auto& t : *tokens) arr.push_back(TokenToJson(t));
           return Json{{"tokens", arr}};
         });
       }},
      {"POST",
       {"api", "v1", "tokens"},
       Scope::kAdmin,
       [this](const Context& c) {
         if (auto refused = RequireJsonBody(c.request)) return *refused;
         auto body = ParseObjectBody(c.request, {"name", "scopes"});
         if (!body) return ErrorReply(body.error());
         auto name = StringField(*body, "name", true);
         if (!name) return ErrorReply(name.error());
         if (!body->contains("scopes") || !(*body)["scopes"].is_array())
           return JsonError(400, "invalid_request", "'scopes' must be an array of scope names");
         std::string csv;
         for (const auto& s : (*body)["scopes"]) {
           if (!s.is_string()) return JsonError(400, "invalid_request", "'scopes' must be an array of scope names");
           csv += (csv.empty() ? "" : ",") + s.get<std::string>();
         }
         auto scopes = ParseScopeList(csv);
         if (!scopes) return ErrorReply(scopes.error());
         return WithDb(
             [&](store::Database& db) -> Result<Json> {
               auto created = CreateToken(db, *name, *scopes, c.caller.token.name);
               if (!created) return Fail(created.error());
               return Json{{"token", TokenToJson(created->token)}, {"secret", created->secret}};
             },
             201);
       }},
      {"DELETE",
       {"api", "v1", "tokens", "{}"},
       Scope::kAdmin,
       [this](const Context& c) {
         if (auto s = OnlyKnownQuery(c.target.query, {}); !s) return ErrorReply(s.error());
         return WithDb([&](store::Database& db) -> Result<Json> {
           if (auto s = RevokeToken(db, c.params[0], c.caller.token.name); !s) return Fail(s.error());
           return Json{{"revoked", c.params[0]}};
         });
       }},
  };
  routes_ = std::move(table);
}

HttpReply Api::Dispatch(const HttpRequestData& request, std::string& route_label) {
  auto parsed_target = ParseTarget(request.target);
  if (!parsed_target) return ErrorReply(parsed_target.error());
  const Target& target = *parsed_target;
  const std::vector<std::string>& seg = target.segments;

  // Probes and metrics: no token, GET only.
  if (seg.size() == 1 && (seg[0] == "healthz" || seg[0] == "readyz" || seg[0] == "metrics")) {
    route_label = "/" + seg[0];
    if (request.method != "GET") {
      HttpReply r = JsonError(405, "method_not_allowed", "use GET");
      r.headers.emplace_back("Allow", "GET");
      return r;
    }
    if (seg[0] == "healthz") return JsonReply(200, {{"status", "ok"}});
    if (seg[0] == "metrics") {
      HttpReply r;
      r.content_type = std::string(metrics::kTextContentType);
      r.body = (hooks_.metrics_text ? hooks_.metrics_text() : std::string()) + MetricsText();
      return r;
    }
    Json checks = Json::object();
    bool ready = true;
    Status db = pool_.Use([](store::Database& d) -> Status { return store::CheckSchemaCurrent(d); });
    if (db) {
      checks["database"] = "ok";
      checks["migrations"] = "ok";
    } else {
      ready = false;
      checks[db.error().kind == ErrorKind::kConflict ? "migrations" : "database"] = db.error().message;
    }
    std::vector<std::string> problems = hooks_.not_ready ? hooks_.not_ready() : std::vector<std::string>();
    checks["service"] = problems.empty() ? Json("ok") : Json(problems);
    ready = ready && problems.empty();
    Json body = {{"status", ready ? "ready" : "not_ready"}, {"checks", checks}};
    if (hooks_.status) body["service"] = hooks_.status();
    return JsonReply(ready ? 200 : 503, body);
  }

  const Route* match = nullptr;
  Params params;
  std::set<std::string> allowed;
  for (const auto& r : routes_->routes) {
    if (r.pattern.size() != seg.size()) continue;
    Params p;
    bool ok = true;
    for (size_t i = 0; i < seg.size() && ok; ++i) {
      if (std::string_view(r.pattern[i]) == "{}") {
        ok = !seg[i].empty();
        p.push_back(seg[i]);
      } else {
        ok = seg[i] == r.pattern[i];
      }
    }
    if (!ok) continue;
    allowed.insert(r.method);
    if (request.method == r.method) {
      match = &r;
      params = std::move(p);
    }
  }
  if (allowed.empty()) return JsonError(404, "not_found", "no such endpoint: " + target.path);
  if (!match) {
    std::string allow;
    for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    HttpReply r = JsonError(405, "method_not_allowed", request.method + " is not allowed here; use " + allow);
    r.headers.emplace_back("Allow", allow);
    return r;
  }
  route_label = request.method + " /";
  for (size_t i = 0; i < match->pattern.size(); ++i) route_label += (i ? "/" : "") + std::string(match->pattern[i]);

  // Authentication, rate limits, scope.
  const std::string address_key = "addr:" + request.remote_address;
  auto unauthorized = [&](const std::string& error, const std::string& message) {
    HttpReply r = JsonError(401, "unauthenticated", message);
    r.headers.emplace_back("WWW-Authenticate",
                           "Bearer realm=\"driftwatch\"" + (error.empty() ? "" : ", error=\"" + error + "\""));
    return r;
  };
  auto too_many = [&](double retry_after) {
    HttpReply r = JsonError(429, "rate_limited", "too many requests; retry later");
    r.headers.emplace_back("Retry-After", std::to_string(static_cast<long long>(std::ceil(retry_after))));
    return r;
  };
  if (auth_failures_.Exhausted(address_key)) return too_many(1.0 / std::max(0.001, options_.auth_failures_per_second));
  auto auth = request.headers.find("authorization");
  if (auth == request.headers.end()) {
    auth_failures_.Allow(address_key);
    return unauthorized("", "this endpoint needs a bearer token (Authorization: Bearer <token>)");
  }
  const std::string& value = auth->second;
  std::string scheme = value.substr(0, std::min<size_t>(7, value.size()));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (scheme != "bearer ") {
    auth_failures_.Allow(address_key);
    return unauthorized("invalid_request", "the Authorization header must be 'Bearer <token>'");
  }
  std::string secret = value.substr(7);
  while (!secret.empty() && secret.front() == ' ') secret.erase(secret.begin());
  while (!secret.empty() && secret.back() == ' ') secret.pop_back();
  Caller caller;
  Status authenticated = pool_.Use([&](store::Database& db) -> Status {
    auto token = Authenticate(db, secret);
    if (!token) return Fail(token.error());
    caller.token = std::move(*token);
    return Ok();
  });
  if (!authenticated) {
    if (authenticated.error().kind != ErrorKind::kPermissionDenied) return ErrorReply(authenticated.error());
    auth_failures_.Allow(address_key);
    return unauthorized("invalid_token", "the token is invalid or has been revoked");
  }
  double retry_after = 0;
  if (!per_token_.Allow("token:" + std::to_string(caller.token.id), &retry_after)) return too_many(retry_after);
  if (!caller.token.Has(match->scope)) {
    HttpReply r = JsonError(403, "insufficient_scope",
                            std::string("this endpoint needs the '") + ScopeName(match->scope) + "' scope");
    r.headers.emplace_back("WWW-Authenticate", std::string("Bearer realm=\"driftwatch\", error=\"insufficient_scope\", "
                                                           "scope=\"") +
                                                   ScopeName(match->scope) + "\"");
    return r;
  }
  Context context{request, target, params, caller};
  return match->handle(context);
}

}  // namespace dw::server
