// A minimal Pushgateway client over libcurl (http and https). It replaces
// prometheus-cpp 1.0.1's Gateway, which sends POST for Push() and PUT for
// PushAdd() (the reverse of the gateway's semantics), does not encode
// grouping values and has no timeout.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace dw::metrics {

// How a push treats the metrics already in the group.
enum class PushMethod {
  kReplaceGroup,      // HTTP PUT: the group afterwards holds exactly the pushed metrics
  kReplaceSameNames,  // HTTP POST: only metrics with a pushed name are replaced
};

// Where a push goes: the gateway's base URL and the group's grouping key.
struct PushTarget {
  // Base URL of the gateway, e.g. "http://127.0.0.1:9091" or
  // "https://pushgateway.example.com/prefix". Credentials may be given as
  // "https://user:password@host".
  std::string url;
  std::string job = "driftwatch";
  // Further grouping labels, in URL order. Names must be valid label names
  // (not "job", not starting with "__"); values may be anything, including
  // empty or containing '/'.
  std::vector<std::pair<std::string, std::string>> grouping;
  // Bound on connecting plus the whole exchange.
  std::chrono::milliseconds timeout{10000};
};

// RFC 4648 §5 URL-safe base64 with '=' padding, as the Pushgateway expects
// in "label@base64/value" path segments.
std::string Base64UrlEncode(std::string_view bytes);

// The group's URL: `url` + "/metrics/job/<job>{/<label>/<value>}". Values
// made only of RFC 3986 unreserved characters appear as is; any other value
// (with '/', empty, spaces, non-ASCII...) uses the "<label>@base64/<value>"
// form. kInvalidInput for an empty URL or job, or an invalid, reserved or
// duplicated grouping label name.
Result<std::string> GroupUrl(const PushTarget& target);

// Sends `body` (text format 0.0.4, no timestamps) to the group with `method`.
// Errors: kInvalidInput for a bad target or an HTTP 400 (the gateway rejected
// the body; the message quotes its reason), kPermissionDenied for 401/403,
// kUnavailable for connection failures, timeouts and other HTTP statuses.
// Messages include the URL and the HTTP status. Thread-safe.
Status PushText(const PushTarget& target, std::string_view body, PushMethod method);

// Deletes the whole group (HTTP DELETE). Deleting a group that does not
// exist succeeds. Errors as for PushText.
Status DeleteGroup(const PushTarget& target);

}  // namespace dw::metrics
