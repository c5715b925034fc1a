// Structured logs: one JSON object per line, for the service and its workers.
#pragma once

#include <iosfwd>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace dw::sched {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// "debug", "info", "warn", "error".
const char* LogLevelName(LogLevel level);

// Writes events as single-line JSON objects:
//   {"ts":"2025-01-02T03:04:05.678Z","level":"info","event":"job.claimed","job":12,...}
// `ts`, `level` and `event` come first, then `fields` (an object; other
// values are stored under "detail"), then the logger's own context fields.
// Thread-safe: lines from different threads never interleave. The stream
// must outlive the logger. Events below `min_level` are dropped.
class JsonLog {
 public:
  explicit JsonLog(std::ostream& out, LogLevel min_level = LogLevel::kInfo,
                   nlohmann::json context = nlohmann::json::object());
  JsonLog(const JsonLog&) = delete;
  JsonLog& operator=(const JsonLog&) = delete;

  void Log(LogLevel level, std::string_view event, const nlohmann::json& fields = nlohmann::json::object());
  void Info(std::string_view event, const nlohmann::json& fields = nlohmann::json::object()) {
    Log(LogLevel::kInfo, event, fields);
  }
  void Warn(std::string_view event, const nlohmann::json& fields = nlohmann::json::object()) {
    Log(LogLevel::kWarn, event, fields);
  }
  void Error(std::string_view event, const nlohmann::json& fields = nlohmann::json::object()) {
    Log(LogLevel::kError, event, fields);
  }

 private:
  std::mutex mu_;
  std::ostream& out_;
  LogLevel min_level_;
  nlohmann::json context_;
};

// The current UTC time as "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string UtcTimestampMillis();

}  // namespace dw::sched
