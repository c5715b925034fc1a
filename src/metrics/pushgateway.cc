#include "metrics/pushgateway.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <set>

namespace dw::metrics {
namespace {

constexpr std::size_t kMaxReasonBytes = 512;

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

// "." and ".." are unreserved but would be collapsed as path segments.
bool NeedsBase64(std::string_view value) {
  if (value.empty() || value == "." || value == "..") return true;
  for (char c : value)
    if (!IsUnreserved(c)) return true;
  return false;
}

std::string Segment(std::string_view label, std::string_view value) {
  if (NeedsBase64(value)) return "/" + std::string(label) + "@base64/" + Base64UrlEncode(value);
  return "/" + std::string(label) + "/" + std::string(value);
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::size_t AppendToString(char* data, std::size_t size, std::size_t count, void* out) {
  auto* text = static_cast<std::string*>(out);
  std::size_t bytes = size * count;
  if (text->size() < kMaxReasonBytes)
    text->append(data, std::min(bytes, kMaxReasonBytes - text->size()));
  return bytes;
}

std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  return text;
}

// `url` with its user:password@ part, if any, replaced: for messages.
std::string WithoutCredentials(const std::string& url) {
  std::size_t host = url.find("://");
  if (host == std::string::npos) return url;
  host += 3;
  std::size_t at = url.substr(0, url.find_first_of("/?#", host)).rfind('@');
  if (at == std::string::npos || at < host) return url;
  return url.substr(0, host) + "[redacted]@" + url.substr(at + 1);
}

// Performs one request; maps transport failures and HTTP statuses >= 300 to
// errors.
Status Exchange(const PushTarget& target, const char* verb, std::string_view body) {
  auto url = GroupUrl(target);
  if (!url) return Fail(url.error());
  InitCurlOnce();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Fail(ErrorKind::kInternal, "cannot initialise libcurl");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(
      curl_slist_append(nullptr, "Content-Type: text/plain; version=0.0.4; charset=utf-8"),
      curl_slist_free_all);
  std::string response;
  char curl_error[CURL_ERROR_SIZE] = {0};
  long timeout_ms = static_cast<long>(target.timeout.count());
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url->c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, verb);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_error);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendToString);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (std::string_view(verb) != "DELETE") {
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    std::string reason = curl_error[0] != '\0' ? curl_error : curl_easy_strerror(rc);
    return Fail(ErrorKind::kUnavailable, std::string(verb) + " " + WithoutCredentials(*url) + " failed: " + reason);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) return Ok();
  std::string message = std::string(verb) + " " + WithoutCredentials(*url) + ": HTTP " + std::to_string(status);
  response = Trimmed(std::move(response));
  if (!response.empty()) message += ": " + response;
  if (status == 400) return Fail(ErrorKind::kInvalidInput, message);
  if (status == 401 || status == 403) return Fail(ErrorKind::kPermissionDenied, message);
  return Fail(ErrorKind::kUnavailable, message);
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4 + 1);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    auto n = (static_cast<unsigned char>(bytes[i]) << 16) |
             (static_cast<unsigned char>(bytes[i + 1]) << 8) |
             static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    auto n = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    auto n = (static_cast<unsigned char>(bytes[i]) << 16) |
             (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  } else if (bytes.empty()) {
    // The gateway needs a non-empty segment; "=" decodes to the empty string.
    out += '=';
  }
  return out;
}

Result<std::string> GroupUrl(const PushTarget& target) {
  if (target.url.empty()) return Fail(ErrorKind::kInvalidInput, "pushgateway URL is empty");
  if (target.url.find("://") == std::string::npos)
    return Fail(ErrorKind::kInvalidInput,
                "pushgateway URL '" + target.url + "' has no scheme (http:// or https://)");
  if (target.job.empty()) return Fail(ErrorKind::kInvalidInput, "pushgateway job name is empty");
  std::string url = target.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/metrics";
  url += Segment("job", target.job);
  std::set<std::string_view> seen;
  for (const auto& [name, value] : target.grouping) {
    if (!IsValidLabelName(name) || name.starts_with("__"))
      return Fail(ErrorKind::kInvalidInput, "invalid grouping label name '" + name + "'");
    if (name == "job" || !seen.insert(name).second)
      return Fail(ErrorKind::kInvalidInput, "grouping label '" + name + "' given twice");
    url += Segment(name, value);
  }
  return url;
}

Status PushText(const PushTarget& target, std::string_view body, PushMethod method) {
  return Exchange(target, method == PushMethod::kReplaceGroup ? "PUT" : "POST", body);
}

Status DeleteGroup(const PushTarget& target) { return Exchange(target, "DELETE", {}); }

}  // namespace dw::metrics
