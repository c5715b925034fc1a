#include "stats/control_chart.h"

#include <algorithm>
#include <cmath>

namespace dw::stats {
namespace {

// d₂ for subgroups of two: E|X₁ − X₂| = 1.128·σ for normal data.
constexpr double kD2 = 1.128;

nlohmann::json OptionalJson(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json();
}

// Typed field access for DetectorStateFromJson; records the first problem.
class FieldReader {
 public:
  explicit FieldReader(const nlohmann::json& object) : object_(object) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  double Number(const char* name) {
    const nlohmann::json* field = Find(name);
    if (!field) return 0;
    if (!field->is_number()) return Problem(name, "must be a number"), 0;
    const double value = field->get<double>();
    if (!std::isfinite(value)) return Problem(name, "must be finite"), 0;
    return value;
  }

  std::optional<double> OptionalNumber(const char* name) {
    const nlohmann::json* field = Find(name);
    if (!field || field->is_null()) return std::nullopt;
    return Number(name);
  }

  int Integer(const char* name, int minimum) {
    const nlohmann::json* field = Find(name);
    if (!field) return 0;
    if (!field->is_number_integer()) return Problem(name, "must be an integer"), 0;
    const auto value = field->get<long long>();
    if (value < minimum || value > INT32_MAX) return Problem(name, "is out of range"), 0;
    return static_cast<int>(value);
  }

  std::optional<int> OptionalInteger(const char* name, int minimum) {
    const nlohmann::json* field = Find(name);
    if (!field || field->is_null()) return std::nullopt;
    return Integer(name, minimum);
  }

  bool Boolean(const char* name) {
    const nlohmann::json* field = Find(name);
    if (!field) return false;
    if (!field->is_boolean()) return Problem(name, "must be a boolean"), false;
    return field->get<bool>();
  }

  std::string String(const char* name) {
    const nlohmann::json* field = Find(name);
    if (!field) return "";
    if (!field->is_string()) return Problem(name, "must be a string"), "";
    return field->get<std::string>();
  }

  void Problem(const std::string& name, const std::string& what) {
    if (error_.empty()) error_ = "detector state: " + name + " " + what;
  }

 private:
  const nlohmann::json* Find(const char* name) {
    const auto it = object_.find(name);
    if (it == object_.end()) {
      Problem(name, "is missing");
      return nullptr;
    }
    return &*it;
  }

