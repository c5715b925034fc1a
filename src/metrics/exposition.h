// Text exposition (format 0.0.4) and the node_exporter textfile output.
#pragma once

#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace dw::metrics {

// Content-Type of the text format, for an HTTP /metrics handler.
inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

// A label as two views; the strings must outlive the call it is passed to.
struct LabelRef {
  std::string_view name;
  std::string_view value;
};

// Renders families in the text format 0.0.4: HELP and TYPE lines, escaped
// label values, a final newline. Families without samples are left out, and
// sample timestamps are not written (the Pushgateway rejects them). Pure;
// thread-safe.
std::string SerializeText(const std::vector<prometheus::MetricFamily>& families);

// Building blocks of SerializeText for writers that stream their own state.

// Appends "# HELP <name> <help>\n# TYPE <name> <type>\n" (help escaped).
void AppendFamilyHeader(std::string& out, std::string_view name, std::string_view help,
                        prometheus::MetricType type);

// Appends "<name><suffix>{<labels>} <value>\n" with escaped label values.
void AppendSample(std::string& out, std::string_view name, std::string_view suffix,
                  std::span<const LabelRef> labels, double value);

// A sample value as the text format writes it: the shortest decimal that
// reads back to the same double, or NaN, +Inf, -Inf.
std::string FormatValue(double value);

// Replaces the file at `path` with `contents` atomically: the text is written
// to a temporary file in the same directory, flushed to disk and renamed over
// `path`, so a reader (node_exporter's textfile collector) sees either the old
// or the new file, never a partial one. The temporary name does not end in
// ".prom", so the collector ignores it. On failure the old file is untouched,
// the temporary file is removed, and the error names the path and errno text
// (kUnavailable; kInvalidInput when `path` has no file name).
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents);

}  // namespace dw::metrics
