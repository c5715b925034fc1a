// Text exposition (format 0.0.4) and the node_exporter textfile output.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>

#include "core/status.h"

namespace dw::metrics {

// Content-Type of SerializeText output, for an HTTP /metrics handler.
inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

// Renders families in the Prometheus text format 0.0.4: HELP and TYPE lines,
// escaped label values, no timestamps, a final newline. Families without
// samples are left out. Pure; thread-safe.
std::string SerializeText(const std::vector<prometheus::MetricFamily>& families);

// Replaces the file at `path` with `contents` atomically: the text is written
// to a temporary file in the same directory, flushed to disk and renamed over
// `path`, so a reader (node_exporter's textfile collector) sees either the old
// or the new file, never a partial one. The temporary name does not end in
// ".prom", so the collector ignores it. On failure the old file is untouched,
// the temporary file is removed, and the error names the path and errno text
// (kUnavailable; kInvalidInput when `path` has no file name).
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents);

}  // namespace dw::metrics