  const nlohmann::json& object_;
  std::string error_;
};

}  // namespace

const char* AlarmSideName(AlarmSide side) {
  switch (side) {
    case AlarmSide::kNone: return "none";
    case AlarmSide::kUpper: return "upper";
    case AlarmSide::kLower: return "lower";
  }
  return "none";
}

DetectorState Rebaseline(const DetectorConfig& config, double mu0, std::optional<double> sigma_replicate) {
  DetectorState state;
  state.config = config;
  state.mu0 = mu0;
  state.sigma_replicate = sigma_replicate;
  if (config.fir) {
    state.cusum_upper = config.h / 2;
    state.cusum_lower = config.h / 2;
  }
  return state;
}

DetectorState Update(const DetectorState& previous, double value) {
  if (!std::isfinite(value)) return previous;
  DetectorState s = previous;
  const DetectorConfig& config = s.config;
  ++s.runs;

  std::optional<double> moving_range_sigma;
  if (s.moving_range_count > 0 && s.runs > config.min_runs_moving_range) {
    moving_range_sigma = s.moving_range_sum / s.moving_range_count / kD2;
  }
  const bool was_in_alarm = previous.in_alarm;
  const auto record_value = [&] {
    if (s.last_value && !was_in_alarm && !s.in_alarm) {
      s.moving_range_sum += std::abs(value - *s.last_value);
      ++s.moving_range_count;
    }
    s.last_value = value;
  };

  if (s.sigma_replicate && moving_range_sigma) {
    s.sigma = std::max(*s.sigma_replicate, *moving_range_sigma);
    s.sigma_source = "max(replicate,moving_range)";
  } else if (s.sigma_replicate) {
    s.sigma = *s.sigma_replicate;
    s.sigma_source = "replicate";
  } else if (moving_range_sigma) {
    s.sigma = *moving_range_sigma;
    s.sigma_source = "moving_range";
  } else {
    s.ready = false;
    s.sigma = 0;
    s.sigma_source.clear();
    record_value();
    return s;
  }
  s.ready = true;
  s.sigma = std::max(s.sigma, config.min_sigma);
  s.z = (value - s.mu0) / s.sigma;

  s.cusum_upper = std::max(0.0, s.cusum_upper + s.z - config.k);
  s.cusum_lower = std::max(0.0, s.cusum_lower - s.z - config.k);
  s.upper_run_length = s.cusum_upper > 0 ? s.upper_run_length + 1 : 0;
  s.lower_run_length = s.cusum_lower > 0 ? s.lower_run_length + 1 : 0;

  const double lambda = config.ewma_lambda;
  s.ewma = lambda * s.z + (1 - lambda) * s.ewma;
  ++s.ewma_steps;
  s.ewma_limit = config.ewma_l * std::sqrt(lambda / (2 - lambda) * (1 - std::pow(1 - lambda, 2.0 * s.ewma_steps)));

  const bool upper = s.cusum_upper > config.h;
  const bool lower = s.cusum_lower > config.h;
  s.cusum_alarm = upper || lower;
  s.ewma_alarm = std::abs(s.ewma) > s.ewma_limit;
  s.in_alarm = s.cusum_alarm || s.ewma_alarm;
  if (upper || (!lower && s.ewma > s.ewma_limit)) {
    s.side = AlarmSide::kUpper;
  } else if (lower || s.ewma < -s.ewma_limit) {
    s.side = AlarmSide::kLower;
  } else {
    s.side = AlarmSide::kNone;
  }
  s.degraded = s.side == (config.higher_is_better ? AlarmSide::kLower : AlarmSide::kUpper);
  s.consecutive_alarm_runs = s.in_alarm ? previous.consecutive_alarm_runs + 1 : 0;

  s.shift_estimate.reset();
  s.change_run.reset();
  if (upper && s.upper_run_length > 0) {
    s.shift_estimate = s.mu0 + s.sigma * (config.k + s.cusum_upper / s.upper_run_length);
    s.change_run = s.runs - s.upper_run_length;
  } else if (lower && s.lower_run_length > 0) {
    s.shift_estimate = s.mu0 - s.sigma * (config.k + s.cusum_lower / s.lower_run_length);
    s.change_run = s.runs - s.lower_run_length;
  }
  record_value();
  return s;
}

std::optional<double> ReplicateSigma(const std::vector<std::vector<double>>& repeats_per_case) {
  double total = 0;
  int cases = 0;
  for (const std::vector<double>& repeats : repeats_per_case) {
    if (repeats.size() < 2) continue;
    double mean = 0;
    for (double v : repeats) mean += v;
    mean /= static_cast<double>(repeats.size());
    double squares = 0;
    for (double v : repeats) squares += (v - mean) * (v - mean);
    const double k = static_cast<double>(repeats.size());
    total += squares / (k - 1) / k;
    ++cases;
  }
  if (cases == 0) return std::nullopt;
  return std::sqrt(total) / cases;
}

nlohmann::json DetectorStateToJson(const DetectorState& state) {
  const DetectorConfig& c = state.config;
  return {{"schema_version", state.schema_version},
          {"config",
           {{"k", c.k},
            {"h", c.h},
            {"fir", c.fir},
            {"ewma_lambda", c.ewma_lambda},
            {"ewma_l", c.ewma_l},
            {"min_runs_moving_range", c.min_runs_moving_range},
            {"min_sigma", c.min_sigma},
            {"higher_is_better", c.higher_is_better}}},
          {"mu0", state.mu0},
          {"sigma_replicate", OptionalJson(state.sigma_replicate)},
          {"runs", state.runs},
          {"last_value", OptionalJson(state.last_value)},
          {"moving_range_sum", state.moving_range_sum},
          {"moving_range_count", state.moving_range_count},
          {"cusum_upper", state.cusum_upper},
          {"cusum_lower", state.cusum_lower},
          {"upper_run_length", state.upper_run_length},
          {"lower_run_length", state.lower_run_length},
          {"ewma", state.ewma},
          {"ewma_steps", state.ewma_steps},
          {"ready", state.ready},
          {"sigma", state.sigma},
          {"sigma_source", state.sigma_source},
          {"z", state.z},
          {"ewma_limit", state.ewma_limit},
          {"cusum_alarm", state.cusum_alarm},
          {"ewma_alarm", state.ewma_alarm},
          {"in_alarm", state.in_alarm},
          {"side", AlarmSideName(state.side)},
          {"degraded", state.degraded},
          {"consecutive_alarm_runs", state.consecutive_alarm_runs},
          {"shift_estimate", OptionalJson(state.shift_estimate)},
          {"change_run", state.change_run ? nlohmann::json(*state.change_run) : nlohmann::json()}};
}

Result<DetectorState> DetectorStateFromJson(const nlohmann::json& json) {
  if (!json.is_object()) return Fail(ErrorKind::kInvalidInput, "detector state: not a JSON object");
  FieldReader r(json);
  DetectorState s;
  s.schema_version = r.Integer("schema_version", 0);
  if (r.ok() && s.schema_version != 1) {
    return Fail(ErrorKind::kInvalidInput,
                "detector state: unsupported schema_version " + std::to_string(s.schema_version));
  }
  const auto config_it = json.find("config");
  if (config_it == json.end() || !config_it->is_object()) {
    return Fail(ErrorKind::kInvalidInput, "detector state: config is missing or not an object");
  }
  FieldReader rc(*config_it);
  DetectorConfig& c = s.config;
  c.k = rc.Number("k");
  c.h = rc.Number("h");
  c.fir = rc.Boolean("fir");
  c.ewma_lambda = rc.Number("ewma_lambda");
  c.ewma_l = rc.Number("ewma_l");
  c.min_runs_moving_range = rc.Integer("min_runs_moving_range", 1);
  c.min_sigma = rc.Number("min_sigma");
  c.higher_is_better = rc.Boolean("higher_is_better");
  if (rc.ok()) {
    if (c.k < 0) rc.Problem("config.k", "must be >= 0");
    if (c.h <= 0) rc.Problem("config.h", "must be > 0");
    if (c.ewma_lambda <= 0 || c.ewma_lambda > 1) rc.Problem("config.ewma_lambda", "must be in (0, 1]");
    if (c.ewma_l <= 0) rc.Problem("config.ewma_l", "must be > 0");
    if (c.min_sigma <= 0) rc.Problem("config.min_sigma", "must be > 0");
  }
  if (!rc.ok()) return Fail(ErrorKind::kInvalidInput, rc.error());

  s.mu0 = r.Number("mu0");
  s.sigma_replicate = r.OptionalNumber("sigma_replicate");
  s.runs = r.Integer("runs", 0);
  s.last_value = r.OptionalNumber("last_value");
  s.moving_range_sum = r.Number("moving_range_sum");
  s.moving_range_count = r.Integer("moving_range_count", 0);
  s.cusum_upper = r.Number("cusum_upper");
  s.cusum_lower = r.Number("cusum_lower");
  s.upper_run_length = r.Integer("upper_run_length", 0);
  s.lower_run_length = r.Integer("lower_run_length", 0);
  s.ewma = r.Number("ewma");
  s.ewma_steps = r.Integer("ewma_steps", 0);
  s.ready = r.Boolean("ready");
  s.sigma = r.Number("sigma");
  s.sigma_source = r.String("sigma_source");
  s.z = r.Number("z");
  s.ewma_limit = r.Number("ewma_limit");
  s.cusum_alarm = r.Boolean("cusum_alarm");
  s.ewma_alarm = r.Boolean("ewma_alarm");
  s.in_alarm = r.Boolean("in_alarm");
  const std::string side = r.String("side");
  s.degraded = r.Boolean("degraded");
  s.consecutive_alarm_runs = r.Integer("consecutive_alarm_runs", 0);
  s.shift_estimate = r.OptionalNumber("shift_estimate");
  s.change_run = r.OptionalInteger("change_run", 0);
  if (r.ok()) {
    if (side == "upper") {
      s.side = AlarmSide::kUpper;
    } else if (side == "lower") {
      s.side = AlarmSide::kLower;
    } else if (side != "none") {
      r.Problem("side", "must be upper, lower or none");
    }
    if (s.sigma_replicate && *s.sigma_replicate < 0) r.Problem("sigma_replicate", "must be >= 0");
    if (s.cusum_upper < 0 || s.cusum_lower < 0) r.Problem("cusum_upper/cusum_lower", "must be >= 0");
    if (s.moving_range_sum < 0) r.Problem("moving_range_sum", "must be >= 0");
  }
  if (!r.ok()) return Fail(ErrorKind::kInvalidInput, r.error());
  return s;
}

}  // namespace dw::stats
