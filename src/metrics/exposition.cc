#include "metrics/exposition.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

namespace dw::metrics {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

// Writes all of `data` to `fd`, retrying on EINTR and short writes.
bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void AppendValue(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, end);
  }
}

// HELP text escapes backslash and newline; label values also double quotes.
void AppendEscaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

const char* TypeName(prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Counter: return "counter";
    case prometheus::MetricType::Gauge: return "gauge";
    case prometheus::MetricType::Summary: return "summary";
    case prometheus::MetricType::Histogram: return "histogram";
    case prometheus::MetricType::Untyped: return "untyped";
  }
  return "untyped";
}

}  // namespace

void AppendFamilyHeader(std::string& out, std::string_view name, std::string_view help,
                        prometheus::MetricType type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  AppendEscaped(out, help, /*quote=*/false);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += TypeName(type);
  out += '\n';
}

void AppendSample(std::string& out, std::string_view name, std::string_view suffix,
                  std::span<const LabelRef> labels, double value) {
  out += name;
  out += suffix;
  if (!labels.empty()) {
    out += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out += ',';
      out += labels[i].name;
      out += "=\"";
      AppendEscaped(out, labels[i].value, /*quote=*/true);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  AppendValue(out, value);
  out += '\n';
}

std::string FormatValue(double value) {
  std::string out;
  AppendValue(out, value);
  return out;
}

std::string SerializeText(const std::vector<prometheus::MetricFamily>& families) {
  std::string out;
  std::vector<LabelRef> labels;
  auto sample = [&](const prometheus::MetricFamily& family, const prometheus::ClientMetric& m,
                    std::string_view suffix, double value, const char* extra_name = nullptr,
                    const std::string& extra_value = {}) {
    labels.clear();
    for (const auto& label : m.label) labels.push_back({label.name, label.value});
    if (extra_name) labels.push_back({extra_name, extra_value});
    AppendSample(out, family.name, suffix, labels, value);
  };
  for (const auto& family : families) {
    if (family.metric.empty()) continue;
    AppendFamilyHeader(out, family.name, family.help, family.type);
    for (const auto& m : family.metric) {
      switch (family.type) {
        case prometheus::MetricType::Counter: sample(family, m, "", m.counter.value); break;
        case prometheus::MetricType::Gauge: sample(family, m, "", m.gauge.value); break;
        case prometheus::MetricType::Untyped: sample(family, m, "", m.untyped.value); break;
        case prometheus::MetricType::Summary:
          for (const auto& q : m.summary.quantile)
            sample(family, m, "", q.value, "quantile", FormatValue(q.quantile));
          sample(family, m, "_sum", m.summary.sample_sum);
          sample(family, m, "_count", static_cast<double>(m.summary.sample_count));
          break;
        case prometheus::MetricType::Histogram:
          for (const auto& b : m.histogram.bucket)
            sample(family, m, "_bucket", static_cast<double>(b.cumulative_count), "le",
                   FormatValue(b.upper_bound));
          sample(family, m, "_sum", m.histogram.sample_sum);
          sample(family, m, "_count", static_cast<double>(m.histogram.sample_count));
          break;
      }
    }
  }
  return out;
}

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents) {
  if (!path.has_filename())
    return Fail(ErrorKind::kInvalidInput, path.string() + ": not a file path");
  static std::atomic<unsigned> counter{0};
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);

  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    int err = errno;
    return Fail(ErrorKind::kUnavailable, tmp.string() + ": cannot create: " + ErrnoText(err));
  }
  bool written = WriteAll(fd, contents) && ::fsync(fd) == 0;
  int write_errno = errno;
  if (::close(fd) != 0 && written) {
    written = false;
    write_errno = errno;
  }
  if (!written) {
    ::unlink(tmp.c_str());
    return Fail(ErrorKind::kUnavailable,
                tmp.string() + ": cannot write: " + ErrnoText(write_errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Fail(ErrorKind::kUnavailable,
                path.string() + ": cannot replace with " + tmp.string() + ": " + ErrnoText(err));
  }
  return Ok();
}

}  // namespace dw::metrics
