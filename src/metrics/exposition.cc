#include "metrics/exposition.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <sstream>

#include <prometheus/text_serializer.h>

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

}  // namespace

std::string SerializeText(const std::vector<prometheus::MetricFamily>& families) {
  std::vector<prometheus::MetricFamily> non_empty;
  non_empty.reserve(families.size());
  bool all_non_empty = true;
  for (const auto& family : families) all_non_empty = all_non_empty && !family.metric.empty();
  std::ostringstream out;
  if (all_non_empty) {
    prometheus::TextSerializer{}.Serialize(out, families);
  } else {
    for (const auto& family : families)
      if (!family.metric.empty()) non_empty.push_back(family);
    prometheus::TextSerializer{}.Serialize(out, non_empty);
  }
  return std::move(out).str();
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
    return Fail(ErrorKind::kUnavailable, tmp.string() + ": cannot write: " + ErrnoText(write_errno));
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
