#include "sched/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <ostream>

namespace dw::sched {

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string UtcTimestampMillis() {
  auto now = std::chrono::system_clock::now();
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis % 1000));
  return buf;
}

JsonLog::JsonLog(std::ostream& out, LogLevel min_level, nlohmann::json context)
    : out_(out), min_level_(min_level), context_(std::move(context)) {}

void JsonLog::Log(LogLevel level, std::string_view event, const nlohmann::json& fields) {
  if (static_cast<int>(level) < static_cast<int>(min_level_)) return;
  // nlohmann::ordered_json keeps ts, level and event first for people reading
  // the raw stream.
  nlohmann::ordered_json line;
  line["ts"] = UtcTimestampMillis();
  line["level"] = LogLevelName(level);
  line["event"] = std::string(event);
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) line[key] = value;
  } else if (!fields.is_null()) {
    line["detail"] = fields;
  }
  for (const auto& [key, value] : context_.items())
    if (!line.contains(key)) line[key] = value;
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  out_.write(text.data(), static_cast<std::streamsize>(text.size()));
  out_.flush();
}

}  // namespace dw::sched
